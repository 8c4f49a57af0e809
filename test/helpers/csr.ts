import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execFileAsync } from './env.js';

export type TestKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-1024' | 'ec-secp256k1';

/** A key and CSR made by OpenSSL, the independent client: what a holder's software would send. */
export async function opensslCsr(dir: string, name: string, key: TestKeyType = 'ec-p256', subject = '/CN=ignored'): Promise<{ csrPath: string; keyPath: string; csrPem: string }> {
  const keyPath = path.join(dir, `${name}.key`);
  const csrPath = path.join(dir, `${name}.csr`);
  const newkey =
    key.startsWith('rsa') ? ['-newkey', `rsa:${key.slice(4)}`] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key === 'ec-secp256k1' ? 'secp256k1' : key === 'ec-p384' ? 'P-384' : 'P-256'}`];
  await execFileAsync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', keyPath, '-subj', subject, '-out', csrPath]);
  return { csrPath, keyPath, csrPem: readFileSync(csrPath, 'utf8') };
}

export const CITIZEN = {
  fin: '5ZX2K7Q',
  givenName: 'Leyla',
  surname: 'Əliyeva',
  email: 'leyla@example.az',
  phone: '+994501234567',
};
