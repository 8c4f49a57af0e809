import { createHash, createHmac, createPublicKey, pbkdf2Sync, randomBytes, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { CaError } from '../errors.js';
import { algorithmOf, badMessage, CMP_CODE, Fields, octets } from './cmp-asn1.js';
import type { AlgorithmId, CertStatus, PkiMessage } from './cmp-types.js';
import { DerReader, TAG, type DerElement } from './der-reader.js';
import { DER_NULL, integer, octetString, oid, sequence } from './der-writer.js';
import { inspectCertificate } from './inspect.js';
import { ALGORITHM_OIDS, CMP_OIDS } from './oids.js';

/**
 * PKIProtection (RFC 4210 §5.1.3): a MAC from a shared secret or a signature, both over the DER of
 * ProtectedPart, and the certHash of certConf (§5.3.18). MACs: PasswordBasedMac (§5.1.3.1, RFC 4211
 * §4.4, RFC 9481 §6.1.1) and PBMAC1 (RFC 8018 §7.1, RFC 9481 §6.1.2). Signatures: ECDSA and RSA
 * PKCS#1 v1.5 with SHA-2 (RFC 9481 §3). Comparisons of MACs and hashes are constant-time.
 *
 * Errors: no protection, or a MAC where a signature is checked (and the reverse), is
 * `unauthorized` (`cmpProtectionMissing`, `cmpProtectionMismatch`); an algorithm outside the list
 * is `policyForbids`/`unsupportedCmpAlgorithm`; an iteration count outside
 * [MIN_MAC_ITERATIONS, maxIterationCount] is `policyForbids`/`badPbmIterationCount`; broken
 * parameters are `malformed`/`badCmpMessage`. A MAC or signature that does not match is `false`.
 */

export type CmpHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** RFC 4211 §4.4: "The iterationCount MUST be a minimum of 100" (OpenSSL refuses fewer too). */
export const MIN_MAC_ITERATIONS = 100;
/** The default ceiling: OpenSSL's OSSL_CRMF_PBM_MAX_ITERATION_COUNT; more is CPU an unauthenticated sender makes us spend. */
export const MAX_MAC_ITERATIONS = 100_000;
/** What buildPkiMessage uses unless told otherwise: well inside both bounds, ~10 ms of hashing. */
export const DEFAULT_MAC_ITERATIONS = 10_000;

const DIGEST_BY_OID: Readonly<Record<string, CmpHash>> = {
  [CMP_OIDS.sha1]: 'sha1',
  [ALGORITHM_OIDS.sha256]: 'sha256',
  [ALGORITHM_OIDS.sha384]: 'sha384',
  [ALGORITHM_OIDS.sha512]: 'sha512',
};
const DIGEST_OID: Readonly<Record<CmpHash, string>> = { sha1: CMP_OIDS.sha1, sha256: ALGORITHM_OIDS.sha256, sha384: ALGORITHM_OIDS.sha384, sha512: ALGORITHM_OIDS.sha512 };

/** HMAC algorithms: hmac-sha1 (RFC 4211 §4.4, OpenSSL's default) and the RFC 8018 hmacWithSHA* (RFC 9481 §6.2.1). */
const HMAC_BY_OID: Readonly<Record<string, CmpHash>> = {
  [CMP_OIDS.hmacSha1]: 'sha1',
  [CMP_OIDS.hmacWithSha1]: 'sha1',
  [CMP_OIDS.hmacWithSha256]: 'sha256',
  [CMP_OIDS.hmacWithSha384]: 'sha384',
  [CMP_OIDS.hmacWithSha512]: 'sha512',
};
const HMAC_OID: Readonly<Record<CmpHash, string>> = {
  sha1: CMP_OIDS.hmacSha1,
  sha256: CMP_OIDS.hmacWithSha256,
  sha384: CMP_OIDS.hmacWithSha384,
  sha512: CMP_OIDS.hmacWithSha512,
};

/** PBMAC1 (RFC 8018 App. B.1.2) names its HMACs hmacWithSHA*. */
const PBMAC1_HMAC_OID: Readonly<Record<CmpHash, string>> = { ...HMAC_OID, sha1: CMP_OIDS.hmacWithSha1 };

const SIGNATURES: Readonly<Record<string, { hash: CmpHash; key: 'ec' | 'rsa' }>> = {
  [ALGORITHM_OIDS.ecdsaWithSha256]: { hash: 'sha256', key: 'ec' },
  [ALGORITHM_OIDS.ecdsaWithSha384]: { hash: 'sha384', key: 'ec' },
  [ALGORITHM_OIDS.ecdsaWithSha512]: { hash: 'sha512', key: 'ec' },
  [ALGORITHM_OIDS.sha256WithRsa]: { hash: 'sha256', key: 'rsa' },
  [ALGORITHM_OIDS.sha384WithRsa]: { hash: 'sha384', key: 'rsa' },
  [ALGORITHM_OIDS.sha512WithRsa]: { hash: 'sha512', key: 'rsa' },
};

/** certHash uses the hash of the certificate's own signature algorithm (§5.3.18; Ed25519: SHA-512, RFC 9481 §3.3). */
const CERT_HASH_BY_SIGNATURE: Readonly<Record<string, CmpHash>> = {
  ...Object.fromEntries(Object.entries(SIGNATURES).map(([id, s]) => [id, s.hash])),
  [CMP_OIDS.sha1WithRsa]: 'sha1',
  [CMP_OIDS.ecdsaWithSha1]: 'sha1',
  [CMP_OIDS.ed25519]: 'sha512',
};

function unsupported(detail: string): CaError {
  return new CaError('policyForbids', detail, { code: 'unsupportedCmpAlgorithm' });
}

function unauthorized(detail: string, code: string): CaError {
  return new CaError('unauthorized', detail, { code });
}

function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const isNull = (parameters: Uint8Array | null): boolean => parameters === null || (parameters.length === 2 && parameters[0] === TAG.null && parameters[1] === 0);

// ---- signatures ------------------------------------------------------------------------------

function publicKeyOf(spki: Uint8Array): KeyObject | null {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/**
 * Whether `signature` over `data` verifies with the key of `spki` under `algorithm` (ECDSA: a DER
 * Ecdsa-Sig-Value, no parameters, RFC 5758 §3.2; RSA PKCS#1 v1.5: NULL or absent parameters,
 * RFC 4055 §5). A key of the other type, or one node cannot load, is `false`.
 */
export function verifyWithSpki(spki: Uint8Array, algorithm: AlgorithmId, data: Uint8Array, signature: Uint8Array): boolean {
  const scheme = SIGNATURES[algorithm.oid];
  if (!scheme) throw unsupported(`signature algorithm ${algorithm.oid} is not accepted (ECDSA or RSA with SHA-2)`);
  if (scheme.key === 'ec' ? algorithm.parameters !== null : !isNull(algorithm.parameters)) {
    throw badMessage(`signature algorithm ${algorithm.oid} has unexpected parameters`);
  }
  const key = publicKeyOf(spki);
  if (key?.asymmetricKeyType !== scheme.key) return false;
  try {
    return verify(scheme.hash, data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false; // OpenSSL throws on some malformed signatures
  }
}

function protectionOf(message: PkiMessage): { algorithm: AlgorithmId; protection: Uint8Array } {
  const algorithm = message.header.protectionAlg;
  if (!algorithm || !message.protection) throw unauthorized('the CMP message is not protected', 'cmpProtectionMissing');
  return { algorithm, protection: message.protection };
}

const isMac = (id: string): boolean => id === CMP_OIDS.passwordBasedMac || id === CMP_OIDS.pbmac1;

/**
 * Signature protection (§5.1.3.3) checked with the key of `signerCertDer` (usually extraCerts[0],
 * RFC 9483 §3.3). Whether that certificate may sign for its sender (chain, validity, senderKID) is
 * the caller's decision. Returns false when the signature does not verify.
 */
export function verifySignatureProtection(message: PkiMessage, signerCertDer: Uint8Array): boolean {
  const { algorithm, protection } = protectionOf(message);
  if (isMac(algorithm.oid)) throw unauthorized('the CMP message is MAC-protected, a signature was expected', 'cmpProtectionMismatch');
  const { subjectPublicKeySpki } = inspectCertificate(signerCertDer);
  return verifyWithSpki(subjectPublicKeySpki, algorithm, message.protectedPart, protection);
}

// ---- MACs ------------------------------------------------------------------------------------

interface MacParameters {
  /** The key the HMAC is computed with. */
  key(secret: Uint8Array): Uint8Array;
  hmac: CmpHash;
}

function iterationsOf(reader: DerReader, element: DerElement, maxIterations: number): number {
  const content = reader.content(reader.expect(element, TAG.integer, 'iterationCount'));
  const count = content.length > 6 ? Infinity : reader.smallInteger(element);
  if (!(count >= MIN_MAC_ITERATIONS && count <= maxIterations)) {
    throw new CaError('policyForbids', `iterationCount must be ${MIN_MAC_ITERATIONS} to ${maxIterations}`, { code: 'badPbmIterationCount' });
  }
  return count;
}

function digestOf(algorithm: AlgorithmId, what: string): CmpHash {
  const hash = DIGEST_BY_OID[algorithm.oid];
  if (!hash || !isNull(algorithm.parameters)) throw unsupported(`${what} ${algorithm.oid} is not SHA-1 or SHA-2`);
  return hash;
}

function hmacOf(algorithm: AlgorithmId, what: string): CmpHash {
  const hash = HMAC_BY_OID[algorithm.oid];
  if (!hash || !isNull(algorithm.parameters)) throw unsupported(`${what} ${algorithm.oid} is not HMAC with SHA-1 or SHA-2`);
  return hash;
}

/** basekey = OWF^iterationCount(secret || salt), RFC 4211 §4.4 (the first application included). */
function pbmKey(owf: CmpHash, secret: Uint8Array, salt: Uint8Array, iterations: number): Uint8Array {
  let key = createHash(owf).update(secret).update(salt).digest();
  for (let i = 1; i < iterations; i++) key = createHash(owf).update(key).digest();
  return key;
}

/** PBMParameter ::= SEQUENCE { salt OCTET STRING, owf AlgorithmIdentifier, iterationCount INTEGER, mac AlgorithmIdentifier } (RFC 4211 §4.4). */
function pbmParameters(parameters: Uint8Array | null, maxIterations: number): MacParameters {
  if (!parameters) throw badMessage('PasswordBasedMac without PBMParameter');
  const reader = new DerReader(parameters, CMP_CODE, 'PBMParameter');
  const fields = new Fields(reader, reader.expect(reader.root(), TAG.sequence, 'PBMParameter'), 'PBMParameter');
  const salt = octets(reader, fields.next(TAG.octetString, 'salt'), 'PBMParameter salt');
  const owf = digestOf(algorithmOf(reader, fields.next(TAG.sequence, 'owf'), 'owf'), 'owf');
  const iterations = iterationsOf(reader, fields.next(TAG.integer, 'iterationCount'), maxIterations);
  const hmac = hmacOf(algorithmOf(reader, fields.next(TAG.sequence, 'mac'), 'mac'), 'mac');
  fields.end();
  return { hmac, key: (secret) => pbmKey(owf, secret, salt, iterations) };
}

const HASH_LENGTH: Readonly<Record<CmpHash, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const MAX_PBKDF2_KEY_LENGTH = 128;

/**
 * PBMAC1-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, messageAuthScheme AlgorithmIdentifier }
 * PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
 *   iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
 * (RFC 8018 §5.2, §7.1, App. A.2). keyDerivationFunc must be PBKDF2 with a specified salt; without
 * keyLength the key is as long as the messageAuthScheme's hash output.
 */
function pbmac1Parameters(parameters: Uint8Array | null, maxIterations: number): MacParameters {
  if (!parameters) throw badMessage('PBMAC1 without PBMAC1-params');
  const reader = new DerReader(parameters, CMP_CODE, 'PBMAC1-params');
  const fields = new Fields(reader, reader.expect(reader.root(), TAG.sequence, 'PBMAC1-params'), 'PBMAC1-params');
  const kdf = algorithmOf(reader, fields.next(TAG.sequence, 'keyDerivationFunc'), 'keyDerivationFunc');
  const hmac = hmacOf(algorithmOf(reader, fields.next(TAG.sequence, 'messageAuthScheme'), 'messageAuthScheme'), 'messageAuthScheme');
  fields.end();
  if (kdf.oid !== CMP_OIDS.pbkdf2 || !kdf.parameters) throw unsupported(`PBMAC1 keyDerivationFunc ${kdf.oid} is not PBKDF2`);
  const kdfReader = new DerReader(kdf.parameters, CMP_CODE, 'PBKDF2-params');
  const pbkdf2 = new Fields(kdfReader, kdfReader.expect(kdfReader.root(), TAG.sequence, 'PBKDF2-params'), 'PBKDF2-params');
  if (pbkdf2.peek() !== TAG.octetString) throw unsupported('PBKDF2 salt otherSource is not supported');
  const salt = octets(kdfReader, pbkdf2.next(TAG.octetString, 'salt'), 'PBKDF2 salt');
  const iterations = iterationsOf(kdfReader, pbkdf2.next(TAG.integer, 'iterationCount'), maxIterations);
  const lengthElement = pbkdf2.optional(TAG.integer);
  const prfElement = pbkdf2.optional(TAG.sequence);
  pbkdf2.end();
  const prf = prfElement ? hmacOf(algorithmOf(kdfReader, prfElement, 'prf'), 'PBKDF2 prf') : 'sha1';
  const keyLength = lengthElement ? kdfReader.smallInteger(lengthElement) : HASH_LENGTH[hmac];
  if (!(keyLength >= 1 && keyLength <= MAX_PBKDF2_KEY_LENGTH)) throw badMessage(`PBKDF2 keyLength must be 1 to ${MAX_PBKDF2_KEY_LENGTH}`);
  return { hmac, key: (secret) => pbkdf2Sync(secret, salt, iterations, keyLength, prf) };
}

export interface MacVerifyOptions {
  /** Highest iterationCount accepted; default MAX_MAC_ITERATIONS. */
  maxIterationCount?: number;
}

/**
 * MAC protection (§5.1.3.1, RFC 9481 §6.1) checked with the shared `secret` (the bytes of the
 * password, e.g. UTF-8). Returns false when the MAC does not match. Errors: see the top of this file.
 */
export function verifyMacProtection(message: PkiMessage, secret: Uint8Array, options: MacVerifyOptions = {}): boolean {
  const { algorithm, protection } = protectionOf(message);
  const max = options.maxIterationCount ?? MAX_MAC_ITERATIONS;
  let parameters: MacParameters;
  if (algorithm.oid === CMP_OIDS.passwordBasedMac) parameters = pbmParameters(algorithm.parameters, max);
  else if (algorithm.oid === CMP_OIDS.pbmac1) parameters = pbmac1Parameters(algorithm.parameters, max);
  else if (SIGNATURES[algorithm.oid]) throw unauthorized('the CMP message is signed, a MAC was expected', 'cmpProtectionMismatch');
  else throw unsupported(`protection algorithm ${algorithm.oid} is not PasswordBasedMac, PBMAC1 or a supported signature`);
  const expected = createHmac(parameters.hmac, parameters.key(secret)).update(message.protectedPart).digest();
  return equalConstantTime(expected, protection);
}

export interface MacProtectionInput {
  secret: Uint8Array;
  /** Default 'pbm' (PasswordBasedMac, what OpenSSL 3.0 speaks); 'pbmac1' for RFC 9481 §6.1.2. */
  algorithm?: 'pbm' | 'pbmac1';
  /** PBM owf (default sha256). */
  owf?: CmpHash;
  /** The HMAC hash, and PBMAC1's PBKDF2 prf (default sha256). */
  mac?: CmpHash;
  /** Default DEFAULT_MAC_ITERATIONS. */
  iterationCount?: number;
}

/** The protectionAlg and MAC function for MAC-protecting a message: a fresh 16-octet salt each time. */
export function macProtection(input: MacProtectionInput): { algorithm: Uint8Array; mac(protectedPart: Uint8Array): Uint8Array } {
  const iterations = input.iterationCount ?? DEFAULT_MAC_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < MIN_MAC_ITERATIONS || iterations > MAX_MAC_ITERATIONS) {
    throw new CaError('internal', `iterationCount must be ${MIN_MAC_ITERATIONS} to ${MAX_MAC_ITERATIONS}`, { code: 'badPbmIterationCount' });
  }
  const salt = new Uint8Array(randomBytes(16));
  const hmac = input.mac ?? 'sha256';
  const secret = input.secret;
  if (input.algorithm === 'pbmac1') {
    const keyLength = HASH_LENGTH[hmac];
    const scheme = sequence(oid(PBMAC1_HMAC_OID[hmac]), DER_NULL);
    // The prf is the MAC's HMAC; DER omits it when it is the DEFAULT hmacWithSHA1 (X.690 §11.5).
    const pbkdf2 = sequence(octetString(salt), integer(iterations), integer(keyLength), ...(hmac === 'sha1' ? [] : [scheme]));
    return {
      algorithm: sequence(oid(CMP_OIDS.pbmac1), sequence(sequence(oid(CMP_OIDS.pbkdf2), pbkdf2), scheme)),
      mac: (data) => new Uint8Array(createHmac(hmac, pbkdf2Sync(secret, salt, iterations, keyLength, hmac)).update(data).digest()),
    };
  }
  const owf = input.owf ?? 'sha256';
  // OpenSSL writes owf and mac without parameters; so do we.
  const parameters = sequence(octetString(salt), sequence(oid(DIGEST_OID[owf])), integer(iterations), sequence(oid(HMAC_OID[hmac])));
  return {
    algorithm: sequence(oid(CMP_OIDS.passwordBasedMac), parameters),
    mac: (data) => new Uint8Array(createHmac(hmac, pbmKey(owf, secret, salt, iterations)).update(data).digest()),
  };
}

// ---- certConf --------------------------------------------------------------------------------

/** The signatureAlgorithm OID of a DER certificate (Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }). */
function certificateSignatureOid(certDer: Uint8Array): string {
  const reader = new DerReader(certDer, 'malformedCertificate', 'certificate');
  const [, algorithm] = reader.children(reader.expect(reader.root(), TAG.sequence, 'Certificate'));
  const [id] = reader.children(reader.expect(algorithm, TAG.sequence, 'signatureAlgorithm'));
  return reader.oid(reader.expect(id, TAG.oid, 'signatureAlgorithm OID'));
}

/**
 * certHash of certConf (§5.3.18): the hash of the DER certificate with the hash algorithm of its
 * signature (`signatureAlgorithmOid` of the certificate; read from it when omitted).
 */
export function certHash(certDer: Uint8Array, signatureAlgorithmOid: string = certificateSignatureOid(certDer)): Uint8Array {
  const hash = CERT_HASH_BY_SIGNATURE[signatureAlgorithmOid];
  if (!hash) throw unsupported(`no certHash algorithm for certificates signed with ${signatureAlgorithmOid}`);
  return new Uint8Array(createHash(hash).update(certDer).digest());
}

/** Whether a CertStatus confirms `certDer`: with its hashAlg when given (pvno 3, RFC 9480), else as certHash. */
export function certHashMatches(status: CertStatus, certDer: Uint8Array): boolean {
  const expected = status.hashAlg
    ? new Uint8Array(createHash(digestOf(status.hashAlg, 'hashAlg')).update(certDer).digest())
    : certHash(certDer);
  return equalConstantTime(expected, status.certHash);
}
