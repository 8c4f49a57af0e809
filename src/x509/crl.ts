import { REVOCATION_REASON_BY_CODE, REVOCATION_REASON_CODES, type RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { bytesEqual } from './asn1.js';
import { contextConstructed, contextPrimitive, DerReader, TAG, type DerElement } from './der-reader.js';
import { asciiString, bitString, DER_TRUE, integerFromOctets, octetString, oid, sequence, time, tlv } from './der-writer.js';
import { issuerKeyIdentifier } from './extensions-der.js';
import { ia5 } from './extensions.js';
import { serialFromOctets } from './inspect.js';
import { signatureAlgorithmDer } from './public-key.js';

/**
 * X.509 v2 CRLs (RFC 5280 §5), full and delta, written with the DER writer. A CRL may list a
 * million entries, so entries are never built as objects: a first pass checks every entry and
 * adds up its exact length (all lengths follow from the serial's length, the time encodings and
 * which extensions the entry has), then the TBSCertList is written once into one exactly sized
 * buffer. Tests hold the bytes to pkijs and the signatures to OpenSSL and GnuTLS.
 */

export interface CrlEntry {
  serial: Serial;
  revokedAt: Date;
  /**
   * null or 'unspecified' -> no reasonCode extension (§5.3.1: "unspecified" SHOULD NOT be used,
   * the extension is omitted instead). 'certificateHold' for suspended certificates,
   * 'removeFromCRL' only in delta CRLs, for restored ones.
   */
  reason: RevocationReason | null;
  /** §5.3.2, always a GeneralizedTime. */
  invalidityDate: Date | null;
}

export interface CrlInput {
  /** DER Name of the issuing CA: its certificate's subject, byte for byte. */
  issuerName: Uint8Array;
  /** SubjectPublicKeyInfo of the key that signs the CRL, for authorityKeyIdentifier (§5.2.1, method 1 as in certificates). */
  issuerPublicKeySpki: Uint8Array;
  signatureAlgorithm: KeyAlgorithm;
  /** §5.2.3, non-critical; at most 20 octets. */
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Any order; written in the order given. */
  entries: readonly CrlEntry[];
  /** Makes this a delta CRL: deltaCRLIndicator (critical, §5.2.4) = the base CRL number. */
  deltaOf?: bigint;
  /** Full CRLs only: freshestCRL (§5.2.6, non-critical) pointing at the delta CRL URL. */
  freshestCrlUrl?: string;
  /** issuingDistributionPoint (§5.2.5, critical): fullName URI; onlyContainsUserCerts when true. For partitioned CRLs. */
  issuingDistributionPoint?: { url: string; onlyContainsUserCerts?: boolean };
}

export interface CrlInfo {
  crlNumber: bigint;
  deltaOf: bigint | null;
  thisUpdate: Date;
  nextUpdate: Date | null;
  entries: { serial: Serial; revokedAt: Date; reason: RevocationReason | null; invalidityDate: Date | null }[];
  issuerNameDer: Uint8Array;
  idpUrl: string | null;
  freshestCrlUrl: string | null;
}

/** CRL and CRL entry extensions (RFC 5280 §5.2, §5.3). */
const CRL_OIDS = {
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCRLIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCRL: '2.5.29.46',
} as const;

const TAG_ENUMERATED = 0x0a;
// Module constants for the per-entry loop (a property read of TAG each time costs measurably there).
const TAG_INTEGER = TAG.integer;
const TAG_SEQUENCE = TAG.sequence;
/** GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String (§4.2.1.6). */
const TAG_URI = contextPrimitive(6);

/** TBSCertList version: v2 (INTEGER 1, §5.1.2.1), needed for the extensions. */
const VERSION_V2 = Uint8Array.of(TAG.integer, 0x01, 0x01);
const MAX_CRL_NUMBER_OCTETS = 20; // §5.2.3
const MAX_SERIAL_OCTETS = 20; // §4.1.2.2

function internal(detail: string, code: string): CaError {
  return new CaError('internal', detail, { code });
}

function malformed(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedCrl' });
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (§4.1). */
function extension(extnID: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(extnID), DER_TRUE, octetString(value)) : sequence(oid(extnID), octetString(value));
}

/** §5.3.1: one constant Extension per reason; "unspecified" is never written. */
const REASON_EXTENSIONS = new Map<string, Uint8Array>(
  Object.entries(REVOCATION_REASON_CODES)
    .filter(([reason]) => reason !== 'unspecified')
    .map(([reason, code]) => [reason, extension(CRL_OIDS.reasonCode, false, Uint8Array.of(TAG_ENUMERATED, 1, code))]),
);

/**
 * GeneralizedTime YYYYMMDDHHMMSSZ (§4.1.2.5.2) from der-writer's `time`: its UTCTime
 * (1950–2049) gets its century back, anything else already is a GeneralizedTime.
 */
function generalizedTime(date: Date): Uint8Array {
  const encoded = time(date);
  if (encoded[0] !== TAG.utcTime) return encoded;
  const text = Buffer.from(encoded.buffer, encoded.byteOffset + 2, encoded.byteLength - 2).toString('latin1');
  return asciiString(TAG.generalizedTime, (Number(text.slice(0, 2)) >= 50 ? '19' : '20') + text);
}

// Lengths the first pass adds up, taken from the encoders themselves rather than written down.
const UTC_TIME_LENGTH = time(new Date(Date.UTC(2000, 0, 1))).length;
const GENERALIZED_TIME_LENGTH = time(new Date(Date.UTC(2050, 0, 1))).length;
/**
 * §5.3.2: invalidityDate, non-critical, a GeneralizedTime of fixed length: everything before
 * the time is the same for every entry, so it is encoded once and copied.
 */
const INVALIDITY_SAMPLE = extension(CRL_OIDS.invalidityDate, false, generalizedTime(new Date(0)));
const INVALIDITY_EXTENSION_LENGTH = INVALIDITY_SAMPLE.length;
const INVALIDITY_PREFIX = INVALIDITY_SAMPLE.subarray(0, INVALIDITY_EXTENSION_LENGTH - GENERALIZED_TIME_LENGTH);

/**
 * The encoded length of `time(date)`: UTCTime for 1950–2049, GeneralizedTime otherwise, whose
 * four-digit year also bounds what can be encoded at all (years 0–9999).
 */
function timeLength(date: Date, what: string): number {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) throw internal(`CRL ${what} is not a date in the years 0–9999`, 'invalidCrlTime');
  return year >= 1950 && year < 2050 ? UTC_TIME_LENGTH : GENERALIZED_TIME_LENGTH;
}

