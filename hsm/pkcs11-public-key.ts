import * as asn1js from 'asn1js';
import { CaError } from '../src/errors.js';

/**
 * DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) built from PKCS#11 public-key attributes:
 *
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 *
 * RSA (RFC 3279 §2.3.1): rsaEncryption with NULL parameters, key RSAPublicKey ::= SEQUENCE
 * { modulus INTEGER, publicExponent INTEGER }, from CKA_MODULUS and CKA_PUBLIC_EXPONENT.
 * EC (RFC 5480 §2): id-ecPublicKey with the namedCurve OID, key the uncompressed point, from
 * CKA_EC_POINT.
 */
export type NamedCurve = 'P-256' | 'P-384';

interface CurveInfo {
  oid: string;
  /** Uncompressed point 04 || X || Y (SEC 1 §2.3.3). */
  pointLength: number;
}

const CURVES: Record<NamedCurve, CurveInfo> = {
  'P-256': { oid: '1.2.840.10045.3.1.7', pointLength: 65 },
  'P-384': { oid: '1.3.132.0.34', pointLength: 97 },
};

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/** CKA_EC_PARAMS value: DER of the ECParameters namedCurve choice, i.e. the curve OID (RFC 5480 §2.1.1). */
export function ecParametersFor(curve: NamedCurve): Buffer {
  return Buffer.from(new asn1js.ObjectIdentifier({ value: CURVES[curve].oid }).toBER(false));
}

export function curveFromEcParameters(ecParameters: Uint8Array): NamedCurve | undefined {
  const parsed = asn1js.fromBER(ecParameters);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.ObjectIdentifier)) return undefined;
  const oid = parsed.result.getValue();
  return (Object.keys(CURVES) as NamedCurve[]).find((curve) => CURVES[curve].oid === oid);
}

export function rsaSpki(modulus: Uint8Array, publicExponent: Uint8Array): Uint8Array {
  const rsaPublicKey = new asn1js.Sequence({
    value: [unsignedInteger(modulus), unsignedInteger(publicExponent)],
  });
  return spki(RSA_ENCRYPTION, new asn1js.Null(), rsaPublicKey.toBER(false));
}

/**
 * CKA_EC_POINT is the DER OCTET STRING wrapping the point (PKCS#11 v2.40 Current Mechanisms
 * §2.3.3); some older modules return the bare point. The lengths of the two forms differ by the
 * two header octets, which tells them apart for these curves.
 */
export function ecSpki(curve: NamedCurve, ecPoint: Uint8Array): Uint8Array {
  const { oid, pointLength } = CURVES[curve];
  let point = ecPoint;
  if (ecPoint.length === pointLength + 2 && ecPoint[0] === 0x04 && ecPoint[1] === pointLength) {
    point = ecPoint.subarray(2);
  }
  if (point.length !== pointLength || point[0] !== 0x04) {
    throw new CaError('internal', `token returned an unexpected ${curve} public point`, { code: 'hsmPublicKeyInvalid' });
  }
  return spki(EC_PUBLIC_KEY, new asn1js.ObjectIdentifier({ value: oid }), point);
}

export function rsaModulusBits(modulus: Uint8Array): number {
  let start = 0;
  while (start < modulus.length && modulus[start] === 0) start++;
  const first = modulus[start] ?? 0;
  return (modulus.length - start - 1) * 8 + (first === 0 ? 0 : Math.floor(Math.log2(first)) + 1);
}

function spki(algorithmOid: string, parameters: asn1js.AsnType, subjectPublicKey: ArrayBuffer | Uint8Array): Uint8Array {
  const info = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: algorithmOid }), parameters] }),
      new asn1js.BitString({ valueHex: toArrayBuffer(subjectPublicKey) }),
    ],
  });
  return new Uint8Array(info.toBER(false));
}

/** asn1js reads valueHex as two's complement: drop leading zeros, add one back if the top bit is set. */
function unsignedInteger(bigEndian: Uint8Array): asn1js.Integer {
  let start = 0;
  while (start < bigEndian.length - 1 && bigEndian[start] === 0) start++;
  const digits = bigEndian.subarray(start);
  const bytes = (digits[0] ?? 0) >= 0x80 ? Uint8Array.of(0, ...digits) : digits;
  return new asn1js.Integer({ valueHex: toArrayBuffer(bytes) });
}

function toArrayBuffer(bytes: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
