import { randomBytes } from 'node:crypto';
import { CaError } from '../errors.js';

/**
 * A certificate serial number as lowercase hex without leading zeros or colons: the canonical
 * form stored and compared everywhere. Parse user input with `parseSerial`.
 */
export type Serial = string & { readonly __brand: 'Serial' };

const MAX_SERIAL_OCTETS = 20; // RFC 5280 §4.1.2.2

/** Accepts any case, with or without colons or spaces, and an optional 0x prefix. */
export function parseSerial(input: string): Serial {
  const hex = input.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) {
    throw new CaError('malformed', 'serial must be hexadecimal', { code: 'invalidSerial' });
  }
  const canonical = hex.replace(/^0+(?=.)/, '');
  if (canonical.length > MAX_SERIAL_OCTETS * 2) {
    throw new CaError('malformed', 'serial is longer than 20 octets', { code: 'invalidSerial' });
  }
  return canonical as Serial;
}

/**
 * 128 random bits from the CSPRNG (CA/B BR 7.1 asks for at least 64). The first octet is kept in
 * 0x10..0x7f so the number is positive, needs no DER padding octet and its hex form has no
 * leading zero: the canonical form is always 32 characters.
 */
export function randomSerial(): Serial {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString('hex') as Serial;
}

/** "1a2b…" -> "1A:2B:…", the form openssl prints. */
export function formatSerialWithColons(serial: Serial): string {
  const even = serial.length % 2 ? `0${serial}` : serial;
  return even.toUpperCase().match(/../g)!.join(':');
}