/** Identifier plus length octets of a TLV with `length` contents octets (X.690 §8.1.3, definite, minimal). */
function headerLength(length: number): number {
  let octets = 1;
  if (length >= 0x80) for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets++;
  return 1 + octets;
}

function writeHeader(target: Uint8Array, offset: number, tag: number, length: number): number {
  target[offset] = tag;
  const count = headerLength(length) - 2;
  if (count === 0) {
    target[offset + 1] = length;
    return offset + 2;
  }
  target[offset + 1] = 0x80 | count;
  for (let k = count, rest = length; k > 0; k--, rest = Math.floor(rest / 256)) target[offset + 1 + k] = rest % 256;
  return offset + 2 + count;
}

function invalidSerial(serial: Serial): CaError {
  return internal(`CRL entry serial ${JSON.stringify(serial)} is not a canonical serial of at most ${MAX_SERIAL_OCTETS} octets`, 'invalidCrlEntry');
}

/**
 * Contents octets of the serial's INTEGER, exactly as certificate.ts encodes them: the
 * magnitude, with a 00 octet in front when its high bit is set (positive, minimal). Whether
 * every character is hex is checked when the octets are written.
 */
function serialContentLength(serial: Serial): number {
  const length = serial.length;
  if (length === 0 || length > 2 * MAX_SERIAL_OCTETS || (length > 1 && serial.charCodeAt(0) === 0x30)) throw invalidSerial(serial);
  return ((length + 1) >> 1) + (highBitSet(serial) ? 1 : 0);
}

