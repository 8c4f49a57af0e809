import { CaError } from '../src/errors.js';

/**
 * PKCS#11 URIs (RFC 7512), e.g.
 *   pkcs11:token=e-imza%20CA;object=issuing-2025;id=%5A%01%FF;type=private
 *
 * Grammar (RFC 7512 §2.3): "pkcs11:" path [ "?" query ]; path attributes are separated by ";",
 * query attributes by "&"; values are percent-encoded UTF-8 except `id`, which is raw bytes.
 * Attribute names are matched exactly; vendor attributes start with "x-".
 */
export type Pkcs11ObjectType = 'public' | 'private' | 'cert' | 'secret-key' | 'data';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  object?: string;
  id?: Uint8Array;
  type?: Pkcs11ObjectType;
  /** Other path attributes (library-*, slot-*, x-*), decoded as text. */
  otherPathAttributes: ReadonlyMap<string, string>;
  /** Query attributes (pin-source, pin-value, module-name, module-path, x-*), decoded as text. */
  queryAttributes: ReadonlyMap<string, string>;
}

const TEXT_PATH_ATTRIBUTES = ['token', 'manufacturer', 'model', 'serial', 'object'] as const;
const OTHER_PATH_ATTRIBUTES = new Set([
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-manufacturer',
  'slot-description',
  'slot-id',
]);
const QUERY_ATTRIBUTES = new Set(['pin-source', 'pin-value', 'module-name', 'module-path']);
const OBJECT_TYPES: readonly string[] = ['public', 'private', 'cert', 'secret-key', 'data'];

const SCHEME = 'pkcs11:';
const ATTRIBUTE_NAME = /^[A-Za-z0-9_-]+$/;
/** pk11-pchar and pk11-qchar of RFC 7512 §2.3 (unreserved, the allowed reserved set, %XX). */
const PATH_VALUE = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=&]|%[0-9A-Fa-f]{2})*$/;
const QUERY_VALUE = /^(?:[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]|%[0-9A-Fa-f]{2})*$/;

export function parsePkcs11Uri(text: string): Pkcs11Uri {
  // The scheme name is case-insensitive (RFC 3986 §3.1).
  if (text.slice(0, SCHEME.length).toLowerCase() !== SCHEME) throw malformedUri('must start with "pkcs11:"');
  const rest = text.slice(SCHEME.length);
  const queryStart = rest.indexOf('?');
  const pathPart = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const queryPart = queryStart === -1 ? '' : rest.slice(queryStart + 1);

  const path = splitAttributes(pathPart, ';', PATH_VALUE);
  const query = splitAttributes(queryPart, '&', QUERY_VALUE);

  const otherPathAttributes = new Map<string, string>();
  const queryAttributes = new Map<string, string>();
  const uri: Pkcs11Uri = { otherPathAttributes, queryAttributes };
  for (const [name, rawValue] of path) {
    if (isTextPathAttribute(name)) {
      uri[name] = decodeText(rawValue, name);
    } else if (name === 'id') {
      uri.id = percentDecode(rawValue);
    } else if (name === 'type') {
      const type = decodeText(rawValue, name);
      if (!OBJECT_TYPES.includes(type)) throw malformedUri(`unknown type "${type}"`);
      uri.type = type as Pkcs11ObjectType;
    } else if (OTHER_PATH_ATTRIBUTES.has(name) || name.startsWith('x-')) {
      otherPathAttributes.set(name, decodeText(rawValue, name));
    } else {
      throw malformedUri(`unknown path attribute "${name}"`);
    }
  }
  for (const [name, rawValue] of query) {
    if (!QUERY_ATTRIBUTES.has(name) && !name.startsWith('x-')) throw malformedUri(`unknown query attribute "${name}"`);
    queryAttributes.set(name, decodeText(rawValue, name));
  }
  return uri;
}

/** Formats the attributes e-imza writes; every byte of `id` and every non-unreserved byte of text is %XX. */
export function formatPkcs11Uri(
  attributes: Pick<Pkcs11Uri, 'token' | 'manufacturer' | 'model' | 'serial' | 'object' | 'id' | 'type'>,
): string {
  const parts: string[] = [];
  for (const name of TEXT_PATH_ATTRIBUTES) {
    const value = attributes[name];
    if (value !== undefined) parts.push(`${name}=${percentEncodeText(value)}`);
  }
  if (attributes.id !== undefined) parts.push(`id=${percentEncodeBytes(attributes.id)}`);
  if (attributes.type !== undefined) parts.push(`type=${attributes.type}`);
  return SCHEME + parts.join(';');
}

function isTextPathAttribute(name: string): name is (typeof TEXT_PATH_ATTRIBUTES)[number] {
  return (TEXT_PATH_ATTRIBUTES as readonly string[]).includes(name);
}

function splitAttributes(part: string, separator: string, valuePattern: RegExp): Array<[string, string]> {
  if (part === '') return [];
  const seen = new Set<string>();
  return part.split(separator).map((attribute): [string, string] => {
    const equals = attribute.indexOf('=');
    // Values are never echoed into errors: a query may carry a pin-value.
    if (equals <= 0) throw malformedUri('every attribute must be name=value');
    const name = attribute.slice(0, equals);
    const value = attribute.slice(equals + 1);
    if (!ATTRIBUTE_NAME.test(name)) throw malformedUri(`invalid attribute name "${name}"`);
    if (!valuePattern.test(value)) throw malformedUri(`attribute "${name}" has characters that must be percent-encoded`);
    // An attribute given twice is ambiguous; RFC 7512 allows each at most once.
    if (seen.has(name)) throw malformedUri(`attribute "${name}" appears twice`);
    seen.add(name);
    return [name, value];
  });
}

function percentDecode(value: string): Uint8Array {
  const bytes: number[] = [];
  for (let index = 0; index < value.length; index++) {
    if (value[index] === '%') {
      bytes.push(parseInt(value.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(value.charCodeAt(index)); // the value patterns admit ASCII only
    }
  }
  return Uint8Array.from(bytes);
}

function decodeText(value: string, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(percentDecode(value));
  } catch {
    throw malformedUri(`attribute "${name}" is not UTF-8`);
  }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function percentEncodeText(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(char) ? char : hexEscape(byte);
  }
  return out;
}

function percentEncodeBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hexEscape).join('');
}

/** Uppercase hex, as RFC 3986 §2.1 recommends for producers. */
function hexEscape(byte: number): string {
  return '%' + byte.toString(16).toUpperCase().padStart(2, '0');
}

function malformedUri(reason: string): CaError {
  return new CaError('malformed', `invalid PKCS#11 URI: ${reason}`, { code: 'pkcs11UriMalformed' });
}
