import * as asn1js from 'asn1js';
import { createHash } from 'node:crypto';
import { CaError } from '../errors.js';

/**
 * Decodes exactly one ASN.1 element filling all of `der`; anything else (truncated input,
 * trailing bytes) is a `malformed` error with the caller's code.
 */
export function parseAsn1(der: Uint8Array, what: string, code: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || parsed.result.error) {
    throw new CaError('malformed', `${what} is not valid DER`, { code, cause: parsed.result.error });
  }
  if (parsed.offset !== der.byteLength) {
    throw new CaError('malformed', `${what} has trailing bytes after the DER element`, { code });
  }
  return parsed.result;
}

/** pkijs/asn1js want ArrayBuffers; a Uint8Array may be a view into a larger one. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

export function encodeDer(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array {
  return new Uint8Array(value.toBER(false));
}

export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

export function digest(algorithm: 'sha1' | 'sha256', data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(data).digest());
}

/** Byte equality, comparing views in place (Buffer.from(a) alone would copy). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.byteLength === b.byteLength &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

/** DER length octets (X.690 §8.1.3, definite form). */
function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

/**
 * A DER SEQUENCE around already-encoded elements, byte for byte: what was checked is what is
 * signed, with no re-encoding of the TBS in between.
 */
export function derSequence(...elements: Uint8Array[]): Uint8Array {
  const content = Buffer.concat(elements);
  return new Uint8Array(Buffer.concat([Uint8Array.of(0x30), derLength(content.byteLength), content]));
}
