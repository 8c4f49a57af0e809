import * as asn1js from 'asn1js';
import type { JsonWebKey } from 'node:crypto';
import { AlgorithmIdentifier } from 'pkijs';
import type { NamedCurve, PublicKeyDescription } from '../domain/public-key.js';
import { CaError } from '../errors.js';
import type { KeyAlgorithm } from '../signing/types.js';
import { digest } from './asn1.js';
import { DerReader, TAG, type DerElement } from './der-reader.js';
import { DER_NULL, oid, sequence } from './der-writer.js';
import { ALGORITHM_OIDS, CURVE_OIDS } from './oids.js';

export type { PublicKeyDescription } from '../domain/public-key.js';

interface SpkiParts {
  reader: DerReader;
  algorithmOid: string;
  parameters: DerElement | undefined;
  /** The subjectPublicKey BIT STRING contents, without the unused-bits octet (a view). */
  publicKeyBits: Uint8Array;
}

function malformedKey(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedPublicKey' });
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } (RFC 5280 §4.1). */
function splitSpki(spkiDer: Uint8Array): SpkiParts {
  const reader = new DerReader(spkiDer, 'malformedPublicKey', 'SubjectPublicKeyInfo');
  const spki = reader.root(true);
  const [algorithm, publicKey, ...rest] = spki.tag === TAG.sequence ? reader.children(spki) : [];
  const [algorithmOid, parameters, ...more] = algorithm?.tag === TAG.sequence ? reader.children(algorithm) : [];
  if (algorithmOid?.tag !== TAG.oid || publicKey?.tag !== TAG.bitString || rest.length > 0 || more.length > 0) {
    throw malformedKey('SubjectPublicKeyInfo does not have the RFC 5280 structure');
  }
  const { unusedBits, bits } = reader.bitString(publicKey);
  if (unusedBits !== 0) throw malformedKey('subjectPublicKey has unused bits');
  return { reader, algorithmOid: reader.oid(algorithmOid), parameters, publicKeyBits: bits };
}

/** Bit length of an unsigned big-endian integer. */
function bitLength(magnitude: Uint8Array): number {
  const start = magnitude.findIndex((octet) => octet !== 0);
  if (start === -1) return 0;
  return (magnitude.length - start - 1) * 8 + (magnitude[start] ?? 0).toString(2).length;
}

/** INTEGER contents as a signed bigint (two's complement); empty contents read as 0. */
function toBigInt(octets: Uint8Array): bigint {
  if (octets.length === 0) return 0n;
  const magnitude = BigInt(`0x${Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('hex')}`);
  return octets[0]! & 0x80 ? magnitude - (1n << BigInt(octets.length * 8)) : magnitude;
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1). */
function describeRsa(publicKeyBits: Uint8Array): PublicKeyDescription {
  const reader = new DerReader(publicKeyBits, 'malformedPublicKey', 'RSAPublicKey');
  const key = reader.root(true);
  const [modulus, exponent, ...rest] = key.tag === TAG.sequence ? reader.children(key) : [];
  if (modulus?.tag !== TAG.integer || exponent?.tag !== TAG.integer || rest.length > 0) {
    throw malformedKey('RSAPublicKey does not have the RFC 8017 structure');
  }
  const modulusOctets = reader.content(modulus);
  const publicExponent = toBigInt(reader.content(exponent));
  if (toBigInt(modulusOctets) <= 0n || publicExponent <= 0n) throw malformedKey('RSA modulus and exponent must be positive');
  return { kind: 'rsa', bits: bitLength(modulusOctets), publicExponent };
}

const CURVE_BY_OID = new Map<string, NamedCurve>(
  Object.entries(CURVE_OIDS).map(([curve, dotted]) => [dotted, curve as NamedCurve]),
);

/** ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER, ... } (RFC 5480 §2.1.1). */
function describeEc(reader: DerReader, parameters: DerElement | undefined): PublicKeyDescription {
  if (parameters?.tag !== TAG.oid) return { kind: 'ec', curveOid: '' };
  const curveOid = reader.oid(parameters);
  const curve = CURVE_BY_OID.get(curveOid);
  return curve ? { kind: 'ec', curveOid, curve } : { kind: 'ec', curveOid };
}

/** What a DER SubjectPublicKeyInfo holds, for the key policy and for display. */
export function describePublicKey(spkiDer: Uint8Array): PublicKeyDescription {
  const { reader, algorithmOid, parameters, publicKeyBits } = splitSpki(spkiDer);
  if (algorithmOid === ALGORITHM_OIDS.rsaEncryption) return describeRsa(publicKeyBits);
  if (algorithmOid === ALGORITHM_OIDS.ecPublicKey) return describeEc(reader, parameters);
  return { kind: 'other', algorithmOid };
}

/**
 * RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING contents (without
 * tag, length and unused-bits octet). Used for both SKI and the issuer's AKI keyIdentifier.
 */
export function subjectKeyIdentifier(spkiDer: Uint8Array): Uint8Array {
  return digest('sha1', splitSpki(spkiDer).publicKeyBits);
}

