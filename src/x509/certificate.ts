import * as asn1js from 'asn1js';
import { Time } from 'pkijs';
import type { CertificateSpec } from '../domain/certificateSpec.js';
import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { checkDer, DerReader, TAG } from './der-reader.js';
import { bitString, integerFromOctets, sequence, time, tlv } from './der-writer.js';
import { encodeExtensions } from './extensions-der.js';
import { encodeName } from './names.js';
import { signatureAlgorithmDer } from './public-key.js';

/**
 * X.509 v3 certificates (RFC 5280 §4.1): the TBS is built here, signed elsewhere, assembled here.
 * Built with the DER writer (the issuance hot path); tbs-reference.ts is the pkijs reference
 * that tests hold it to, byte for byte.
 */

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
  return new asn1js.Integer({ valueHex: serialOctets(serial) });
}

/** The INTEGER contents octets of a serial (see serialToInteger). */
function serialOctets(serial: Serial): Uint8Array {
  const even = serial.length % 2 === 1 ? `0${serial}` : serial;
  const magnitude = Buffer.from(even, 'hex');
  const octets = (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), magnitude]) : magnitude;
  return new Uint8Array(octets);
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

/** [0] EXPLICIT Version v3 (§4.1.2.1): extensions need it. */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, TAG.integer, 0x01, 0x02);

/** The issuer Name must be one strict-DER SEQUENCE of RDN SETs; it is copied, never re-encoded. */
function checkIssuerName(issuerName: Uint8Array): void {
  const reader = new DerReader(issuerName, 'malformedName', 'issuer Name');
  const name = reader.root(true);
  if (name.tag !== TAG.sequence || reader.children(name).some((rdn) => rdn.tag !== TAG.set)) {
    throw new CaError('malformed', 'issuer Name is not a SEQUENCE of RDN SETs', { code: 'malformedName' });
  }
}

/**
 * The DER TBSCertificate: version v3, the spec's subject and extensions, nothing from a CSR but
 * the key. Issuer Name and subject key are copied byte for byte (checked as strict DER first).
 */
export function buildTbsCertificate(input: TbsCertificateInput): Uint8Array {
  checkIssuerName(input.issuerName);
  checkDer(input.subjectPublicKeySpki, 'malformedPublicKey', 'subject public key');
  const serial = integerFromOctets(serialOctets(input.serial));
  const validity = sequence(time(input.notBefore), time(input.notAfter));
  const subject = encodeName(input.spec.subject);
  const extensions = encodeExtensions({
    spec: input.spec,
    subjectPublicKeySpki: input.subjectPublicKeySpki,
    issuerPublicKeySpki: input.issuerPublicKeySpki,
  });
  return sequence(
    VERSION_V3,
    serial,
    signatureAlgorithmDer(input.signatureAlgorithm),
    input.issuerName,
    validity,
    subject,
    input.subjectPublicKeySpki,
    tlv(0xa3, sequence(...extensions.map((extension) => extension.der))),
  );
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (§4.1.1). The TBS bytes are copied unchanged; `signatureValue` is what Signer.sign returned.
 */
export function assembleCertificate(tbsDer: Uint8Array, issuerAlgorithm: KeyAlgorithm, signatureValue: Uint8Array): Uint8Array {
  checkDer(tbsDer, 'malformedCertificate', 'TBSCertificate');
  return sequence(tbsDer, signatureAlgorithmDer(issuerAlgorithm), bitString(signatureValue));
}

/** Signs the TBS with the issuer's Signer and returns the DER certificate. */
export async function signTbs(tbsDer: Uint8Array, signer: Signer): Promise<Uint8Array> {
  const signatureValue = await signer.sign(tbsDer);
  return assembleCertificate(tbsDer, signer.algorithm, signatureValue);
}
