import { describe, expect, test } from '@jest/globals';
import * as asn1js from 'asn1js';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { isCaError } from '../../src/errors.js';
import { rawEcdsaToDer } from '../../src/signing/ecdsa-signature.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Independent decoder (asn1js) for the round-trip check: DER Ecdsa-Sig-Value -> r || s. */
function derToRaw(der: Uint8Array, half: number): Buffer {
  const parsed = asn1js.fromBER(der);
  const sequence = parsed.result as asn1js.Sequence;
  const [r, s] = sequence.valueBlock.value as asn1js.Integer[];
  const fixed = (integer: asn1js.Integer | undefined): Buffer => {
    const bytes = Buffer.from(integer!.valueBlock.valueHexView);
    const unsigned = bytes[0] === 0 ? bytes.subarray(1) : bytes;
    return Buffer.concat([Buffer.alloc(half - unsigned.length), unsigned]);
  };
  return Buffer.concat([fixed(r), fixed(s)]);
}

describe('rawEcdsaToDer', () => {
  test('encodes small values minimally, dropping the leading zero octets', () => {
    const raw = Buffer.concat([Buffer.alloc(31), Buffer.from([0x01]), Buffer.alloc(31), Buffer.from([0x7f])]);
    expect(hex(rawEcdsaToDer(raw))).toBe('300602010102017f');
  });

  test('adds a 0x00 octet when the high bit is set, so r and s stay positive (X.690 §8.3.2)', () => {
    const raw = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.from([0x80, ...Buffer.alloc(31)])]);
    const der = rawEcdsaToDer(raw);
    expect(hex(der.subarray(0, 5))).toBe('3046022100');
    expect(der.length).toBe(2 + 2 * 35);
    expect(hex(der.subarray(37, 40))).toBe('022100');
  });

  test('encodes zero as the single octet 00', () => {
    expect(hex(rawEcdsaToDer(Buffer.alloc(64)))).toBe('3006020100020100');
  });

  test.each([
    ['empty', 0],
    ['odd length', 65],
  ])('rejects a %s input as malformed', (_name, length) => {
    let caught: unknown;
    try {
      rawEcdsaToDer(Buffer.alloc(length, 1));
    } catch (error) {
      caught = error;
    }
    expect(isCaError(caught) && caught.kind === 'malformed' && caught.code === 'ecdsaSignatureMalformed').toBe(true);
  });

  test.each([
    ['P-256', 'sha256', 32],
    ['P-384', 'sha384', 48],
    ['P-521', 'sha512', 66], // 132-octet input: the SEQUENCE needs the long length form
  ])('signatures made as raw r||s on %s verify with crypto.verify once converted', (curve, hash, half) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    for (let round = 0; round < 40; round++) {
      const data = randomBytes(64);
      const raw = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(raw.length).toBe(2 * half);
      const der = rawEcdsaToDer(raw);
      expect(verify(hash, data, { key: spki, format: 'der', type: 'spki', dsaEncoding: 'der' }, der)).toBe(true);
      expect(derToRaw(der, half).equals(raw)).toBe(true);
    }
  });

  test('reproduces the exact DER that OpenSSL produced for the same r and s', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let round = 0; round < 40; round++) {
      const der = sign('sha256', randomBytes(32), { key: privateKey, dsaEncoding: 'der' });
      expect(hex(rawEcdsaToDer(derToRaw(der, 32)))).toBe(hex(der));
    }
  });
});
