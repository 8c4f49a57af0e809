import * as asn1js from 'asn1js';
import { AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtKeyUsage } from 'pkijs';
import type { KeyUsageBit } from '../domain/certificateSpec.js';
import type { PublicKeyDescription } from '../domain/public-key.js';
import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import { digest, parseAsn1, toArrayBuffer, toHex } from './asn1.js';
import { decodeKeyUsage } from './key-usage.js';
import { decodeName, formatName } from './names.js';
import { EXTENSION_OIDS, NAME_ATTRIBUTE_OIDS } from './oids.js';
import { describePublicKey } from './public-key.js';
import { parseCertificate, type ParsedExtension } from './tbs.js';

/** What a certificate says, for display and for loading CA certificates (RFC 5280 §4.1, §4.2). */
export interface CertificateInfo {
  serial: Serial;
  /** One-line names, see formatName. */
  subject: string;
  issuer: string;
  /** The exact DER Names: the subject of a CA certificate is the issuerName of what it signs. */
  subjectNameDer: Uint8Array;
  issuerNameDer: Uint8Array;
  /** The subject's (first) CN, when it has one. */
  subjectCommonName?: string;
  notBefore: Date;
  notAfter: Date;
  subjectPublicKeySpki: Uint8Array;
  publicKey: PublicKeyDescription;
  signatureAlgorithmOid: string;
  keyUsage: KeyUsageBit[];
  /** Dotted OIDs; empty when the extension is absent. */
  extendedKeyUsage: string[];
  isCa: boolean;
  pathLength?: number;
  /** Dotted policy OIDs; empty when the extension is absent. */
  policies: string[];
  /** Lowercase hex. */
  subjectKeyId?: string;
  authorityKeyId?: string;
  /** Lowercase hex SHA-256 of the DER certificate. */
  sha256Fingerprint: string;
  /** The exact signed TBSCertificate bytes. */
  tbsDer: Uint8Array;
}

function extensionValue(extensions: ParsedExtension[], oid: string): ArrayBuffer | undefined {
  const found = extensions.find((extension) => extension.oid === oid);
  return found && toArrayBuffer(found.value);
}

/** Canonical Serial form (lowercase hex, no leading zeros) of INTEGER contents octets. */
export function serialFromOctets(octets: Uint8Array): Serial {
  return (toHex(octets).replace(/^0+(?=.)/, '') || '0') as Serial;
}

function algorithmOid(algorithmIdentifierDer: Uint8Array): string {
  const algorithm = parseAsn1(algorithmIdentifierDer, 'AlgorithmIdentifier', 'malformedCertificate');
  const [oid] = algorithm instanceof asn1js.Sequence ? algorithm.valueBlock.value : [];
  if (!(oid instanceof asn1js.ObjectIdentifier)) {
    throw new CaError('malformed', 'AlgorithmIdentifier has no OID', { code: 'malformedCertificate' });
  }
  return oid.valueBlock.toString();
}

function decodeExtensions(extensions: ParsedExtension[]) {
  const keyUsage = extensions.find((extension) => extension.oid === EXTENSION_OIDS.keyUsage);
  const eku = extensionValue(extensions, EXTENSION_OIDS.extKeyUsage);
  const basic = extensionValue(extensions, EXTENSION_OIDS.basicConstraints);
  const policies = extensionValue(extensions, EXTENSION_OIDS.certificatePolicies);
  const ski = extensionValue(extensions, EXTENSION_OIDS.subjectKeyIdentifier);
  const aki = extensionValue(extensions, EXTENSION_OIDS.authorityKeyIdentifier);
  const constraints = basic ? BasicConstraints.fromBER(basic) : undefined;
  const pathLength = constraints?.pathLenConstraint;
  const authorityKeyId = aki ? AuthorityKeyIdentifier.fromBER(aki).keyIdentifier : undefined;
  const subjectKeyId = ski ? asn1js.fromBER(ski).result : undefined;
  return {
    keyUsage: keyUsage ? decodeKeyUsage(keyUsage.value) : [],
    extendedKeyUsage: eku ? ExtKeyUsage.fromBER(eku).keyPurposes : [],
    isCa: constraints?.cA ?? false,
    ...(constraints?.cA && pathLength !== undefined
      ? { pathLength: typeof pathLength === 'number' ? pathLength : pathLength.valueBlock.valueDec }
      : {}),
    policies: policies ? CertificatePolicies.fromBER(policies).certificatePolicies.map((p) => p.policyIdentifier) : [],
    ...(subjectKeyId instanceof asn1js.OctetString ? { subjectKeyId: toHex(subjectKeyId.valueBlock.valueHexView) } : {}),
    ...(authorityKeyId ? { authorityKeyId: toHex(authorityKeyId.valueBlock.valueHexView) } : {}),
  };
}

/** Parses a DER certificate; anything undecodable is `malformed` (`malformedCertificate`). */
export function inspectCertificate(der: Uint8Array): CertificateInfo {
  const { tbs, tbsDer, signatureAlgorithm } = parseCertificate(der);
  const commonName = decodeName(tbs.subject).find((attribute) => attribute.type === NAME_ATTRIBUTE_OIDS.CN);
  let extensions: ReturnType<typeof decodeExtensions>;
  try {
    extensions = decodeExtensions(tbs.extensions);
  } catch (cause) {
    if (cause instanceof CaError) throw cause;
    throw new CaError('malformed', 'a certificate extension cannot be decoded', { code: 'malformedCertificate', cause });
  }
  return {
    serial: serialFromOctets(tbs.serialOctets),
    subject: formatName(tbs.subject),
    issuer: formatName(tbs.issuer),
    subjectNameDer: tbs.subject,
    issuerNameDer: tbs.issuer,
    ...(commonName ? { subjectCommonName: commonName.value } : {}),
    notBefore: tbs.notBefore.date,
    notAfter: tbs.notAfter.date,
    subjectPublicKeySpki: tbs.subjectPublicKeySpki,
    publicKey: describePublicKey(tbs.subjectPublicKeySpki),
    signatureAlgorithmOid: algorithmOid(signatureAlgorithm),
    ...extensions,
    sha256Fingerprint: toHex(digest('sha256', der)),
    tbsDer,
  };
}
