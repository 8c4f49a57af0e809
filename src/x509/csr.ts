import * as asn1js from 'asn1js';
import { constants, createPublicKey, verify, type KeyObject, type VerifyKeyObjectInput, type VerifyPublicKeyInput } from 'node:crypto';
import { AlgorithmIdentifier, RSASSAPSSParams } from 'pkijs';
import type { PublicKeyDescription } from '../domain/public-key.js';
import { CaError, isCaError } from '../errors.js';
import { DerReader, TAG, contextConstructed } from './der-reader.js';
import { decodeName, type DecodedNameAttribute } from './names.js';
import { ALGORITHM_OIDS } from './oids.js';
import { CSR_PEM_LABELS, decodePemOrStrictDer } from './pem.js';
import { describePublicKey, publicKeyJwk } from './public-key.js';

/**
 * PKCS#10 certification requests (RFC 2986). Only the public key is ever used for issuance;
 * the subject is returned for display, requested extensions are not even decoded. The request
 * is read with the strict DER reader (der-reader.ts): a CSR is signed over DER (RFC 2986 §4.2).
 */

export interface ParsedCsr {
  der: Uint8Array;
  /** DER SubjectPublicKeyInfo, exactly as in the request. */
  subjectPublicKeyInfo: Uint8Array;
  publicKey: PublicKeyDescription;
  /** The requested subject (display only: profiles build the real one). */
  subject: DecodedNameAttribute[];
  signatureAlgorithmOid: string;
}

/** The key policy, passed in by the CA core (x509 does not import policy). Throws to reject. */
export type KeyCheck = (publicKey: PublicKeyDescription) => void;

type Hash = 'sha256' | 'sha384' | 'sha512';

interface CsrParts {
  info: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
  /** The signatureAlgorithm OID ('' when the AlgorithmIdentifier does not start with one). */
  signatureAlgorithmOid: string;
  /** The DER of the AlgorithmIdentifier parameters, when present. */
  signatureParameters: Uint8Array | undefined;
  signature: Uint8Array;
}

function malformedCsr(detail: string, cause?: unknown): CaError {
  return new CaError('malformed', detail, { code: 'malformedCsr', cause });
}

function invalidSignature(detail: string): CaError {
  return new CaError('badCsr', detail, { code: 'csrSignatureInvalid' });
}

function unsupportedSignature(detail: string): CaError {
  return new CaError('badCsr', detail, { code: 'unsupportedSignatureAlgorithm' });
}

/**
 * CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 * CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *   subjectPKInfo SubjectPublicKeyInfo, attributes [0] Attributes }               -- RFC 2986 §4
 */
function splitCsr(der: Uint8Array): CsrParts {
  const reader = new DerReader(der, 'malformedCsr', 'CSR');
  const request = reader.root(true);
  const [info, signatureAlgorithm, signature, ...extra] = request.tag === TAG.sequence ? reader.children(request) : [];
  const [version, subject, spki, attributes, ...more] = info?.tag === TAG.sequence ? reader.children(info) : [];
  if (
    !info ||
    version?.tag !== TAG.integer ||
    subject?.tag !== TAG.sequence ||
    spki?.tag !== TAG.sequence ||
    // attributes [0] is required by RFC 2986, optional in OpenSSL's reading of it; nothing may follow.
    (attributes !== undefined && attributes.tag !== contextConstructed(0)) ||
    signatureAlgorithm?.tag !== TAG.sequence ||
    signature?.tag !== TAG.bitString ||
    extra.length > 0 ||
    more.length > 0
  ) {
    throw malformedCsr('CSR does not have the PKCS#10 structure');
  }
  if (reader.smallInteger(version) !== 0) throw malformedCsr('CSR version is not v1 (0)');
  const [oid, parameters] = reader.children(signatureAlgorithm);
  return {
    info: reader.copy(info),
    subject: reader.raw(subject),
    spki: reader.copy(spki),
    signatureAlgorithmOid: oid?.tag === TAG.oid ? reader.oid(oid) : '',
    signatureParameters: parameters && reader.raw(parameters),
    signature: reader.bitString(signature).bits,
  };
}