/** An even number of hex digits whose first is 8–f (or 8–F, decoded alike): the magnitude's high bit is set. */
function highBitSet(serial: Serial): boolean {
  const first = serial.charCodeAt(0) | 0x20; // folds A–F onto a–f; '8' and '9' are unchanged
  return serial.length % 2 === 0 && ((first >= 0x38 && first <= 0x39) || (first >= 0x61 && first <= 0x66));
}

/** The reasonCode extension an entry carries, if any (§5.3.1). */
function reasonExtension(entry: CrlEntry): Uint8Array | undefined {
  return entry.reason === null || entry.reason === 'unspecified' ? undefined : REASON_EXTENSIONS.get(entry.reason);
}

function entryExtensionsLength(entry: CrlEntry): number {
  return (reasonExtension(entry)?.length ?? 0) + (entry.invalidityDate === null ? 0 : INVALIDITY_EXTENSION_LENGTH);
}

/** First pass: checks one entry and returns the length of its contents (serial, date, extensions). */
function entryContentLength(entry: CrlEntry, isDelta: boolean): number {
  if (entry.reason !== null && entry.reason !== 'unspecified') {
    if (!REASON_EXTENSIONS.has(entry.reason)) throw internal(`CRL entry reason ${JSON.stringify(entry.reason)} is not an RFC 5280 reason`, 'invalidCrlEntry');
    // §5.3.1: removeFromCRL "may only appear in delta CRLs".
    if (entry.reason === 'removeFromCRL' && !isDelta) throw internal('removeFromCRL belongs in delta CRLs only', 'invalidCrlEntry');
  }
  if (entry.invalidityDate !== null) timeLength(entry.invalidityDate, 'invalidity date');
  const extensions = entryExtensionsLength(entry);
  return 2 + serialContentLength(entry.serial) + timeLength(entry.revokedAt, 'revocation date') + (extensions > 0 ? headerLength(extensions) + extensions : 0);
}

/** Hex digit values by character code; -1 for anything else. */
const HEX_VALUES = Int8Array.from({ length: 128 }, (_, code) => {
  const digit = Number.parseInt(String.fromCharCode(code), 16);
  return Number.isNaN(digit) ? -1 : digit;
});

function hexValue(serial: Serial, index: number): number {
  const code = serial.charCodeAt(index);
  const value = code < 128 ? HEX_VALUES[code]! : -1;
  if (value < 0) throw invalidSerial(serial);
  return value;
}

/** The serial's magnitude octets at `offset` (an odd digit count has an implied leading 0). */
function writeSerialMagnitude(target: Uint8Array, offset: number, serial: Serial): number {
  let at = offset;
  let index = 0;
  if (serial.length % 2 === 1) target[at++] = hexValue(serial, index++);
  while (index < serial.length) target[at++] = (hexValue(serial, index++) << 4) | hexValue(serial, index++);
  return at;
}

/** Second pass: writes one checked entry at `offset`; returns the offset after it. */
function writeEntry(target: Uint8Array, offset: number, entry: CrlEntry, isDelta: boolean): number {
  const contentLength = entryContentLength(entry, isDelta);
  const end = offset + headerLength(contentLength) + contentLength;
  let at = writeHeader(target, offset, TAG_SEQUENCE, contentLength);
  const pad = highBitSet(entry.serial);
  target[at++] = TAG_INTEGER;
  target[at++] = ((entry.serial.length + 1) >> 1) + (pad ? 1 : 0);
  if (pad) target[at++] = 0;
  at = writeSerialMagnitude(target, at, entry.serial);
  const revoked = time(entry.revokedAt);
  target.set(revoked, at);
  at += revoked.length;
  const extensions = entryExtensionsLength(entry);
  if (extensions > 0) {
    at = writeHeader(target, at, TAG_SEQUENCE, extensions);
    const reason = reasonExtension(entry);
    if (reason) {
      target.set(reason, at);
      at += reason.length;
    }
    if (entry.invalidityDate !== null) {
      target.set(INVALIDITY_PREFIX, at);
      at += INVALIDITY_PREFIX.length;
      const invalidity = generalizedTime(entry.invalidityDate);
      target.set(invalidity, at);
      at += invalidity.length;
    }
  }
  if (at !== end) throw internal(`CRL entry ${entry.serial} came out ${at - offset} octets long, not as laid out`, 'crlLayout');
  return at;
}

