import * as asn1js from 'asn1js';
import { AlgorithmIdentifier } from 'pkijs';
import type { NamedCurve, PublicKeyDescription } from '../domain/public-key.js';
import { CaError } from '../errors.js';
import type { KeyAlgorithm } from '../signing/types.js';
import { digest, parseAsn1 } from './asn1.js';
import { ALGORITHM_OIDS, CURVE_OIDS } from './oids.js';

export type { PublicKeyDescription } from '../domain/public-key.js';

interface SpkiParts {
  algorithmOid: string;
  parameters: asn1js.AsnType | undefined;
  /** The subjectPublicKey BIT STRING contents, without the unused-bits octet. */
  publicKeyBits: Uint8Array;
}

function malformedKey(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedPublicKey' });
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } (RFC 5280 §4.1). */
function splitSpki(spkiDer: Uint8Array): SpkiParts {
  const spki = parseAsn1(spkiDer, 'SubjectPublicKeyInfo', 'malformedPublicKey');
  const [algorithm, publicKey] = spki instanceof asn1js.Sequence ? spki.valueBlock.value : [];
  const [oid, parameters] = algorithm instanceof asn1js.Sequence ? algorithm.valueBlock.value : [];
  if (!(oid instanceof asn1js.ObjectIdentifier) || !(publicKey instanceof asn1js.BitString)) {
    throw malformedKey('SubjectPublicKeyInfo does not have the RFC 5280 structure');
  }
  if (publicKey.valueBlock.unusedBits !== 0) throw malformedKey('subjectPublicKey has unused bits');
  return {
    algorithmOid: oid.valueBlock.toString(),
    parameters,
    publicKeyBits: new Uint8Array(publicKey.valueBlock.valueHexView),
  };
}

/** Bit length of an unsigned big-endian integer. */
function bitLength(magnitude: Uint8Array): number {
  const start = magnitude.findIndex((octet) => octet !== 0);
  if (start === -1) return 0;
  return (magnitude.length - start - 1) * 8 + (magnitude[start] ?? 0).toString(2).length;
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1). */
function describeRsa(publicKeyBits: Uint8Array): PublicKeyDescription {
  const key = parseAsn1(publicKeyBits, 'RSAPublicKey', 'malformedPublicKey');
  const [modulus, exponent] = key instanceof asn1js.Sequence ? key.valueBlock.value : [];
  if (!(modulus instanceof asn1js.Integer) || !(exponent instanceof asn1js.Integer)) {
    throw malformedKey('RSAPublicKey does not have the RFC 8017 structure');
  }
  const publicExponent = exponent.toBigInt();
  if (modulus.toBigInt() <= 0n || publicExponent <= 0n) throw malformedKey('RSA modulus and exponent must be positive');
  return { kind: 'rsa', bits: bitLength(new Uint8Array(modulus.valueBlock.valueHexView)), publicExponent };
}

const CURVE_BY_OID = new Map<string, NamedCurve>(
  Object.entries(CURVE_OIDS).map(([curve, oid]) => [oid, curve as NamedCurve]),
);

/** ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER, ... } (RFC 5480 §2.1.1). */
function describeEc(parameters: asn1js.AsnType | undefined): PublicKeyDescription {
  if (!(parameters instanceof asn1js.ObjectIdentifier)) return { kind: 'ec', curveOid: '' };
  const curveOid = parameters.valueBlock.toString();
  const curve = CURVE_BY_OID.get(curveOid);
  return curve ? { kind: 'ec', curveOid, curve } : { kind: 'ec', curveOid };
}

/** What a DER SubjectPublicKeyInfo holds, for the key policy and for display. */
export function describePublicKey(spkiDer: Uint8Array): PublicKeyDescription {
  const { algorithmOid, parameters, publicKeyBits } = splitSpki(spkiDer);
  if (algorithmOid === ALGORITHM_OIDS.rsaEncryption) return describeRsa(publicKeyBits);
  if (algorithmOid === ALGORITHM_OIDS.ecPublicKey) return describeEc(parameters);
  return { kind: 'other', algorithmOid };
}

/**
 * RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING contents (without
 * tag, length and unused-bits octet). Used for both SKI and the issuer's AKI keyIdentifier.
 */
export function subjectKeyIdentifier(spkiDer: Uint8Array): Uint8Array {
  return digest('sha1', splitSpki(spkiDer).publicKeyBits);
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
