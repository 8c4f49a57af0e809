import * as asn1js from 'asn1js';
import type { KeyUsageBit } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { DerReader, TAG } from './der-reader.js';
import { bitString } from './der-writer.js';

/**
 * KeyUsage ::= BIT STRING { digitalSignature (0), nonRepudiation (1), keyEncipherment (2),
 *   dataEncipherment (3), keyAgreement (4), keyCertSign (5), cRLSign (6), encipherOnly (7),
 *   decipherOnly (8) }                                                      -- RFC 5280 §4.2.1.3
 */
const KEY_USAGE_BIT_NUMBERS: Record<KeyUsageBit, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/** The named bits as BIT STRING contents; a named bit list drops trailing zero bits (X.690 §11.2.2). */
function keyUsageBits(bits: readonly KeyUsageBit[]): { octets: Uint8Array; unusedBits: number } {
  if (bits.length === 0) {
    throw new CaError('internal', 'keyUsage must assert at least one bit (RFC 5280 §4.2.1.3)', { code: 'invalidSpec' });
  }
  const numbers = bits.map((bit) => KEY_USAGE_BIT_NUMBERS[bit]);
  const highest = Math.max(...numbers);
  const octets = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const n of numbers) octets[n >> 3]! |= 0x80 >> (n & 7);
  return { octets, unusedBits: 7 - (highest & 7) };
}

/** The KeyUsage BIT STRING as an asn1js object (the pkijs reference encoder). */
export function encodeKeyUsage(bits: readonly KeyUsageBit[]): asn1js.BitString {
  const { octets, unusedBits } = keyUsageBits(bits);
  return new asn1js.BitString({ valueHex: octets, unusedBits });
}

/** DER of the KeyUsage BIT STRING, from the DER writer. */
export function keyUsageDer(bits: readonly KeyUsageBit[]): Uint8Array {
  const { octets, unusedBits } = keyUsageBits(bits);
  return bitString(octets, unusedBits);
}

/** The named bits set in a DER KeyUsage value (encipherOnly/decipherOnly are never issued and are ignored). */
export function decodeKeyUsage(extnValue: Uint8Array): KeyUsageBit[] {
  const reader = new DerReader(extnValue, 'malformedCertificate', 'keyUsage');
  const element = reader.root(true);
  if (element.tag !== TAG.bitString) {
    throw new CaError('malformed', 'keyUsage is not a BIT STRING', { code: 'malformedCertificate' });
  }
  const octets = reader.bitString(element).bits;
  return (Object.entries(KEY_USAGE_BIT_NUMBERS) as [KeyUsageBit, number][])
    .filter(([, n]) => ((octets[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0)
    .map(([bit]) => bit);
}
