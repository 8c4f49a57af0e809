import type { CertificateSpec } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { bytesEqual, toHex } from './asn1.js';
import { contextConstructed, contextPrimitive, DerReader, TAG, type DerElement } from './der-reader.js';
import { encodeExtensions, issuerKeyIdentifier } from './extensions-der.js';
import { decodeKeyUsage } from './key-usage.js';
import { decodeName, decodeNameAttributes } from './names.js';
import { EXTENSION_OIDS } from './oids.js';
import { keyAlgorithmOf, signatureAlgorithmDer, subjectKeyIdentifier } from './public-key.js';
import { parseTbs, type ParsedExtension, type ParsedTbs } from './tbs.js';

/**
 * Pre-signing checks on the exact TBS bytes about to be signed (after Boulder's linting before
 * issuance): a certificate that fails any check is never signed. Each check is small and named;
 * the error names every check that failed. The TBS is read with the strict DER reader and the
 * expected extensions come from the same (memoised) DER encoder that built them.
 */

export interface LintOptions {
  /** The issuer's SubjectPublicKeyInfo (the subject's own for a self-signed root). */
  issuerSpki: Uint8Array;
  /** When given, subject and extensions must be exactly what this spec encodes to. */
  expectedSpec?: CertificateSpec;
  now: Date;
  /** Longest allowed notAfter − notBefore, in days. */
  maxValidityDays?: number;
  /** How far notBefore may be from `now`, either way (default one day). */
  maxNotBeforeSkewSeconds?: number;
}

export interface LintFailure {
  check: string;
  detail: string;
}

interface LintContext {
  tbs: ParsedTbs;
  options: LintOptions;
}

type Check = (context: LintContext) => string | undefined;

const DAY_MS = 86_400_000;

function findExtension(tbs: ParsedTbs, oid: string): ParsedExtension | undefined {
  return tbs.extensions.find((extension) => extension.oid === oid);
}

/** The elements of an extension value that must be one SEQUENCE (strict DER). */
function sequenceIn(extension: ParsedExtension, what: string): { reader: DerReader; fields: DerElement[] } {
  const reader = new DerReader(extension.value, 'malformedCertificate', what);
  const root = reader.root(true);
  if (root.tag !== TAG.sequence) reader.fail(`${what} is not a SEQUENCE`);
  return { reader, fields: reader.children(root) };
}

/** Fields must appear in this order, each at most once, and nothing else. */
function checkFieldOrder(reader: DerReader, fields: DerElement[], allowed: number[], what: string): void {
  let at = 0;
  for (const field of fields) {
    while (at < allowed.length && allowed[at] !== field.tag) at++;
    if (at++ >= allowed.length) reader.fail(`${what} has an unexpected field`);
  }
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } (§4.2.1.9). */
function isCaCertificate(tbs: ParsedTbs): boolean {
  const basic = findExtension(tbs, EXTENSION_OIDS.basicConstraints);
  if (!basic) return false;
  const { reader, fields } = sequenceIn(basic, 'basicConstraints');
  checkFieldOrder(reader, fields, [TAG.boolean, TAG.integer], 'basicConstraints');
  return fields[0]?.tag === TAG.boolean && reader.boolean(fields[0]);
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0], authorityCertIssuer [1], authorityCertSerialNumber [2] } (§4.2.1.1). */
function authorityKeyIdentifierOf(aki: ParsedExtension): Uint8Array | undefined {
  const { reader, fields } = sequenceIn(aki, 'authorityKeyIdentifier');
  checkFieldOrder(reader, fields, [contextPrimitive(0), contextConstructed(1), contextPrimitive(2)], 'authorityKeyIdentifier');
  return fields[0]?.tag === contextPrimitive(0) ? reader.content(fields[0]) : undefined;
}

/** SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING (§4.2.1.2); undefined when it is another type. */
function subjectKeyIdentifierOf(ski: ParsedExtension): Uint8Array | undefined {
  const reader = new DerReader(ski.value, 'malformedCertificate', 'subjectKeyIdentifier');
  const root = reader.root(true);
  return root.tag === TAG.octetString ? reader.content(root) : undefined;
}

