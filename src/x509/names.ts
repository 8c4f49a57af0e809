import * as asn1js from 'asn1js';
import { AttributeTypeAndValue, RelativeDistinguishedNames } from 'pkijs';
import type { NameAttribute, NameAttributeType } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { encodeDer, toArrayBuffer } from './asn1.js';
import { DerReader, TAG, type DerElement } from './der-reader.js';
import { asciiString, oid, sequence, tlv, utf8String } from './der-writer.js';
import { NAME_ATTRIBUTE_OIDS } from './oids.js';

/** Distinguished names (RFC 5280 §4.1.2.4): encoding for issuance, decoding for display. */

/** X.520 makes C and serialNumber PrintableString; DirectoryString attributes are written as UTF8String (RFC 5280 §4.1.2.4). */
const PRINTABLE_TYPES: ReadonlySet<NameAttributeType> = new Set(['C', 'serialNumber']);
const PRINTABLE_STRING = /^[A-Za-z0-9 '()+,\-./:=?]+$/;

/** Upper bounds from RFC 5280 Appendix A.1 and X.520 (characters). */
const MAX_LENGTH: Record<NameAttributeType, number> = {
  C: 2,
  O: 64,
  OU: 64,
  CN: 64,
  givenName: 64,
  surname: 64,
  serialNumber: 64,
  organizationIdentifier: 128,
  businessCategory: 128,
};

function invalidName(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'invalidNameValue' });
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Checks one attribute value and picks its string type (X.520, RFC 5280 §4.1.2.4). */
function attributeStringType(attribute: NameAttribute): 'utf8' | 'printable' {
  const { type, value } = attribute;
  if (value.length === 0 || value.trim() !== value) {
    throw invalidName(`${type} must be non-empty without leading or trailing spaces`);
  }
  if ([...value].length > MAX_LENGTH[type]) throw invalidName(`${type} is longer than ${MAX_LENGTH[type]} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw invalidName(`${type} contains control characters`);
  if (!PRINTABLE_TYPES.has(type)) {
    if (LONE_SURROGATE.test(value)) throw invalidName(`${type} is not valid Unicode (a lone surrogate)`);
    return 'utf8';
  }
  if (!PRINTABLE_STRING.test(value)) throw invalidName(`${type} has characters outside PrintableString`);
  if (type === 'C' && !/^[A-Z]{2}$/.test(value)) throw invalidName('C must be an ISO 3166 alpha-2 code');
  return 'printable';
}

/** The encoded AttributeType OIDs, computed once (the table is constant). */
const ATTRIBUTE_TYPE_DER = new Map<NameAttributeType, Uint8Array>(
  (Object.entries(NAME_ATTRIBUTE_OIDS) as [NameAttributeType, string][]).map(([type, dotted]) => [type, oid(dotted)]),
);

/**
 * Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN in the given order
 * (RFC 5280 §4.1.2.4 allows multi-valued RDNs; e-imza never writes them):
 *   RDN ::= SET { AttributeTypeAndValue ::= SEQUENCE { type OID, value DirectoryString } }
 * Written with the DER writer (hot path); `encodeNameReference` is the asn1js/pkijs reference.
 */
export function encodeName(attributes: readonly NameAttribute[]): Uint8Array {
  const rdns = attributes.map((attribute) => {
    const value =
      attributeStringType(attribute) === 'utf8' ? utf8String(attribute.value) : asciiString(TAG.printableString, attribute.value);
    return tlv(TAG.set, sequence(ATTRIBUTE_TYPE_DER.get(attribute.type)!, value));
  });
  return sequence(...rdns);
}

/** The asn1js/pkijs encoding of a Name, the reference `encodeName` is tested against. */
export function encodeNameReference(attributes: readonly NameAttribute[]): Uint8Array {
  const rdns = attributes.map((attribute) => {
    const value =
      attributeStringType(attribute) === 'utf8'
        ? new asn1js.Utf8String({ value: attribute.value })
        : new asn1js.PrintableString({ value: attribute.value });
    const pair = new AttributeTypeAndValue({ type: NAME_ATTRIBUTE_OIDS[attribute.type], value }).toSchema();
    return new asn1js.Set({ value: [pair] });
  });
  return encodeDer(new asn1js.Sequence({ value: rdns }));
}

/** The same name as a pkijs object (it keeps the encoded bytes, so re-encoding is exact). */
export function encodeNamePkijs(attributes: readonly NameAttribute[]): RelativeDistinguishedNames {
  return RelativeDistinguishedNames.fromBER(toArrayBuffer(encodeNameReference(attributes)));
}

export interface DecodedNameAttribute {
  /** Dotted OID. */
  type: string;
  /** Short name as openssl prints it (C, O, CN, GN, SN, serialNumber, …), or the OID. */
  shortName: string;
  value: string;
}

const SHORT_NAMES: Record<string, string> = {
  [NAME_ATTRIBUTE_OIDS.C]: 'C',
  [NAME_ATTRIBUTE_OIDS.O]: 'O',
  [NAME_ATTRIBUTE_OIDS.OU]: 'OU',
  [NAME_ATTRIBUTE_OIDS.CN]: 'CN',
  [NAME_ATTRIBUTE_OIDS.givenName]: 'GN',
  [NAME_ATTRIBUTE_OIDS.surname]: 'SN',
  [NAME_ATTRIBUTE_OIDS.serialNumber]: 'serialNumber',
  [NAME_ATTRIBUTE_OIDS.organizationIdentifier]: 'organizationIdentifier',
  [NAME_ATTRIBUTE_OIDS.businessCategory]: 'businessCategory',
  '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const ATTRIBUTE_TYPE_BY_OID = new Map<string, NameAttributeType>(
  Object.entries(NAME_ATTRIBUTE_OIDS).map(([type, oid]) => [oid, type as NameAttributeType]),
);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Universal string types read one character per octet, as asn1js does (X.680 §41). */
const OCTET_STRING_TYPES = new Set([0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x1d]);

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** UniversalString (UCS-4, big-endian); invalid code points become U+FFFD, as in asn1js. */
function decodeUniversalString(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.length / 4);
  let text = '';
  for (let i = 0; i < count; i++) {
    const codePoint = view.getUint32(i * 4);
    const next = i + 1 < count ? view.getUint32((i + 1) * 4) : 0;
    if (codePoint > 0x10ffff) text += '\ufffd';
    else if (codePoint < 0xd800 || codePoint > 0xdfff) text += String.fromCodePoint(codePoint);
    else if (codePoint <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      text += String.fromCodePoint(0x10000 + ((codePoint - 0xd800) << 10) + (next - 0xdc00));
      i++;
    } else text += '\ufffd';
  }
  return text;
}

/**
 * A DirectoryString (or any string type) as text, decoded as asn1js decodes it; other types as
 * `#` and the hex of their DER. The reader has checked BMP/UniversalString lengths already.
 */
function decodeAttributeValue(reader: DerReader, value: DerElement): string {
  const bytes = reader.content(value);
  if (value.tag === TAG.utf8String || value.tag === 0x0e) {
    // UTF8String, and TIME (X.680 §38), which asn1js also reads as UTF-8
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return latin1(bytes); // asn1js' fallback for invalid UTF-8, kept for display
    }
  }
  if (OCTET_STRING_TYPES.has(value.tag)) return latin1(bytes);
  if (value.tag === 0x1e) return Buffer.from(bytes).swap16().toString('utf16le'); // BMPString: UCS-2, big-endian
  if (value.tag === 0x1c) return decodeUniversalString(bytes);
  return `#${Buffer.from(reader.raw(value)).toString('hex')}`;
}

function malformedName(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'malformedName' });
}