/** CRLNumber ::= INTEGER (0..MAX) (§5.2.3), also BaseCRLNumber (§5.2.4): positive, minimal. */
function crlNumberDer(value: bigint, what: string): Uint8Array {
  if (typeof value !== 'bigint' || value < 0n) throw internal(`${what} must be a non-negative bigint`, 'invalidCrlNumber');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  if (hex.length / 2 > MAX_CRL_NUMBER_OCTETS) throw internal(`${what} is longer than ${MAX_CRL_NUMBER_OCTETS} octets`, 'invalidCrlNumber');
  return integerFromOctets(Uint8Array.from(Buffer.from(hex, 'hex')));
}

function uri(url: string): Uint8Array {
  return asciiString(TAG_URI, ia5(url, 'CRL URL'));
}

/** DistributionPointName fullName: [0] { [0] GeneralNames { uri } } (§4.2.1.13; [0] is a CHOICE, so explicit). */
function fullNameUri(url: string): Uint8Array {
  return tlv(contextConstructed(0), tlv(contextConstructed(0), uri(url)));
}

/**
 * crlExtensions, [0] EXPLICIT: authorityKeyIdentifier (§5.2.1, the same bytes as in
 * certificates), cRLNumber (§5.2.3), then deltaCRLIndicator (§5.2.4, critical),
 * issuingDistributionPoint (§5.2.5, critical) and freshestCRL (§5.2.6) when asked for.
 */
function crlExtensions(input: CrlInput): Uint8Array {
  const extensions = [issuerKeyIdentifier(input.issuerPublicKeySpki).aki.der, extension(CRL_OIDS.cRLNumber, false, crlNumberDer(input.crlNumber, 'CRL number'))];
  if (input.deltaOf !== undefined) {
    if (input.deltaOf >= input.crlNumber) throw internal('a delta CRL number must be above its base CRL number', 'invalidCrlNumber');
    extensions.push(extension(CRL_OIDS.deltaCRLIndicator, true, crlNumberDer(input.deltaOf, 'base CRL number')));
  }
  const idp = input.issuingDistributionPoint;
  if (idp) {
    // onlyContainsUserCerts [1] IMPLICIT BOOLEAN DEFAULT FALSE: DER omits FALSE.
    const only = idp.onlyContainsUserCerts ? [tlv(contextPrimitive(1), Uint8Array.of(0xff))] : [];
    extensions.push(extension(CRL_OIDS.issuingDistributionPoint, true, sequence(fullNameUri(idp.url), ...only)));
  }
  if (input.freshestCrlUrl !== undefined) {
    // §5.2.6: "This extension MUST NOT appear in delta CRLs."
    if (input.deltaOf !== undefined) throw internal('freshestCRL must not appear in a delta CRL', 'invalidCrlExtensions');
    extensions.push(extension(CRL_OIDS.freshestCRL, false, sequence(sequence(fullNameUri(input.freshestCrlUrl)))));
  }
  return tlv(contextConstructed(0), sequence(...extensions));
}

