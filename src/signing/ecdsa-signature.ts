import { CaError } from '../errors.js';

/**
 * Converts an ECDSA signature from the raw form PKCS#11 returns (r || s, each as long as the
 * curve order; PKCS#11 v2.40 Current Mechanisms §2.3.1) to the DER form X.509 expects:
 *
 *   Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }      -- RFC 3279 §2.2.3
 *
 * The INTEGERs are minimal two's-complement (X.690 §8.3.2): leading zero octets are dropped and
 * one is added back when the high bit is set, so that r and s stay positive.
 */
export function rawEcdsaToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new CaError('malformed', 'raw ECDSA signature must be r || s of equal length', {
      code: 'ecdsaSignatureMalformed',
    });
  }
  const half = raw.length / 2;
  const r = derInteger(raw.subarray(0, half));
  const s = derInteger(raw.subarray(half));
  return derTlv(0x30, concat(r, s));
}

function derInteger(unsignedBigEndian: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsignedBigEndian.length - 1 && unsignedBigEndian[start] === 0) start++;
  const digits = unsignedBigEndian.subarray(start);
  const needsSignOctet = (digits[0] ?? 0) >= 0x80;
  return derTlv(0x02, needsSignOctet ? concat(Uint8Array.of(0), digits) : digits);
}

/** Tag, definite length (short form below 128, long form above: X.690 §8.1.3), value. */
function derTlv(tag: number, value: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), derLength(value.length), value);
}

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
