/**
 * CSRs for `npm run bench:load` (test/bench/load.ts): COUNT distinct P-256 PKCS#10 requests, one
 * base64 DER per line, into OUT_FILE. Run before the measured window (two of these at once, one per
 * core), so that no key is generated while the load runs: every batch item and every desk issuance
 * needs a key never certified before.
 *
 *   node --import tsx test/bench/load-csrs.ts COUNT OUT_FILE
 *
 * The CertificationRequestInfo is built from a fixed template around the 91-byte P-256
 * SubjectPublicKeyInfo (the subject is ignored by the CA, which takes it from the holder): about
 * three times faster than test/helpers/fast-csr.ts, which builds it through asn1js.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bitString, integer, oid, sequence, tlv, utf8String } from '../../src/x509/der-writer.js';

const NAME = sequence(tlv(0x31, sequence(oid('2.5.4.3'), utf8String('bench load'))));
const VERSION = integer(0);
const NO_ATTRIBUTES = Uint8Array.of(0xa0, 0x00);
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

/** One fresh P-256 key pair's CSR, DER (the private key is dropped). */
export function p256CsrDer(): Uint8Array {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const info = sequence(VERSION, NAME, publicKey.export({ type: 'spki', format: 'der' }), NO_ATTRIBUTES);
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return sequence(info, ECDSA_WITH_SHA256, bitString(signature));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2]);
  const out = process.argv[3];
  if (!Number.isSafeInteger(count) || count < 0 || !out) throw new Error('usage: load-csrs.ts COUNT OUT_FILE');
  const lines: string[] = new Array(count);
  for (let i = 0; i < count; i++) lines[i] = Buffer.from(p256CsrDer()).toString('base64');
  writeFileSync(out, lines.length ? `${lines.join('\n')}\n` : '');
}
