import type { Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import { contextConstructed, DerReader, TAG, type DerElement } from './der-reader.js';
import { asciiString, bitString, integer, oid, sequence, tlv, utf8String } from './der-writer.js';
import { serialFromOctets } from './inspect.js';
import { formatName } from './names.js';
import {
  PKI_FAILURE_BITS,
  PKI_FAILURE_INFO,
  PKI_STATUSES,
  type AlgorithmId,
  type CmpGeneralName,
  type CmpName,
  type InfoTypeAndValue,
  type PkiFailureInfo,
  type PkiStatus,
  type PkiStatusInfo,
} from './cmp-types.js';

/**
 * The DER pieces CMP and CRMF share (RFC 4210 App. F, RFC 4211 App. B): GeneralName, PKIFreeText,
 * PKIStatusInfo, InfoTypeAndValue, times, serials, and a field cursor for SEQUENCEs with
 * OPTIONAL tagged members. Every read failure is `malformed`/`badCmpMessage`.
 */

export const CMP_CODE = 'badCmpMessage';

/** Lists in a message (requests, certificates, InfoTypeAndValues, strings) are bounded: each may cost a signature check. */
export const MAX_CMP_LIST = 32;

export function badMessage(detail: string, cause?: unknown): CaError {
  return new CaError('malformed', detail, { code: CMP_CODE, cause });
}

/**
 * Turns anything a parser threw into `badCmpMessage`, keeping the detail: the readers of names and
 * keys fail with their own codes (malformedName …), and nothing unexpected may escape as a crash.
 * Errors about content rather than encoding (badCsr, badPublicKey) pass unchanged.
 */
export function asBadMessage(e: unknown): CaError {
  if (isCaError(e) && (e.kind !== 'malformed' || e.code === CMP_CODE)) return e;
  return badMessage(isCaError(e) ? e.detail : 'the CMP message cannot be decoded', e);
}

// ---- a cursor over the members of a SEQUENCE -------------------------------------------------

export class Fields {
  private at = 0;
  readonly items: DerElement[];

  constructor(
    readonly reader: DerReader,
    element: DerElement,
    private readonly what: string,
  ) {
    this.items = reader.children(element);
  }

  /** The next member, whatever its tag (CHOICEs, ANY). */
  any(what: string): DerElement {
    const item = this.items[this.at++];
    if (!item) throw badMessage(`${this.what}: ${what} missing`);
    return item;
  }

  next(tag: number, what: string): DerElement {
    return this.reader.expect(this.items[this.at++], tag, `${this.what} ${what}`);
  }

  optional(tag: number): DerElement | undefined {
    return this.items[this.at]?.tag === tag ? this.items[this.at++] : undefined;
  }

  /** `[n] EXPLICIT T OPTIONAL`: the one element inside the tag, or undefined. */
  explicit(n: number, what: string): DerElement | undefined {
    const tagged = this.optional(contextConstructed(n));
    return tagged && only(this.reader, tagged, what);
  }

  /** The tag of the next member, undefined at the end. */
  peek(): number | undefined {
    return this.items[this.at]?.tag;
  }

  get left(): number {
    return this.items.length - this.at;
  }

  end(): void {
    if (this.at < this.items.length) throw badMessage(`${this.what} has unexpected elements`);
  }
}

/** The single element inside a constructed (EXPLICIT) element. */
export function only(reader: DerReader, element: DerElement, what: string): DerElement {
  const [inner, ...rest] = reader.children(element);
  if (!inner || rest.length > 0) throw badMessage(`${what} is not exactly one element`);
  return inner;
}

/** SEQUENCE OF, 1 to MAX_CMP_LIST members unless `allowEmpty`. */
export function listOf(reader: DerReader, element: DerElement | undefined, what: string, allowEmpty = false): DerElement[] {
  const items = reader.children(reader.expect(element, TAG.sequence, what));
  if (items.length === 0 && !allowEmpty) throw badMessage(`${what} is empty`);
  if (items.length > MAX_CMP_LIST) throw badMessage(`${what} has more than ${MAX_CMP_LIST} elements`);
  return items;
}

// ---- simple types ----------------------------------------------------------------------------

export function octets(reader: DerReader, element: DerElement | undefined, what: string): Uint8Array {
  return new Uint8Array(reader.content(reader.expect(element, TAG.octetString, what)));
}

/** A small INTEGER (certReqId, errorCode, iteration counts): at most 6 octets, as DerReader.smallInteger. */
export function smallInt(reader: DerReader, element: DerElement | undefined, what: string): number {
  return reader.smallInteger(reader.expect(element, TAG.integer, what));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String (§5.1.1). */
export function freeTextOf(reader: DerReader, element: DerElement | undefined, what: string): string[] {
  return listOf(reader, element, what).map((item) => {
    try {
      return strictUtf8.decode(reader.content(reader.expect(item, TAG.utf8String, `${what} UTF8String`)));
    } catch (e) {
      throw isCaError(e) ? e : badMessage(`${what} is not valid UTF-8`);
    }
  });
}

export function freeText(strings: readonly string[]): Uint8Array {
  return sequence(...strings.map(utf8String));
}

/** CertificateSerialNumber (RFC 5280 §4.1.2.2): positive, minimal, at most 20 octets. */
export function serialOf(reader: DerReader, element: DerElement, what: string): Serial {
  const value = reader.content(element);
  const [first, second = 0] = value;
  if (first === undefined || first & 0x80) throw badMessage(`${what} is not a positive INTEGER`);
  if (first === 0 && value.length > 1 && !(second & 0x80)) throw badMessage(`${what} is not minimally encoded`);
  if (value.length - (first === 0 ? 1 : 0) > 20) throw badMessage(`${what} is longer than 20 octets`);
  return serialFromOctets(value);
}

/** AlgorithmIdentifier: the OID, the parameters' DER, the whole DER. */
export function algorithmOf(reader: DerReader, element: DerElement | undefined, what: string): AlgorithmId {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, what), what);
  const id = reader.oid(fields.next(TAG.oid, 'algorithm'));
  const parameters = fields.left > 0 ? reader.copy(fields.any('parameters')) : null;
  fields.end();
  return { oid: id, parameters, der: reader.copy(element!) };
}