const EC_COORDINATE_LENGTHS: Partial<Record<string, number>> = { [CURVE_OIDS['P-256']]: 32, [CURVE_OIDS['P-384']]: 48 };

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** INTEGER contents that are minimal (X.690 §8.3.2) and positive, without the sign octet. */
function positiveMagnitude(octets: Uint8Array): Uint8Array | undefined {
  const [first = 0x80, second = 0] = octets;
  if (first & 0x80 || (first === 0 && (octets.length === 1 || !(second & 0x80)))) return undefined;
  return first === 0 ? octets.subarray(1) : octets;
}

/**
 * The same public key as a JWK (RFC 7518 §6.2.1, §6.3.1), for the shapes where node:crypto
 * imports a JWK far faster than SPKI DER (RSA ~5 µs instead of ~110; EC ~70, the point check):
 * a named P-256/P-384 curve with an uncompressed point (SEC 1 §2.3.3), or an RSA key whose
 * INTEGERs are minimal and positive. OpenSSL accepts exactly the same keys either way: on-curve
 * coordinates below p (cofactor 1), any positive modulus and exponent. Any other shape is
 * undefined, and callers import the SPKI DER as before. `spkiDer` has passed describePublicKey.
 */
export function publicKeyJwk(spkiDer: Uint8Array): JsonWebKey | undefined {
  const { reader, algorithmOid, parameters, publicKeyBits } = splitSpki(spkiDer);
  if (algorithmOid === ALGORITHM_OIDS.ecPublicKey && parameters?.tag === TAG.oid) {
    const curveOid = reader.oid(parameters);
    const length = EC_COORDINATE_LENGTHS[curveOid];
    if (!length || publicKeyBits.length !== 1 + 2 * length || publicKeyBits[0] !== 0x04) return undefined;
    return {
      kty: 'EC',
      crv: CURVE_BY_OID.get(curveOid)!,
      x: base64url(publicKeyBits.subarray(1, 1 + length)),
      y: base64url(publicKeyBits.subarray(1 + length)),
    };
  }
  if (algorithmOid !== ALGORITHM_OIDS.rsaEncryption) return undefined;
  const rsa = new DerReader(publicKeyBits, 'malformedPublicKey', 'RSAPublicKey');
  const [modulus, exponent] = rsa.children(rsa.root());
  const n = modulus && positiveMagnitude(rsa.content(modulus));
  const e = exponent && positiveMagnitude(rsa.content(exponent));
  return n && e ? { kty: 'RSA', n: base64url(n), e: base64url(e) } : undefined;
}

/**
 * The key algorithm a CA key must have to sign with e-imza's Signer: RSA 2048/3072/4096 or EC
 * P-256/P-384. Anything else is `badPublicKey` (`unsupportedKeyType`/`unsupportedCurve`).
 */
export function keyAlgorithmOf(spkiDer: Uint8Array): KeyAlgorithm {
  const key = describePublicKey(spkiDer);
  if (key.kind === 'rsa' && (key.bits === 2048 || key.bits === 3072 || key.bits === 4096)) {
    return { kind: 'rsa', bits: key.bits };
  }
  if (key.kind === 'ec' && key.curve) return { kind: 'ec', curve: key.curve };
  const code = key.kind === 'ec' ? 'unsupportedCurve' : 'unsupportedKeyType';
  throw new CaError('badPublicKey', 'the key cannot sign certificates (RSA 2048/3072/4096, EC P-256/P-384)', { code });
}

/** The signature OID that goes with an issuer key, matching what Signer.sign produces. */
export function signatureAlgorithmOid(algorithm: KeyAlgorithm): string {
  if (algorithm.kind === 'rsa') return ALGORITHM_OIDS.sha256WithRsa;
  return algorithm.curve === 'P-384' ? ALGORITHM_OIDS.ecdsaWithSha384 : ALGORITHM_OIDS.ecdsaWithSha256;
}

/**
 * The AlgorithmIdentifier for signatures by a key: RSA PKCS#1 v1.5 carries NULL parameters
 * (RFC 4055 §5); ECDSA carries none (RFC 5758 §3.2).
 */
export function signatureAlgorithmFor(algorithm: KeyAlgorithm): AlgorithmIdentifier {
  const algorithmId = signatureAlgorithmOid(algorithm);
  return algorithm.kind === 'rsa'
    ? new AlgorithmIdentifier({ algorithmId, algorithmParams: new asn1js.Null() })
    : new AlgorithmIdentifier({ algorithmId });
}

const SIGNATURE_ALGORITHM_DER = {
  rsa: sequence(oid(ALGORITHM_OIDS.sha256WithRsa), DER_NULL),
  p256: sequence(oid(ALGORITHM_OIDS.ecdsaWithSha256)),
  p384: sequence(oid(ALGORITHM_OIDS.ecdsaWithSha384)),
} as const;

/**
 * The DER of `signatureAlgorithmFor(algorithm)`, without pkijs: a shared constant, so callers
 * copy it into what they build and never hand it out.
 */
export function signatureAlgorithmDer(algorithm: KeyAlgorithm): Uint8Array {
  if (algorithm.kind === 'rsa') return SIGNATURE_ALGORITHM_DER.rsa;
  return algorithm.curve === 'P-384' ? SIGNATURE_ALGORITHM_DER.p384 : SIGNATURE_ALGORITHM_DER.p256;
}