/** The RDNs of a DER Name, each a list of attributes (one for every name e-imza writes). */
function decodeRdns(nameDer: Uint8Array): DecodedNameAttribute[][] {
  const reader = new DerReader(nameDer, 'malformedName', 'Name');
  const name = reader.root(true);
  if (name.tag !== TAG.sequence) throw malformedName('Name is not a SEQUENCE');
  return reader.children(name).map((rdn) => {
    if (rdn.tag !== TAG.set) throw malformedName('RDN is not a SET');
    return reader.children(rdn).map((pair) => {
      const [type, value, ...rest] = pair.tag === TAG.sequence ? reader.children(pair) : [];
      if (type?.tag !== TAG.oid || !value || rest.length > 0) {
        throw malformedName('AttributeTypeAndValue is malformed');
      }
      const dotted = reader.oid(type);
      return { type: dotted, shortName: SHORT_NAMES[dotted] ?? dotted, value: decodeAttributeValue(reader, value) };
    });
  });
}

export function decodeName(nameDer: Uint8Array): DecodedNameAttribute[] {
  return decodeRdns(nameDer).flat();
}

/**
 * The attributes of a Name as the NameAttribute types of CertificateSpec, or undefined when the
 * name has a type or a multi-valued RDN that e-imza never writes (lint compares with the spec).
 */
export function decodeNameAttributes(nameDer: Uint8Array): NameAttribute[] | undefined {
  const attributes: NameAttribute[] = [];
  for (const rdn of decodeRdns(nameDer)) {
    const [only] = rdn;
    const type = only && ATTRIBUTE_TYPE_BY_OID.get(only.type);
    if (rdn.length !== 1 || !only || !type) return undefined;
    attributes.push({ type, value: only.value });
  }
  return attributes;
}

/** RFC 4514 §2.4 escaping of a value. */
function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/**
 * A readable one-line form, RFC 4514 escaping but in encoded order (C first), like
 * `openssl x509 -nameopt utf8,sep_comma_plus_space`: "C=AZ, GN=Əli, SN=…, CN=…".
 */
export function formatName(nameDer: Uint8Array): string {
  return decodeRdns(nameDer)
    .map((rdn) => rdn.map((a) => `${a.shortName}=${escapeValue(a.value)}`).join(' + '))
    .join(', ');
}