/** The checks, by name. Order is the order of the report. */
export const LINT_CHECKS: Record<string, Check> = {
  /** RFC 5280 §4.1.2.1: extensions need v3. */
  versionIsV3: ({ tbs }) => (tbs.version === 2 ? undefined : `version is v${tbs.version + 1}`),

  /** §4.1.2.2: positive, minimally encoded. */
  serialPositive: ({ tbs }) => {
    const [first = 0, second = 0] = tbs.serialOctets;
    if (first & 0x80) return 'serial is negative';
    if (tbs.serialOctets.every((octet) => octet === 0)) return 'serial is zero';
    if (first === 0 && !(second & 0x80)) return 'serial is not minimally encoded';
    return undefined;
  },

  /** §4.1.2.2: at most 20 octets; at least 8 octets of magnitude leave room for ≥ 64 random bits (CA/B BR §7.1). */
  serialLength: ({ tbs }) => {
    const octets = tbs.serialOctets.length;
    const magnitude = tbs.serialOctets[0] === 0 ? octets - 1 : octets;
    if (octets > 20) return `serial has ${octets} octets (max 20)`;
    if (magnitude < 8) return `serial has ${magnitude} octets (min 8)`;
    return undefined;
  },

  validityOrder: ({ tbs }) =>
    tbs.notAfter.date > tbs.notBefore.date ? undefined : 'notAfter is not after notBefore',

  /** §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
  validityTimeEncoding: ({ tbs }) => {
    for (const [name, time] of [['notBefore', tbs.notBefore], ['notAfter', tbs.notAfter]] as const) {
      const year = time.date.getUTCFullYear();
      const expected = year >= 1950 && year < 2050 ? 'UTCTime' : 'GeneralizedTime';
      if (time.encoding !== expected) return `${name} in ${year} must be ${expected}`;
    }
    return undefined;
  },

  validityMaximum: ({ tbs, options }) => {
    if (options.maxValidityDays === undefined) return undefined;
    const days = (tbs.notAfter.date.getTime() - tbs.notBefore.date.getTime()) / DAY_MS;
    return days > options.maxValidityDays ? `validity is ${days.toFixed(1)} days (max ${options.maxValidityDays})` : undefined;
  },

  notBeforeNearNow: ({ tbs, options }) => {
    const skewSeconds = Math.abs(tbs.notBefore.date.getTime() - options.now.getTime()) / 1000;
    const max = options.maxNotBeforeSkewSeconds ?? 86_400;
    return skewSeconds > max ? `notBefore is ${Math.round(skewSeconds)} s from now (max ${max})` : undefined;
  },

  notExpired: ({ tbs, options }) => (tbs.notAfter.date > options.now ? undefined : 'notAfter is in the past'),

  /** §4.1.2.6: we never issue subject-less certificates. */
  subjectNotEmpty: ({ tbs }) => (decodeName(tbs.subject).length > 0 ? undefined : 'subject is empty'),

  /** §4.2.1.3 and profiles.md: keyUsage present, critical, at least one bit. */
  keyUsageCritical: ({ tbs }) => {
    const keyUsage = findExtension(tbs, EXTENSION_OIDS.keyUsage);
    if (!keyUsage) return 'keyUsage is missing';
    if (!keyUsage.critical) return 'keyUsage is not critical';
    return decodeKeyUsage(keyUsage.value).length > 0 ? undefined : 'keyUsage has no bits';
  },

  /** §4.2: a certificate MUST NOT include more than one instance of a particular extension. */
  noDuplicateExtensions: ({ tbs }) => {
    const oids = tbs.extensions.map(({ oid }) => oid);
    const duplicates = new Set(oids.filter((oid, i) => oids.indexOf(oid) !== i));
    return duplicates.size ? `duplicate extensions ${[...duplicates].join(', ')}` : undefined;
  },

  /** §4.2.1.1: the keyIdentifier must be the issuer's SKI (method 1), or chains break. */
  authorityKeyIdMatchesIssuer: ({ tbs, options }) => {
    const aki = findExtension(tbs, EXTENSION_OIDS.authorityKeyIdentifier);
    const actual = aki && authorityKeyIdentifierOf(aki);
    if (!actual) return 'authorityKeyIdentifier keyIdentifier is missing';
    const expected = issuerKeyIdentifier(options.issuerSpki).keyId;
    return bytesEqual(actual, expected) ? undefined : `AKI ${toHex(actual)} is not the issuer key's ${toHex(expected)}`;
  },

  /** §4.2.1.2: SKI present and computed from this certificate's key. */
  subjectKeyIdMatchesKey: ({ tbs }) => {
    const ski = findExtension(tbs, EXTENSION_OIDS.subjectKeyIdentifier);
    const value = ski && subjectKeyIdentifierOf(ski);
    if (!value) return 'subjectKeyIdentifier is missing';
    const matches = bytesEqual(value, subjectKeyIdentifier(tbs.subjectPublicKeySpki));
    return matches ? undefined : 'subjectKeyIdentifier does not match the subject public key';
  },

  /** §4.2.1.9: basicConstraints critical when present; cA only on CA specs and with keyCertSign. */
  caFlagMatchesSpec: ({ tbs, options }) => {
    const basic = findExtension(tbs, EXTENSION_OIDS.basicConstraints);
    if (basic && !basic.critical) return 'basicConstraints is not critical';
    const isCa = isCaCertificate(tbs);
    if (options.expectedSpec && isCa !== (options.expectedSpec.basicConstraints?.ca ?? false)) {
      return isCa ? 'cA is set on a spec that is not a CA' : 'cA is missing on a CA spec';
    }
    const keyUsage = findExtension(tbs, EXTENSION_OIDS.keyUsage);
    const keyCertSign = keyUsage ? decodeKeyUsage(keyUsage.value).includes('keyCertSign') : false;
    if (keyCertSign !== isCa) return isCa ? 'cA without keyCertSign' : 'keyCertSign without cA'; // §4.2.1.3
    return undefined;
  },

  /** §4.1.2.3: the TBS signature field must fit the key that will sign. */
  signatureAlgorithmMatchesIssuer: ({ tbs, options }) => {
    let expected: Uint8Array;
    try {
      expected = signatureAlgorithmDer(keyAlgorithmOf(options.issuerSpki));
    } catch (e) {
      return `issuer key cannot sign: ${e instanceof Error ? e.message : String(e)}`;
    }
    return bytesEqual(tbs.signatureAlgorithm, expected) ? undefined : 'signature algorithm does not match the issuer key';
  },

  subjectMatchesSpec: ({ tbs, options }) => {
    if (!options.expectedSpec) return undefined;
    const actual = decodeNameAttributes(tbs.subject);
    const expected = options.expectedSpec.subject;
    const same =
      actual?.length === expected.length && actual.every((a, i) => a.type === expected[i]?.type && a.value === expected[i]?.value);
    return same ? undefined : 'subject differs from the spec';
  },

  /** "What you checked is what you sign": the extensions are exactly the spec's encoding. */
  extensionsMatchSpec: ({ tbs, options }) => {
    if (!options.expectedSpec) return undefined;
    const expected = encodeExtensions({
      spec: options.expectedSpec,
      subjectPublicKeySpki: tbs.subjectPublicKeySpki,
      issuerPublicKeySpki: options.issuerSpki,
    });
    if (expected.length !== tbs.extensions.length) return `${tbs.extensions.length} extensions, spec has ${expected.length}`;
    const differing = expected.find((extension, i) => {
      const actual = tbs.extensions[i];
      return actual?.oid !== extension.oid || actual.critical !== extension.critical || !bytesEqual(actual.value, extension.value);
    });
    return differing ? `extension ${differing.oid} differs from the spec` : undefined;
  },
};

/** Every failing check; empty when the TBS may be signed. */
export function findLintFailures(tbsDer: Uint8Array, options: LintOptions): LintFailure[] {
  let tbs: ParsedTbs;
  try {
    tbs = parseTbs(tbsDer);
  } catch (e) {
    return [{ check: 'parseable', detail: e instanceof Error ? e.message : String(e) }];
  }
  const failures: LintFailure[] = [];
  for (const [check, run] of Object.entries(LINT_CHECKS)) {
    try {
      const detail = run({ tbs, options });
      if (detail !== undefined) failures.push({ check, detail });
    } catch (e) {
      failures.push({ check, detail: `cannot be evaluated: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  return failures;
}

/** Throws `internal` / `preSigningLintFailed`, naming every failed check, unless the TBS passes all. */
export function lintTbs(tbsDer: Uint8Array, options: LintOptions): void {
  const failures = findLintFailures(tbsDer, options);
  if (failures.length === 0) return;
  const detail = failures.map((f) => `${f.check}: ${f.detail}`).join('; ');
  throw new CaError('internal', `pre-signing lint failed: ${detail}`, { code: 'preSigningLintFailed' });
}