const RSA_PKCS1_HASHES: Record<string, Hash> = {
  [ALGORITHM_OIDS.sha256WithRsa]: 'sha256',
  [ALGORITHM_OIDS.sha384WithRsa]: 'sha384',
  [ALGORITHM_OIDS.sha512WithRsa]: 'sha512',
};
const ECDSA_HASHES: Record<string, Hash> = {
  [ALGORITHM_OIDS.ecdsaWithSha256]: 'sha256',
  [ALGORITHM_OIDS.ecdsaWithSha384]: 'sha384',
  [ALGORITHM_OIDS.ecdsaWithSha512]: 'sha512',
};
const DIGEST_HASHES: Record<string, Hash> = {
  [ALGORITHM_OIDS.sha256]: 'sha256',
  [ALGORITHM_OIDS.sha384]: 'sha384',
  [ALGORITHM_OIDS.sha512]: 'sha512',
};

/** RFC 4055 §3.1: RSASSA-PSS-params; node verifies MGF1 with the message hash, so both must agree. */
function pssOptions(parameters: Uint8Array | undefined): { hash: Hash; saltLength: number } {
  if (!parameters) throw unsupportedSignature('RSASSA-PSS without parameters (SHA-1 defaults) is not accepted');
  // Rare (and not on the hot path): pkijs reads the parameters, defaults and all.
  const params = new RSASSAPSSParams({ schema: asn1js.fromBER(parameters).result });
  const hash = DIGEST_HASHES[params.hashAlgorithm.algorithmId];
  const mgfHash = new AlgorithmIdentifier({ schema: params.maskGenAlgorithm.algorithmParams }).algorithmId;
  if (!hash || params.maskGenAlgorithm.algorithmId !== ALGORITHM_OIDS.mgf1 || DIGEST_HASHES[mgfHash] !== hash || params.trailerField !== 1) {
    throw unsupportedSignature('RSASSA-PSS parameters other than SHA-2 with MGF1 of the same hash');
  }
  return { hash, saltLength: params.saltLength };
}

interface Verification {
  algorithm: string;
  key: VerifyKeyObjectInput | VerifyPublicKeyInput;
}

/**
 * What proof of possession checks (RFC 2986 §3): the request is signed by the key it carries.
 * Algorithm and key are settled here (errors for mismatches and unsupported algorithms); the
 * signature itself is checked by verifySignature or, off the event loop, verifySignatureAsync.
 */
function prepareVerification(parts: CsrParts, publicKey: PublicKeyDescription): Verification {
  const { signatureAlgorithmOid: oid, signatureParameters: parameters } = parts;
  let key: KeyObject;
  try {
    const jwk = publicKeyJwk(parts.spki);
    key = jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: Buffer.from(parts.spki), format: 'der', type: 'spki' });
  } catch {
    throw invalidSignature('the CSR public key cannot be used to verify its signature');
  }
  if (RSA_PKCS1_HASHES[oid] && publicKey.kind === 'rsa') {
    return { algorithm: RSA_PKCS1_HASHES[oid], key: { key, padding: constants.RSA_PKCS1_PADDING } };
  }
  if (oid === ALGORITHM_OIDS.rsassaPss && publicKey.kind === 'rsa') {
    const { hash, saltLength } = pssOptions(parameters);
    return { algorithm: hash, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength } };
  }
  if (ECDSA_HASHES[oid] && publicKey.kind === 'ec') return { algorithm: ECDSA_HASHES[oid], key: { key, dsaEncoding: 'der' } };
  if (RSA_PKCS1_HASHES[oid] || ECDSA_HASHES[oid] || oid === ALGORITHM_OIDS.rsassaPss) {
    throw invalidSignature('the CSR signature algorithm does not fit its key');
  }
  throw unsupportedSignature(`CSR signature algorithm ${oid} is not accepted (RSA or ECDSA with SHA-2)`);
}