/** The issuer Name is copied, never re-encoded: it must be one strict-DER SEQUENCE of RDN SETs. */
function checkIssuerName(issuerName: Uint8Array): void {
  const reader = new DerReader(issuerName, 'malformedName', 'issuer Name');
  const name = reader.root(true);
  if (name.tag !== TAG.sequence || reader.children(name).some((rdn) => rdn.tag !== TAG.set)) {
    throw new CaError('malformed', 'issuer Name is not a SEQUENCE of RDN SETs', { code: 'malformedName' });
  }
}

/**
 * TBSCertList (§5.1.2): v2, the signature algorithm of certificates for that key, issuer,
 * thisUpdate, nextUpdate, revokedCertificates (omitted when empty, §5.1.2.6), crlExtensions.
 */
export function buildTbsCertList(input: CrlInput): Uint8Array {
  checkIssuerName(input.issuerName);
  timeLength(input.thisUpdate, 'thisUpdate');
  timeLength(input.nextUpdate, 'nextUpdate');
  if (input.nextUpdate.getTime() <= input.thisUpdate.getTime()) throw internal('CRL nextUpdate must be after thisUpdate', 'invalidCrlTime');
  const head = [VERSION_V2, signatureAlgorithmDer(input.signatureAlgorithm), input.issuerName, time(input.thisUpdate), time(input.nextUpdate)];
  const extensions = crlExtensions(input);
  const isDelta = input.deltaOf !== undefined;

  let entriesLength = 0;
  for (const entry of input.entries) {
    const entryLength = entryContentLength(entry, isDelta);
    entriesLength += headerLength(entryLength) + entryLength;
  }
  const revokedLength = input.entries.length > 0 ? headerLength(entriesLength) + entriesLength : 0;
  let contentLength = revokedLength + extensions.length;
  for (const part of head) contentLength += part.length;

  const out = new Uint8Array(headerLength(contentLength) + contentLength);
  let at = writeHeader(out, 0, TAG.sequence, contentLength);
  for (const part of head) {
    out.set(part, at);
    at += part.length;
  }
  if (input.entries.length > 0) {
    at = writeHeader(out, at, TAG.sequence, entriesLength);
    for (const entry of input.entries) at = writeEntry(out, at, entry, isDelta);
  }
  out.set(extensions, at);
  if (at + extensions.length !== out.length) throw internal('TBSCertList came out shorter than laid out', 'crlLayout');
  return out;
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 * (§5.1.1). The TBS is copied unchanged (checked to be one SEQUENCE, not walked: it may hold a
 * million entries); `signature` is what Signer.sign returned.
 */
export function assembleCrl(tbs: Uint8Array, algorithm: KeyAlgorithm, signature: Uint8Array): Uint8Array {
  const reader = new DerReader(tbs, 'malformedCrl', 'TBSCertList');
  if (reader.root().tag !== TAG.sequence) throw internal('TBSCertList is not a SEQUENCE', 'malformedCrl');
  return sequence(tbs, signatureAlgorithmDer(algorithm), bitString(signature));
}

/**
 * Builds, signs and assembles a CRL. The signer must be the key the CRL names (§5.2.1: the AKI
 * identifies the key that signs the CRL) and sign with the algorithm the CRL declares.
 */
export async function signCrl(input: CrlInput, signer: Signer): Promise<Uint8Array> {
  if (signatureAlgorithmDer(signer.algorithm) !== signatureAlgorithmDer(input.signatureAlgorithm)) {
    throw internal('the signer key algorithm is not the CRL signature algorithm', 'crlSignerMismatch');
  }
  if (!bytesEqual(signer.publicKeySpki, input.issuerPublicKeySpki)) {
    throw internal('the signer key is not the key named in the CRL', 'crlSignerMismatch');
  }
  const tbs = buildTbsCertList(input);
  return assembleCrl(tbs, input.signatureAlgorithm, await signer.sign(tbs));
}

// ---- reading --------------------------------------------------------------------------------------

const TIME_FORMS = { [TAG.utcTime]: /^[0-9]{12}Z$/, [TAG.generalizedTime]: /^[0-9]{14}Z$/ } as Record<number, RegExp>;

/** §5.1.2.4 and §4.1.2.5: UTCTime (YY ≥ 50 is 19YY) or GeneralizedTime, whole seconds, Z. */
function readTime(reader: DerReader, element: DerElement | undefined, what: string): Date {
  const form = element && TIME_FORMS[element.tag];
  const text = form && element ? reader.text(element) : '';
  if (!form || !form.test(text)) throw malformed(`CRL ${what} is not a UTCTime or GeneralizedTime in DER form`);
  const utc = text.length === 13;
  const short = Number(text.slice(0, 2));
  const year = utc ? (short >= 50 ? 1900 + short : 2000 + short) : Number(text.slice(0, 4));
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((k) => Number(text.slice((utc ? 2 : 4) + k, (utc ? 4 : 6) + k))) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw malformed(`CRL ${what} ${text} is not a valid date`);
  }
  return date;
}

