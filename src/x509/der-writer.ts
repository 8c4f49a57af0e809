import { CaError } from '../errors.js';
import { TAG } from './der-reader.js';

/**
 * A minimal DER writer (X.690 §8, §10) for the issuance hot path: every element is built once
 * into an exactly sized Uint8Array. The pkijs/asn1js encoders remain the reference, and tests
 * show both produce the same bytes for every profile.
 */

/** Length octets, definite form, minimal (X.690 §8.1.3, §10.1). */
function lengthOctetCount(length: number): number {
  if (length < 0x80) return 1;
  let count = 1;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) count++;
  return count;
}

function writeLength(target: Uint8Array, offset: number, length: number): number {
  if (length < 0x80) {
    target[offset] = length;
    return offset + 1;
  }
  const count = lengthOctetCount(length) - 1;
  target[offset] = 0x80 | count;
  for (let k = count, rest = length; k > 0; k--, rest = Math.floor(rest / 256)) target[offset + k] = rest % 256;
  return offset + count + 1;
}

/** One element: `tag` (a single identifier octet), then the contents, concatenated. */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of contents) length += part.length;
  const out = new Uint8Array(1 + lengthOctetCount(length) + length);
  out[0] = tag;
  let offset = writeLength(out, 1, length);
  for (const part of contents) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const sequence = (...contents: readonly Uint8Array[]): Uint8Array => tlv(TAG.sequence, ...contents);

function invalidSpec(detail: string): CaError {
  return new CaError('internal', detail, { code: 'invalidSpec' });
}

function base128(value: bigint, out: number[]): void {
  const groups: number[] = [];
  for (let rest = value; ; rest >>= 7n) {
    groups.unshift(Number(rest & 0x7fn));
    if (rest < 0x80n) break;
  }
  for (let k = 0; k < groups.length; k++) out.push(k < groups.length - 1 ? groups[k]! | 0x80 : groups[k]!);
}

const DOTTED = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** OBJECT IDENTIFIER from dotted form (X.690 §8.19); the first two arcs share a sub-identifier. */
export function oid(dotted: string): Uint8Array {
  if (!DOTTED.test(dotted)) throw invalidSpec(`${JSON.stringify(dotted)} is not a dotted OBJECT IDENTIFIER`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first = 0n, second = 0n] = arcs;
  if (first < 2n && second >= 40n) throw invalidSpec(`${dotted}: the second arc under ${first} must be below 40`);
  const content: number[] = [];
  base128(first * 40n + second, content);
  for (const arc of arcs.slice(2)) base128(arc, content);
  return tlv(TAG.oid, Uint8Array.from(content));
}

/** INTEGER from a safe integer: minimal two's complement (X.690 §8.3). */
export function integer(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) throw invalidSpec(`${value} is not an integer`);
  const octets: number[] = [];
  let rest = BigInt(value);
  do {
    octets.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!(rest === 0n && !(octets[0]! & 0x80)) && !(rest === -1n && octets[0]! & 0x80));
  return tlv(TAG.integer, Uint8Array.from(octets));
}

/** INTEGER whose contents octets are already computed (serial numbers). */
export function integerFromOctets(octets: Uint8Array): Uint8Array {
  return tlv(TAG.integer, octets);
}

export const DER_NULL = Uint8Array.of(TAG.null, 0);
export const DER_TRUE = Uint8Array.of(TAG.boolean, 1, 0xff);

export function octetString(value: Uint8Array): Uint8Array {
  return tlv(TAG.octetString, value);
}

export function bitString(bits: Uint8Array, unusedBits = 0): Uint8Array {
  return tlv(TAG.bitString, Uint8Array.of(unusedBits), bits);
}

export function utf8String(value: string): Uint8Array {
  return tlv(TAG.utf8String, Buffer.from(value, 'utf8'));
}

/** One octet per character; callers have already restricted the characters to ASCII. */
export function asciiString(tag: number, value: string): Uint8Array {
  return tlv(tag, Buffer.from(value, 'latin1'));
}

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for 1950–2049, GeneralizedTime
 * YYYYMMDDHHMMSSZ otherwise; whole seconds (fractions are forbidden in both).
 */
export function time(date: Date): Uint8Array {
  const value = new Date(Math.floor(date.getTime() / 1000) * 1000);
  const year = value.getUTCFullYear();
  if (Number.isNaN(year)) throw new CaError('internal', 'a certificate time is not a valid date', { code: 'invalidValidity' });
  const utc = year >= 1950 && year < 2050;
  const text =
    (utc ? two(year % 100) : String(year).padStart(4, '0')) +
    two(value.getUTCMonth() + 1) +
    two(value.getUTCDate()) +
    two(value.getUTCHours()) +
    two(value.getUTCMinutes()) +
    two(value.getUTCSeconds()) +
    'Z';
  return asciiString(utc ? TAG.utcTime : TAG.generalizedTime, text);
}
