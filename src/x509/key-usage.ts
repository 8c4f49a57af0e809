import * as asn1js from 'asn1js';
import type { KeyUsageBit } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { parseAsn1 } from './asn1.js';

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

/** DER of the KeyUsage BIT STRING. A named bit list drops trailing zero bits (X.690 §11.2.2). */
export function encodeKeyUsage(bits: readonly KeyUsageBit[]): asn1js.BitString {
  if (bits.length === 0) {
    throw new CaError('internal', 'keyUsage must assert at least one bit (RFC 5280 §4.2.1.3)', { code: 'invalidSpec' });
  }
  const numbers = bits.map((bit) => KEY_USAGE_BIT_NUMBERS[bit]);
  const highest = Math.max(...numbers);
  const octets = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const n of numbers) octets[n >> 3]! |= 0x80 >> (n & 7);
  return new asn1js.BitString({ valueHex: octets, unusedBits: 7 - (highest & 7) });
}

/** The named bits set in a DER KeyUsage value (encipherOnly/decipherOnly are never issued and are ignored). */
export function decodeKeyUsage(extnValue: Uint8Array): KeyUsageBit[] {
  const bitString = parseAsn1(extnValue, 'keyUsage', 'malformedCertificate');
  if (!(bitString instanceof asn1js.BitString)) {
    throw new CaError('malformed', 'keyUsage is not a BIT STRING', { code: 'malformedCertificate' });
  }
  const octets = bitString.valueBlock.valueHexView;
  return (Object.entries(KEY_USAGE_BIT_NUMBERS) as [KeyUsageBit, number][])
    .filter(([, n]) => ((octets[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0)
    .map(([bit]) => bit);
}