interface ReadExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING element. */
  value: DerElement;
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (§4.1). */
function readExtensions(reader: DerReader, list: DerElement): ReadExtension[] {
  return reader.children(reader.expect(list, TAG.sequence, 'Extensions')).map((element) => {
    const parts = element.tag === TAG.sequence ? reader.children(element) : [];
    const [id, flag, value] = parts.length === 2 ? [parts[0], undefined, parts[1]] : parts;
    if (id?.tag !== TAG.oid || value?.tag !== TAG.octetString || parts.length < 2 || parts.length > 3 || (flag && flag.tag !== TAG.boolean)) {
      throw malformed('a CRL extension does not have the RFC 5280 structure');
    }
    return { oid: reader.oid(id), critical: flag !== undefined && reader.boolean(flag), value };
  });
}

/** The element the extnValue OCTET STRING holds, which must fill it. */
function extensionValue(reader: DerReader, extension: ReadExtension): DerElement {
  const inner = reader.elementAt(extension.value.contentStart, extension.value.end);
  if (inner.end !== extension.value.end) throw malformed(`CRL extension ${extension.oid} has bytes after its value`);
  return inner;
}

function readUnsigned(reader: DerReader, element: DerElement, what: string): bigint {
  const content = reader.content(reader.expect(element, TAG.integer, what));
  if (content.length === 0 || content[0]! & 0x80) throw malformed(`${what} is not a non-negative INTEGER`);
  return BigInt(`0x${Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('hex')}`);
}

/** The first URI of a DistributionPointName's fullName ([0] { [0] GeneralNames }), or null. */
function readFullNameUri(reader: DerReader, distributionPoint: DerElement | undefined): string | null {
  if (distributionPoint?.tag !== contextConstructed(0)) return null;
  const [fullName] = reader.children(distributionPoint);
  if (fullName?.tag !== contextConstructed(0)) return null;
  const name = reader.children(fullName).find((generalName) => generalName.tag === TAG_URI);
  return name ? reader.text(name) : null;
}

function readEntry(reader: DerReader, element: DerElement): CrlInfo['entries'][number] {
  const [serial, revoked, extensions, ...rest] = reader.children(reader.expect(element, TAG.sequence, 'revokedCertificates entry'));
  if (rest.length > 0) throw malformed('a CRL entry has more than three fields');
  const entry: CrlInfo['entries'][number] = {
    serial: serialFromOctets(reader.content(reader.expect(serial, TAG.integer, 'userCertificate'))),
    revokedAt: readTime(reader, revoked, 'revocationDate'),
    reason: null,
    invalidityDate: null,
  };
  for (const extension of extensions ? readExtensions(reader, extensions) : []) {
    if (extension.oid === CRL_OIDS.reasonCode) {
      const value = reader.expect(extensionValue(reader, extension), TAG_ENUMERATED, 'CRLReason');
      const code = reader.content(value);
      const reason = code.length === 1 ? REVOCATION_REASON_BY_CODE.get(code[0]!) : undefined;
      if (!reason) throw malformed(`CRL entry ${entry.serial} has an unknown reason code`);
      entry.reason = reason;
    } else if (extension.oid === CRL_OIDS.invalidityDate) {
      const value = reader.expect(extensionValue(reader, extension), TAG.generalizedTime, 'invalidityDate');
      entry.invalidityDate = readTime(reader, value, 'invalidityDate');
    }
  }
  return entry;
}

