import { CaError } from '../errors.js';
import { parseAsn1 } from './asn1.js';
import { checkDer } from './der-reader.js';

/** PEM (RFC 7468) encoding and decoding. */

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** RFC 7468 §2: the labels the CSR tools in the wild write. */
export const CSR_PEM_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** RFC 7468 §3: base64 in lines of 64 characters, LF line ends, a trailing newline. */
export function pemEncode(label: string, der: Uint8Array): string {
  const body = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...body, `-----END ${label}-----`, ''].join('\n');
}

/** How the DER inside is checked: asn1js (BER, tolerant) or the strict DER reader. */
type DerCheck = (der: Uint8Array, what: string) => void;

const berCheck: DerCheck = (der, what) => {
  parseAsn1(der, what, 'malformedDer');
};
const strictDerCheck: DerCheck = (der, what) => checkDer(der, 'malformedDer', what);

/**
 * Every PEM block in `text`, in order; explanatory text between blocks is ignored (RFC 7468 §5.2).
 * A block with mismatched labels or a broken base64 body is `malformedPem`.
 */
export function decodePemBlocks(text: string): PemBlock[] {
  return pemBlocks(text, berCheck);
}

function pemBlocks(text: string, check: DerCheck): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [, label = '', body = '', endLabel] = match;
    if (label !== endLabel) {
      throw new CaError('malformed', `PEM block "${label}" ends with "${endLabel}"`, { code: 'malformedPem' });
    }
    const base64 = body.replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64_BODY.test(base64)) {
      throw new CaError('malformed', `PEM block "${label}" has an invalid base64 body`, { code: 'malformedPem' });
    }
    const der = new Uint8Array(Buffer.from(base64, 'base64'));
    check(der, `PEM block "${label}"`);
    blocks.push({ label, der });
  }
  return blocks;
}

/**
 * One DER object from PEM text or DER bytes (bytes that start with "-----BEGIN" are read as PEM).
 * With `expectedLabel`, a PEM block with another label is rejected; exactly one block is allowed.
 */
export function decodePemOrDer(input: string | Uint8Array, expectedLabel?: string | readonly string[]): Uint8Array {
  return pemOrDer(input, expectedLabel, berCheck);
}

/**
 * `decodePemOrDer` with the same armor rules and order of checks, but the DER inside checked by
 * the strict reader (definite, minimal lengths): parseCsr's hot path.
 */
export function decodePemOrStrictDer(input: string | Uint8Array, expectedLabel?: string | readonly string[]): Uint8Array {
  return pemOrDer(input, expectedLabel, strictDerCheck);
}

function pemOrDer(input: string | Uint8Array, expectedLabel: string | readonly string[] | undefined, check: DerCheck): Uint8Array {
  if (typeof input !== 'string' && !looksLikePem(input)) {
    check(input, 'input');
    return input;
  }
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const blocks = pemBlocks(text, check);
  const [block] = blocks;
  if (!block) throw new CaError('malformed', 'input is neither PEM nor DER', { code: 'malformedPem' });
  if (blocks.length > 1) {
    throw new CaError('malformed', `expected one PEM block, found ${blocks.length}`, { code: 'malformedPem' });
  }
  const allowed = expectedLabel === undefined ? undefined : [expectedLabel].flat();
  if (allowed && !allowed.includes(block.label)) {
    throw new CaError('malformed', `expected a PEM "${allowed.join('" or "')}", got "${block.label}"`, {
      code: 'malformedPem',
    });
  }
  return block.der;
}

/** The certificates of a PEM bundle (a chain file), in file order; other blocks are skipped. */
export function splitPemCertificates(bundle: string): Uint8Array[] {
  const certificates = decodePemBlocks(bundle)
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block) => block.der);
  if (certificates.length === 0) {
    throw new CaError('malformed', 'no CERTIFICATE block in the PEM bundle', { code: 'malformedPem' });
  }
  return certificates;
}

function looksLikePem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  return head.startsWith('-----BEGIN');
}