function verifySignature(parts: CsrParts, publicKey: PublicKeyDescription): void {
  const v = prepareVerification(parts, publicKey);
  let valid: boolean;
  try {
    valid = verify(v.algorithm, parts.info, v.key, parts.signature);
  } catch {
    valid = false; // OpenSSL rejects malformed signatures by throwing
  }
  if (!valid) throw invalidSignature('the CSR signature does not verify with its public key');
}

/** The same check on libuv's thread pool: the event loop goes on serving while it runs. */
async function verifySignatureAsync(parts: CsrParts, publicKey: PublicKeyDescription): Promise<void> {
  const v = prepareVerification(parts, publicKey);
  const valid = await new Promise<boolean>((resolve) => {
    try {
      verify(v.algorithm, parts.info, v.key, parts.signature, (error, ok) => resolve(!error && ok));
    } catch {
      resolve(false);
    }
  });
  if (!valid) throw invalidSignature('the CSR signature does not verify with its public key');
}

/** The keys whose CSR signatures e-imza can verify; others fail closed, after the key check. */
function rejectUnverifiableKey(publicKey: PublicKeyDescription): void {
  if (publicKey.kind === 'ec' && !publicKey.curve) {
    throw new CaError('badPublicKey', `EC curve ${publicKey.curveOid || '(explicit parameters)'} is not supported`, {
      code: 'unsupportedCurve',
    });
  }
  if (publicKey.kind === 'other') {
    throw new CaError('badPublicKey', `key algorithm ${publicKey.algorithmOid} is not supported`, { code: 'unsupportedKeyType' });
  }
}

/**
 * Decodes a PEM or DER CSR and verifies its self-signature. Order, and so which error wins:
 *   1. decode: PEM armor (text that is not PEM, another label)  -> malformed / malformedPem
 *      DER, PKCS#10 structure, public key                      -> malformed / malformedCsr
 *   2. `checkKey(publicKey)`, the key policy, when given        -> its own errors (badPublicKey …)
 *   3. keys x509 cannot verify (other curves, other algorithms) -> badPublicKey unsupportedCurve / unsupportedKeyType
 *   4. signature (RSA PKCS#1 v1.5 or PSS, ECDSA; SHA-256/384/512) -> badCsr csrSignatureInvalid / unsupportedSignatureAlgorithm
 * The key policy runs before any signature work, so absurd keys cost nothing to reject.
 */
export function parseCsr(input: string | Uint8Array, checkKey?: KeyCheck): ParsedCsr {
  const decoded = decodeCsr(input, checkKey);
  verifySignature(decoded.parts, decoded.csr.publicKey);
  return decoded.csr;
}

/** parseCsr with the signature checked off the event loop (the issuance path). */
export async function parseCsrAsync(input: string | Uint8Array, checkKey?: KeyCheck): Promise<ParsedCsr> {
  const decoded = decodeCsr(input, checkKey);
  await verifySignatureAsync(decoded.parts, decoded.csr.publicKey);
  return decoded.csr;
}

/** Steps 1–3 of parseCsr. */
function decodeCsr(input: string | Uint8Array, checkKey?: KeyCheck): { parts: CsrParts; csr: ParsedCsr } {
  let der: Uint8Array;
  let parts: CsrParts;
  let publicKey: PublicKeyDescription;
  let subject: DecodedNameAttribute[];
  try {
    der = decodePemOrStrictDer(input, CSR_PEM_LABELS);
    parts = splitCsr(der);
    publicKey = describePublicKey(parts.spki);
    subject = decodeName(parts.subject);
  } catch (e) {
    if (isCaError(e) && e.code === 'malformedPem') throw e; // the armor, not the request, is broken
    throw malformedCsr(`CSR cannot be decoded: ${isCaError(e) ? e.detail : 'invalid ASN.1'}`, e);
  }
  checkKey?.(publicKey);
  rejectUnverifiableKey(publicKey);
  return {
    parts,
    csr: { der, subjectPublicKeyInfo: parts.spki, publicKey, subject, signatureAlgorithmOid: parts.signatureAlgorithmOid },
  };
}
