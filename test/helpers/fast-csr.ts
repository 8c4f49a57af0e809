import * as asn1js from 'asn1js';
import { generateKeyPairSync, sign } from 'node:crypto';

/**
 * Many distinct P-256 CSRs quickly, in-process (benchmarks need thousands; spawning openssl for
 * each would measure process start-up). Tests that judge correctness use OpenSSL-made CSRs.
 */
export function makeP256Csr(commonName = 'bench'): Uint8Array {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = new asn1js.Sequence({
    value: [
      new asn1js.Set({
        value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.5.4.3' }), new asn1js.Utf8String({ value: commonName })] })],
      }),
    ],
  });
  const info = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      name,
      asn1js.fromBER(new Uint8Array(spki)).result,
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] }),
    ],
  });
  const infoDer = new Uint8Array(info.toBER());
  const signature = sign('sha256', infoDer, { key: privateKey, dsaEncoding: 'der' });
  const csr = new asn1js.Sequence({
    value: [
      asn1js.fromBER(infoDer).result,
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.10045.4.3.2' })] }),
      new asn1js.BitString({ valueHex: new Uint8Array(signature) }),
    ],
  });
  return new Uint8Array(csr.toBER());
}
