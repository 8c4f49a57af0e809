import * as asn1js from 'asn1js';
import { CaError } from '../errors.js';
import { parseAsn1 } from './asn1.js';
import { contextConstructed, contextPrimitive, DerReader, TAG, type DerElement } from './der-reader.js';

/**
 * A TBSCertificate split into its fields, keeping the exact DER of each (RFC 5280 §4.1.2).
 * Two readers fill it: `parseTbs`, strict DER over the bytes about to be signed (lint, the hot
 * path), and `parseCertificate`, asn1js over whole certificates loaded from elsewhere (inspect),
 * which stays as tolerant as it always was. Tests show both agree on what e-imza issues.
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

/** The byte fields are views into the parsed DER from `parseTbs`, copies from `parseCertificate`. */
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

// ---- strict DER reader (lint) ------------------------------------------------------------------

function digits(text: string, from: number, count: number): number {
  return Number(text.slice(from, from + count));
}

/**
 * §4.1.2.5.1 and §4.1.2.5.2: UTCTime YYMMDDHHMMSSZ (YY ≥ 50 is 19YY) and GeneralizedTime
 * YYYYMMDDHHMMSSZ, seconds present, no fractions, a real calendar date.
 */
function readTime(reader: DerReader, element: DerElement | undefined): ParsedTime {
  const utc = element?.tag === TAG.utcTime;
  if (!element || (!utc && element.tag !== TAG.generalizedTime)) throw malformed('validity time is neither UTCTime nor GeneralizedTime');
  const text = reader.text(element);
  if (!(utc ? /^[0-9]{12}Z$/ : /^[0-9]{14}Z$/).test(text)) throw malformed(`validity time ${JSON.stringify(text)} is not in the DER form`);
  const short = digits(text, 0, 2);
  const year = utc ? (short >= 50 ? 1900 + short : 2000 + short) : digits(text, 0, 4);
  const at = utc ? 2 : 4;
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((k) => digits(text, at + k, 2)) as [number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw malformed(`validity time ${text} is not a valid date`);
  }
  return { date, encoding: utc ? 'UTCTime' : 'GeneralizedTime' };
}

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (§4.1). */
function readExtension(reader: DerReader, element: DerElement): ParsedExtension {
  const parts = element.tag === TAG.sequence ? reader.children(element) : [];
  const [id, flag, value] = parts.length === 2 ? [parts[0], undefined, parts[1]] : parts;
  if (id?.tag !== TAG.oid || value?.tag !== TAG.octetString || parts.length > 3 || parts.length < 2) {
    throw malformed('an extension does not have the RFC 5280 structure');
  }
  if (flag !== undefined && flag.tag !== TAG.boolean) throw malformed('extension critical flag is not a BOOLEAN');
  const critical = flag !== undefined && reader.boolean(flag);
  // X.690 §11.5: a DEFAULT value is never encoded, so an explicit FALSE is not DER.
  if (flag !== undefined && !critical) throw malformed('extension critical flag FALSE is encoded (DER omits the default)');
  return { oid: reader.oid(id), critical, value: reader.content(value) };
}

function readExtensions(reader: DerReader, element: DerElement): ParsedExtension[] {
  const [list, ...rest] = reader.children(element);
  if (list?.tag !== TAG.sequence || rest.length > 0) throw malformed('extensions are not [3] EXPLICIT SEQUENCE');
  return reader.children(list).map((extension) => readExtension(reader, extension));
}

/**
 * The TBS about to be signed, read as strict DER (der-reader.ts): the fields are views into
 * `tbsDer`, not copies. issuerUniqueID [1] and subjectUniqueID [2] are skipped (§4.1.2.8: CAs
 * must not generate them); anything else after subjectPublicKeyInfo but [3] is malformed.
 */
export function parseTbs(tbsDer: Uint8Array): ParsedTbs {
  const reader = new DerReader(tbsDer, 'malformedCertificate', 'TBSCertificate');
  const tbs = reader.root(true);
  if (tbs.tag !== TAG.sequence) throw malformed('TBSCertificate is not a SEQUENCE');
  const fields = reader.children(tbs);
  let next = 0;
  let version = 0;
  if (fields[0]?.tag === contextConstructed(0)) {
    const [versionInteger, ...rest] = reader.children(fields[0]);
    if (versionInteger?.tag !== TAG.integer || rest.length > 0) throw malformed('version is not an INTEGER');
    version = reader.smallInteger(versionInteger);
    next = 1;
  }
  const [serial, signature, issuer, validity, subject, spki] = fields.slice(next, next + 6);
  const times = validity?.tag === TAG.sequence ? reader.children(validity) : [];
  if (
    serial?.tag !== TAG.integer ||
    signature?.tag !== TAG.sequence ||
    issuer?.tag !== TAG.sequence ||
    subject?.tag !== TAG.sequence ||
    spki?.tag !== TAG.sequence ||
    times.length !== 2
  ) {
    throw malformed('TBSCertificate does not have the RFC 5280 structure');
  }
  next += 6;
  if (fields[next]?.tag === contextPrimitive(1)) next++;
  if (fields[next]?.tag === contextPrimitive(2)) next++;
  const extensions = fields[next]?.tag === contextConstructed(3) ? readExtensions(reader, fields[next++]!) : [];
  if (next !== fields.length) throw malformed('TBSCertificate has fields after its extensions');
  return {
    version,
    serialOctets: reader.content(serial),
    signatureAlgorithm: reader.raw(signature),
    issuer: reader.raw(issuer),
    notBefore: readTime(reader, times[0]),
    notAfter: readTime(reader, times[1]),
    subject: reader.raw(subject),
    subjectPublicKeySpki: reader.raw(spki),
    extensions,
  };
}

// ---- asn1js reader (inspect) ---------------------------------------------------------------------

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
