import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import { parseAsn1 } from './asn1.js';

/**
 * A TBSCertificate split into its fields, keeping the exact DER of each (RFC 5280 §4.1.2).
 * Shared by inspect (whole certificates) and lint (the bytes about to be signed).
 */

export interface ParsedTime {
  date: Date;
  encoding: 'UTCTime' | 'GeneralizedTime';
}

export interface ParsedExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING contents: the DER of the extension's own value. */
  value: Uint8Array;
}

export interface ParsedTbs {
  /** 0 = v1, 2 = v3. */
  version: number;
  /** The INTEGER contents octets, two's complement, as encoded. */
  serialOctets: Uint8Array;
  signatureAlgorithm: Uint8Array;
  issuer: Uint8Array;
  notBefore: ParsedTime;
  notAfter: ParsedTime;
  subject: Uint8Array;
  subjectPublicKeySpki: Uint8Array;
  extensions: ParsedExtension[];
}

function malformed(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedCertificate' });
}

function raw(element: asn1js.AsnType): Uint8Array {
  return new Uint8Array(element.valueBeforeDecodeView);
}

function isContextTag(element: asn1js.AsnType | undefined, tagNumber: number): element is asn1js.Constructed {
  return element instanceof asn1js.Constructed && element.idBlock.tagClass === 3 && element.idBlock.tagNumber === tagNumber;
}

function parseTime(element: asn1js.AsnType | undefined): ParsedTime {
  // GeneralizedTime extends UTCTime in asn1js, so it is tested first.
  if (element instanceof asn1js.GeneralizedTime) return { date: element.toDate(), encoding: 'GeneralizedTime' };
  if (element instanceof asn1js.UTCTime) return { date: element.toDate(), encoding: 'UTCTime' };
  throw malformed('validity time is neither UTCTime nor GeneralizedTime');
}

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (§4.1). */
function parseExtension(element: asn1js.AsnType): ParsedExtension {
  const parts = element instanceof asn1js.Sequence ? element.valueBlock.value : [];
  const [oid] = parts;
  const critical = parts.length === 3 ? parts[1] : undefined;
  const value = parts[parts.length - 1];
  if (!(oid instanceof asn1js.ObjectIdentifier) || !(value instanceof asn1js.OctetString) || parts.length > 3) {
    throw malformed('an extension does not have the RFC 5280 structure');
  }
  if (critical !== undefined && !(critical instanceof asn1js.Boolean)) throw malformed('extension critical flag is not a BOOLEAN');
  return { oid: oid.valueBlock.toString(), critical: critical?.getValue() ?? false, value: new Uint8Array(value.valueBlock.valueHexView) };
}

function parseExtensions(element: asn1js.AsnType | undefined): ParsedExtension[] {
  if (element === undefined) return [];
  const [list] = isContextTag(element, 3) ? element.valueBlock.value : [];
  if (!(list instanceof asn1js.Sequence)) throw malformed('extensions are not [3] EXPLICIT SEQUENCE');
  return list.valueBlock.value.map(parseExtension);
}

export function parseTbsElement(tbs: asn1js.AsnType): ParsedTbs {
  if (!(tbs instanceof asn1js.Sequence)) throw malformed('TBSCertificate is not a SEQUENCE');
  const fields = [...tbs.valueBlock.value];
  let version = 0;
  const explicitVersion = fields[0];
  if (isContextTag(explicitVersion, 0)) {
    const [versionInteger] = explicitVersion.valueBlock.value;
    if (!(versionInteger instanceof asn1js.Integer)) throw malformed('version is not an INTEGER');
    version = versionInteger.valueBlock.valueDec;
    fields.shift();
  }
  const [serial, signature, issuer, validity, subject, spki, ...rest] = fields;
  const times = validity instanceof asn1js.Sequence ? validity.valueBlock.value : [];
  if (
    !(serial instanceof asn1js.Integer) ||
    !(signature instanceof asn1js.Sequence) ||
    !(issuer instanceof asn1js.Sequence) ||
    !(subject instanceof asn1js.Sequence) ||
    !(spki instanceof asn1js.Sequence) ||
    times.length !== 2
  ) {
    throw malformed('TBSCertificate does not have the RFC 5280 structure');
  }
  // issuerUniqueID [1] and subjectUniqueID [2] are skipped (§4.1.2.8: CAs must not generate them).
  const extensions = rest.find((element) => isContextTag(element, 3));
  return {
    version,
    serialOctets: new Uint8Array(serial.valueBlock.valueHexView),
    signatureAlgorithm: raw(signature),
    issuer: raw(issuer),
    notBefore: parseTime(times[0]),
    notAfter: parseTime(times[1]),
    subject: raw(subject),
    subjectPublicKeySpki: raw(spki),
    extensions: parseExtensions(extensions),
  };
}

export function parseTbs(tbsDer: Uint8Array): ParsedTbs {
  return parseTbsElement(parseAsn1(tbsDer, 'TBSCertificate', 'malformedCertificate'));
}

export interface ParsedCertificate {
  tbsDer: Uint8Array;
  tbs: ParsedTbs;
  signatureAlgorithm: Uint8Array;
  signatureValue: Uint8Array;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (§4.1.1). */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const certificate = parseAsn1(der, 'certificate', 'malformedCertificate');
  const [tbs, algorithm, signature] = certificate instanceof asn1js.Sequence ? certificate.valueBlock.value : [];
  if (!tbs || !(algorithm instanceof asn1js.Sequence) || !(signature instanceof asn1js.BitString)) {
    throw malformed('certificate does not have the RFC 5280 structure');
  }
  return {
    tbsDer: raw(tbs),
    tbs: parseTbsElement(tbs),
    signatureAlgorithm: raw(algorithm),
    signatureValue: new Uint8Array(signature.valueBlock.valueHexView),
  };
}
