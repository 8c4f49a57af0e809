import * as asn1js from 'asn1js';
import { AttributeTypeAndValue, RelativeDistinguishedNames } from 'pkijs';
import type { NameAttribute, NameAttributeType } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { encodeDer, parseAsn1, toArrayBuffer } from './asn1.js';
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

function encodeAttributeValue(attribute: NameAttribute): asn1js.BaseStringBlock {
  const { type, value } = attribute;
  if (value.length === 0 || value.trim() !== value) {
    throw invalidName(`${type} must be non-empty without leading or trailing spaces`);
  }
  if ([...value].length > MAX_LENGTH[type]) throw invalidName(`${type} is longer than ${MAX_LENGTH[type]} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw invalidName(`${type} contains control characters`);
  if (!PRINTABLE_TYPES.has(type)) return new asn1js.Utf8String({ value });
  if (!PRINTABLE_STRING.test(value)) throw invalidName(`${type} has characters outside PrintableString`);
  if (type === 'C' && !/^[A-Z]{2}$/.test(value)) throw invalidName('C must be an ISO 3166 alpha-2 code');
  return new asn1js.PrintableString({ value });
}

/**
 * Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN in the given order
 * (RFC 5280 §4.1.2.4 allows multi-valued RDNs; e-imza never writes them). pkijs'
 * RelativeDistinguishedNames would put every attribute into one SET, so the SEQUENCE is built here.
 */
export function encodeName(attributes: readonly NameAttribute[]): Uint8Array {
  const rdns = attributes.map(
    (attribute) =>
      new asn1js.Set({
        value: [
          new AttributeTypeAndValue({ type: NAME_ATTRIBUTE_OIDS[attribute.type], value: encodeAttributeValue(attribute) }).toSchema(),
        ],
      }),
  );
  return encodeDer(new asn1js.Sequence({ value: rdns }));
}

/** The same name as a pkijs object (it keeps the encoded bytes, so re-encoding is exact). */
export function encodeNamePkijs(attributes: readonly NameAttribute[]): RelativeDistinguishedNames {
  return RelativeDistinguishedNames.fromBER(toArrayBuffer(encodeName(attributes)));
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

function decodeAttributeValue(value: asn1js.AsnType): string {
  if (value instanceof asn1js.BaseStringBlock) return value.valueBlock.value;
  return `#${Buffer.from(value.toBER(false)).toString('hex')}`;
}

/** The RDNs of a DER Name, each a list of attributes (one for every name e-imza writes). */
function decodeRdns(nameDer: Uint8Array): DecodedNameAttribute[][] {
  const name = parseAsn1(nameDer, 'Name', 'malformedName');
  if (!(name instanceof asn1js.Sequence)) throw new CaError('malformed', 'Name is not a SEQUENCE', { code: 'malformedName' });
  return name.valueBlock.value.map((rdn) => {
    if (!(rdn instanceof asn1js.Set)) throw new CaError('malformed', 'RDN is not a SET', { code: 'malformedName' });
    return rdn.valueBlock.value.map((pair) => {
      const [type, value] = pair instanceof asn1js.Sequence ? pair.valueBlock.value : [];
      if (!(type instanceof asn1js.ObjectIdentifier) || !value) {
        throw new CaError('malformed', 'AttributeTypeAndValue is malformed', { code: 'malformedName' });
      }
      const oid = type.valueBlock.toString();
      return { type: oid, shortName: SHORT_NAMES[oid] ?? oid, value: decodeAttributeValue(value) };
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
