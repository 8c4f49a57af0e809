import * as asn1js from 'asn1js';
import { Certificate, PublicKeyInfo, RelativeDistinguishedNames, Time } from 'pkijs';
import type { CertificateSpec } from '../domain/certificateSpec.js';
import type { Serial } from '../domain/serial.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { derSequence, encodeDer, parseAsn1, toArrayBuffer } from './asn1.js';
import { buildExtensions } from './extensions.js';
import { encodeNamePkijs } from './names.js';
import { signatureAlgorithmFor } from './public-key.js';

/** X.509 v3 certificates (RFC 5280 §4.1): the TBS is built here, signed elsewhere, assembled here. */

export interface TbsCertificateInput {
  serial: Serial;
  notBefore: Date;
  notAfter: Date;
  /** DER Name of the issuer = the issuer certificate's subject, byte for byte; for a self-signed root, the subject. */
  issuerName: Uint8Array;
  /** The issuer's SubjectPublicKeyInfo (for authorityKeyIdentifier); the subject's own for a root. */
  issuerPublicKeySpki: Uint8Array;
  subjectPublicKeySpki: Uint8Array;
  spec: CertificateSpec;
  /** The issuer key's algorithm: decides the signature AlgorithmIdentifier. */
  signatureAlgorithm: KeyAlgorithm;
}

/**
 * CertificateSerialNumber ::= INTEGER (§4.1.2.2): the canonical hex as a positive, minimal
 * two's-complement integer (a 00 octet in front when the high bit is set).
 */
export function serialToInteger(serial: Serial): asn1js.Integer {
  const even = serial.length % 2 === 1 ? `0${serial}` : serial;
  const magnitude = Buffer.from(even, 'hex');
  const octets = (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), magnitude]) : magnitude;
  return new asn1js.Integer({ valueHex: new Uint8Array(octets) });
}

/**
 * §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds only (fractions are
 * forbidden in both).
 */
export function certificateTime(date: Date): Time {
  const value = new Date(Math.floor(date.getTime() / 1000) * 1000);
  const year = value.getUTCFullYear();
  return new Time({ type: year >= 1950 && year < 2050 ? 0 : 1, value });
}

/** The DER TBSCertificate: version v3, the spec's subject and extensions, nothing from a CSR but the key. */
export function buildTbsCertificate(input: TbsCertificateInput): Uint8Array {
  parseAsn1(input.issuerName, 'issuer Name', 'malformedName');
  parseAsn1(input.subjectPublicKeySpki, 'subject public key', 'malformedPublicKey');
  const certificate = new Certificate({
    version: 2, // v3 (§4.1.2.1)
    serialNumber: serialToInteger(input.serial),
    signature: signatureAlgorithmFor(input.signatureAlgorithm),
    issuer: RelativeDistinguishedNames.fromBER(toArrayBuffer(input.issuerName)),
    notBefore: certificateTime(input.notBefore),
    notAfter: certificateTime(input.notAfter),
    subject: encodeNamePkijs(input.spec.subject),
    subjectPublicKeyInfo: PublicKeyInfo.fromBER(toArrayBuffer(input.subjectPublicKeySpki)),
    extensions: buildExtensions({
      spec: input.spec,
      subjectPublicKeySpki: input.subjectPublicKeySpki,
      issuerPublicKeySpki: input.issuerPublicKeySpki,
    }),
  });
  return encodeDer(certificate.encodeTBS());
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (§4.1.1). The TBS bytes are copied unchanged; `signatureValue` is what Signer.sign returned.
 */
export function assembleCertificate(tbsDer: Uint8Array, issuerAlgorithm: KeyAlgorithm, signatureValue: Uint8Array): Uint8Array {
  parseAsn1(tbsDer, 'TBSCertificate', 'malformedCertificate');
  return derSequence(
    tbsDer,
    encodeDer(signatureAlgorithmFor(issuerAlgorithm).toSchema()),
    encodeDer(new asn1js.BitString({ valueHex: signatureValue })),
  );
}

/** Signs the TBS with the issuer's Signer and returns the DER certificate. */
export async function signTbs(tbsDer: Uint8Array, signer: Signer): Promise<Uint8Array> {
  const signatureValue = await signer.sign(tbsDer);
  return assembleCertificate(tbsDer, signer.algorithm, signatureValue);
}
