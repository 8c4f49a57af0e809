import { generateKeyPairSync, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { parseCsr } from '../../src/x509/csr.js';
import { buildTbsCertificate } from '../../src/x509/certificate.js';
import { lintTbs } from '../../src/x509/lint.js';
import { encodeName } from '../../src/x509/names.js';
import { buildCertificateSpec } from '../../src/policy/profiles.js';
import { DEFAULT_PKI_SETTINGS } from '../../src/policy/settings.js';
import { checkKeyPolicy } from '../../src/policy/key-policy.js';
import { randomSerial } from '../../src/domain/serial.js';

function rsaCsr(): Uint8Array {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = new asn1js.Sequence({ value: [new asn1js.Set({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.5.4.3' }), new asn1js.Utf8String({ value: 'rsa' })] })] })] });
  const info = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), name, asn1js.fromBER(new Uint8Array(spki)).result, new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] })] });
  const infoDer = new Uint8Array(info.toBER());
  const signature = sign('sha256', infoDer, privateKey);
  const csr = new asn1js.Sequence({ value: [asn1js.fromBER(infoDer).result, new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.1.11' }), new asn1js.Null()] }), new asn1js.BitString({ valueHex: new Uint8Array(signature) })] });
  return new Uint8Array(csr.toBER());
}

const N = Number(process.env.N ?? 2000);
const issuer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const issuerSpki = new Uint8Array(issuer.publicKey.export({ type: 'spki', format: 'der' }));
const issuerName = encodeName([{ type: 'C', value: 'AZ' }, { type: 'O', value: 'e-imza' }, { type: 'CN', value: 'e-imza CA' }]);

function bench(label: string, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(200, N); i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const ms = (performance.now() - t) / N;
  return ms;
}

for (const [kind, profile] of [['ec', 'authentication'], ['ec', 'signature'], ['rsa', 'authentication'], ['rsa', 'signature']] as const) {
  const csrs = Array.from({ length: 64 }, () => (kind === 'ec' ? makeP256Csr() : rsaCsr()));
  const spec = buildCertificateSpec(profile, { holder: { fin: '5ZX2K7Q', givenName: 'A', surname: 'B' }, settings: DEFAULT_PKI_SETTINGS, caName: 'eimza', subjectKey: kind, keyOnSecureDevice: false });
  const parsed = csrs.map((c) => parseCsr(c, checkKeyPolicy));
  const now = new Date();
  const input = (i: number) => ({ serial: randomSerial(), notBefore: now, notAfter: new Date(now.getTime() + 365 * 86400000), issuerName, issuerPublicKeySpki: issuerSpki, subjectPublicKeySpki: parsed[i % 64]!.subjectPublicKeyInfo, spec, signatureAlgorithm: { kind: 'ec', curve: 'P-256' } as const });
  const tbss = Array.from({ length: 64 }, (_, i) => buildTbsCertificate(input(i)));
  const p = bench('parseCsr', (i) => parseCsr(csrs[i % 64]!, checkKeyPolicy));
  const b = bench('build', (i) => buildTbsCertificate(input(i)));
  const l = bench('lint', (i) => lintTbs(tbss[i % 64]!, { issuerSpki, expectedSpec: spec, now }));
  console.log(`${kind.padEnd(3)} ${profile.padEnd(15)} parseCsr ${p.toFixed(3)} ms  buildTbs ${b.toFixed(3)} ms  lintTbs ${l.toFixed(3)} ms  sum ${(p + b + l).toFixed(3)} ms`);
}