/** An AlgorithmIdentifier given as its own DER (parameters of parameters, re-tagged members). */
export function algorithmFromDer(der: Uint8Array, what: string): AlgorithmId {
  const reader = new DerReader(der, CMP_CODE, what);
  return algorithmOf(reader, reader.root(), what);
}

/** InfoTypeAndValue / AttributeTypeAndValue: { OBJECT IDENTIFIER, ANY OPTIONAL }. */
export function infoOf(reader: DerReader, element: DerElement, what: string): InfoTypeAndValue {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, what), what);
  const id = reader.oid(fields.next(TAG.oid, 'type'));
  const value = fields.left > 0 ? reader.copy(fields.any('value')) : null;
  fields.end();
  return { oid: id, value };
}

export function infoDer(info: InfoTypeAndValue): Uint8Array {
  return sequence(oid(info.oid), ...(info.value ? [info.value] : []));
}

// ---- times -----------------------------------------------------------------------------------

const GENERALIZED = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(\.[0-9]+)?Z$/;
const UTC = /^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})Z$/;

/** GeneralizedTime or UTCTime (RFC 5280 §4.1.2.5: YY ≥ 50 is 19YY) in their DER forms, as a Date. */
export function timeOf(reader: DerReader, element: DerElement | undefined, what: string): Date {
  const utc = element?.tag === TAG.utcTime;
  if (!element || (!utc && element.tag !== TAG.generalizedTime)) throw badMessage(`${what} is not a time`);
  const match = (utc ? UTC : GENERALIZED).exec(reader.text(element));
  if (!match) throw badMessage(`${what} is not a DER time`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fullYear = utc ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  const date = new Date(0);
  date.setUTCFullYear(fullYear, month - 1, day);
  date.setUTCHours(hour, minute, second, match[7] ? Math.floor(Number(match[7]) * 1000) : 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw badMessage(`${what} is not a valid date`);
  }
  return date;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (X.690 §11.7). */
export function generalizedTime(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) throw new CaError('internal', 'a CMP time is not a valid date', { code: 'invalidCmpTime' });
  const text = `${String(year).padStart(4, '0')}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return asciiString(TAG.generalizedTime, text);
}

// ---- names -----------------------------------------------------------------------------------

export function nameOf(reader: DerReader, element: DerElement | undefined, what: string): CmpName {
  const name = reader.expect(element, TAG.sequence, what);
  const der = reader.copy(name);
  return { der, text: formatName(der) };
}

const GENERAL_NAME_PREFIX: Record<number, string> = { 0x81: 'email:', 0x82: 'DNS:', 0x86: 'URI:' };

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * GeneralName ::= CHOICE { otherName [0], rfc822Name [1] IA5String, dNSName [2] IA5String, x400Address [3],
 *   directoryName [4] Name, ediPartyName [5], uniformResourceIdentifier [6] IA5String, iPAddress [7] OCTET
 *   STRING, registeredID [8] OBJECT IDENTIFIER } (RFC 5280 §4.2.1.6, IMPLICIT: directoryName is [4]
 *   EXPLICIT because Name is a CHOICE). The NULL-DN (`A4 02 30 00`) reads as "".
 */
export function generalNameOf(reader: DerReader, element: DerElement, what: string): CmpGeneralName {
  const der = reader.copy(element);
  if (element.tag === 0xa4) {
    const name = nameOf(reader, only(reader, element, what), what);
    return { der, text: name.text, directoryName: name.der };
  }
  const prefix = GENERAL_NAME_PREFIX[element.tag];
  if (prefix) return { der, text: prefix + reader.text(element), directoryName: null };
  if (element.tag === 0x87) return { der, text: `IP:${ipText(reader.content(element))}`, directoryName: null };
  if (element.tag === 0x88) {
    const rid = reader.oid({ ...element, tag: TAG.oid });
    return { der, text: `RID:${rid}`, directoryName: null };
  }
  if ((element.tag & 0xc0) !== 0x80 || (element.tag & 0x1f) > 8) throw badMessage(`${what} is not a GeneralName`);
  return { der, text: `[${element.tag & 0x1f}]:${Buffer.from(reader.content(element)).toString('hex')}`, directoryName: null };
}

/** directoryName [4] EXPLICIT Name. */
export function directoryName(nameDer: Uint8Array): Uint8Array {
  return tlv(0xa4, nameDer);
}

/** The NULL-DN as a GeneralName: RFC 4210 §5.1.1 uses it when the name is unknown. */
export const NULL_DN = Uint8Array.of(0xa4, 0x02, 0x30, 0x00);

// ---- PKIStatusInfo ---------------------------------------------------------------------------

/** PKIFailureInfo bits (a named bit list: DER drops trailing zero bits, X.690 §11.2.2). */
export function failureBits(reader: DerReader, element: DerElement): PkiFailureInfo[] {
  const { unusedBits, bits } = reader.bitString(element);
  const names: PkiFailureInfo[] = [];
  const count = bits.length * 8 - unusedBits;
  for (let bit = 0; bit < Math.min(count, PKI_FAILURE_INFO.length); bit++) {
    if (bits[bit >> 3]! & (0x80 >> (bit & 7))) names.push(PKI_FAILURE_INFO[bit]!);
  }
  return names;
}

export function failureInfoDer(names: readonly PkiFailureInfo[]): Uint8Array {
  const numbers = names.map((name) => {
    const bit = PKI_FAILURE_BITS[name];
    if (bit === undefined) throw new CaError('internal', `${String(name)} is not a PKIFailureInfo bit`, { code: 'invalidCmpFailure' });
    return bit;
  });
  const highest = Math.max(-1, ...numbers);
  if (highest < 0) return bitString(new Uint8Array(0));
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of numbers) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return bitString(bytes, bytes.length * 8 - (highest + 1));
}

export function statusInfoOf(reader: DerReader, element: DerElement | undefined, what: string): PkiStatusInfo {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, what), what);
  const code = smallInt(reader, fields.next(TAG.integer, 'status'), `${what} status`);
  const status = PKI_STATUSES[code];
  if (status === undefined) throw badMessage(`${what} status ${code} is not a PKIStatus`);
  const text = fields.optional(TAG.sequence);
  const bits = fields.optional(TAG.bitString);
  fields.end();
  return { status, statusString: text ? freeTextOf(reader, text, 'statusString') : [], failInfo: bits ? failureBits(reader, bits) : [] };
}

export interface PkiStatusInfoInput {
  status: PkiStatus;
  statusString?: readonly string[];
  failInfo?: readonly PkiFailureInfo[];
}

export function statusInfoDer(info: PkiStatusInfoInput): Uint8Array {
  const code = PKI_STATUSES.indexOf(info.status);
  if (code < 0) throw new CaError('internal', `${String(info.status)} is not a PKIStatus`, { code: 'invalidCmpStatus' });
  const text = info.statusString ?? [];
  const failures = info.failInfo ?? [];
  return sequence(integer(code), ...(text.length > 0 ? [freeText(text)] : []), ...(failures.length > 0 ? [failureInfoDer(failures)] : []));
}