/**
 * What a DER CRL says (§5.1): numbers, times, entries, issuer Name, IDP and freshestCRL URLs.
 * Reads structure only; the signature is not checked here.
 */
export function inspectCrl(der: Uint8Array): CrlInfo {
  const reader = new DerReader(der, 'malformedCrl', 'CRL');
  const [tbs, algorithm, signature, ...extra] = reader.children(reader.expect(reader.root(), TAG.sequence, 'CertificateList'));
  reader.expect(algorithm, TAG.sequence, 'signatureAlgorithm');
  reader.expect(signature, TAG.bitString, 'signatureValue');
  if (extra.length > 0) throw malformed('CertificateList has more than three fields');
  const fields = reader.children(reader.expect(tbs, TAG.sequence, 'TBSCertList'));
  let next = 0;
  if (fields[next]?.tag === TAG.integer) {
    if (reader.smallInteger(fields[next]!) !== 1) throw malformed('CRL version is not v2');
    next++;
  }
  reader.expect(fields[next++], TAG.sequence, 'signature');
  const issuer = reader.expect(fields[next++], TAG.sequence, 'issuer');
  const thisUpdate = readTime(reader, fields[next++], 'thisUpdate');
  const nextField = fields[next];
  const nextUpdate = nextField && (nextField.tag === TAG.utcTime || nextField.tag === TAG.generalizedTime) ? readTime(reader, fields[next++], 'nextUpdate') : null;
  const entries: CrlInfo['entries'] = [];
  if (fields[next]?.tag === TAG.sequence) {
    const list = fields[next++]!;
    for (let offset = list.contentStart; offset < list.end; ) {
      const element = reader.elementAt(offset, list.end);
      entries.push(readEntry(reader, element));
      offset = element.end;
    }
  }
  const info: CrlInfo = { crlNumber: -1n, deltaOf: null, thisUpdate, nextUpdate, entries, issuerNameDer: reader.copy(issuer), idpUrl: null, freshestCrlUrl: null };
  const wrapper = fields[next];
  if (wrapper) {
    if (wrapper.tag !== contextConstructed(0) || next !== fields.length - 1) throw malformed('TBSCertList has unexpected fields after its entries');
    const [list, ...more] = reader.children(wrapper);
    if (!list || more.length > 0) throw malformed('crlExtensions are not [0] EXPLICIT Extensions');
    for (const extension of readExtensions(reader, list)) {
      if (extension.oid === CRL_OIDS.cRLNumber) info.crlNumber = readUnsigned(reader, extensionValue(reader, extension), 'cRLNumber');
      else if (extension.oid === CRL_OIDS.deltaCRLIndicator) info.deltaOf = readUnsigned(reader, extensionValue(reader, extension), 'BaseCRLNumber');
      else if (extension.oid === CRL_OIDS.issuingDistributionPoint) {
        const [point] = reader.children(reader.expect(extensionValue(reader, extension), TAG.sequence, 'IssuingDistributionPoint'));
        info.idpUrl = readFullNameUri(reader, point);
      } else if (extension.oid === CRL_OIDS.freshestCRL) {
        const [point] = reader.children(reader.expect(extensionValue(reader, extension), TAG.sequence, 'FreshestCRL'));
        const [name] = point ? reader.children(reader.expect(point, TAG.sequence, 'DistributionPoint')) : [];
        info.freshestCrlUrl = readFullNameUri(reader, name);
      }
    }
  }
  if (info.crlNumber < 0n) throw malformed('CRL has no CRL number (RFC 5280 §5.2.3)');
  return info;
}
