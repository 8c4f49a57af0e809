import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startServe } from '../helpers/cli.js';
import { opensslCsr, CITIZEN } from '../helpers/csr.js';
import { createTestDatabase, openssl, removeDir, tempDir, type TestDatabase } from '../helpers/env.js';

/**
 * The CLI end to end, as an operator runs it: `ca init`, `ca export`, `cert issue` for every
 * profile, `cert show/list` — with OpenSSL as the independent judge of what comes out.
 */
const dir = tempDir();
const dataDir = path.join(dir, 'data');
const pki = path.join(dir, 'pki');
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
let server: Awaited<ReturnType<typeof startServe>> | undefined;

const eimza = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], env);

const holders = {
  person: { ...CITIZEN },
  representative: { ...CITIZEN, organization: 'Rəqəmsal İnkişaf Nazirliyi', voen: '1400057421' },
  server: { memberName: 'Dövlət Vergi Xidməti', memberClass: 'GOV', memberCode: '1401555071', dnsName: 'ss1.taxes.gov.az' },
};

const PROFILES: { profile: string; holder: keyof typeof holders; ca: string; keyUsage: RegExp; eku?: RegExp }[] = [
  { profile: 'signature', holder: 'person', ca: 'eimza', keyUsage: /X509v3 Key Usage: critical\s+Non Repudiation\n/ },
  { profile: 'authentication', holder: 'person', ca: 'eimza', keyUsage: /X509v3 Key Usage: critical\s+Digital Signature\n/, eku: /TLS Web Client Authentication\n/ },
  { profile: 'encryption', holder: 'representative', ca: 'eimza', keyUsage: /X509v3 Key Usage: critical\s+Key Agreement\n/, eku: /E-mail Protection\n/ },
  { profile: 'mobile-auth', holder: 'person', ca: 'mobile', keyUsage: /X509v3 Key Usage: critical\s+Digital Signature\n/, eku: /TLS Web Client Authentication\n/ },
  { profile: 'mobile-sign', holder: 'person', ca: 'mobile', keyUsage: /X509v3 Key Usage: critical\s+Non Repudiation\n/ },
  { profile: 'server-signing', holder: 'server', ca: 'portal', keyUsage: /X509v3 Key Usage: critical\s+Non Repudiation\n/ },
  { profile: 'server-tls', holder: 'server', ca: 'portal', keyUsage: /X509v3 Key Usage: critical\s+Digital Signature\n/, eku: /TLS Web Server Authentication, TLS Web Client Authentication\n/ },
];

beforeAll(async () => {
  database = await createTestDatabase();
  env = { EIMZA_KEYSTORE: 'software', ...(database.url ? { DATABASE_URL: database.url } : {}) };
  for (const [name, h] of Object.entries(holders)) writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(h));
  const init = await eimza('ca', 'init', '--root-algorithm', 'ec-p384', '--algorithm', 'ec-p256');
  expect(init.stderr).not.toMatch(/error/);
  expect(init.code).toBe(0);
  const exported = await eimza('ca', 'export', '--out', pki);
  expect(exported.code).toBe(0);
  // `ca init` and `ca export` above opened the data directory themselves; from here on the CLI
  // goes through a running server, as an operator's would (and each call skips opening PGlite).
  server = await startServe(['--data-dir', dataDir, 'serve', '--port', '0'], env);
});

afterAll(async () => {
  await server?.stop();
  await database.drop();
  removeDir(dir);
});

describe('ca export', () => {
  it('writes every CA certificate, its chain and its OCSP signer, all verifying to the root', async () => {
    for (const ca of ['eimza', 'mobile', 'portal']) {
      const v = await openssl(['verify', '-CAfile', path.join(pki, 'root.pem'), path.join(pki, `${ca}.pem`)]);
      expect(v.stdout).toContain(': OK');
      const chain = readFileSync(path.join(pki, `chain-${ca}.pem`), 'utf8');
      expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      const ocsp = await openssl(['verify', '-CAfile', path.join(pki, 'root.pem'), '-untrusted', path.join(pki, `${ca}.pem`), '-purpose', 'ocsphelper', path.join(pki, `${ca}-ocsp.pem`)]);
      expect(ocsp.stdout).toContain(': OK');
      const text = (await openssl(['x509', '-in', path.join(pki, `${ca}-ocsp.pem`), '-noout', '-text'])).stdout;
      expect(text).toMatch(/OCSP Signing/);
      expect(text).toMatch(/OCSP No Check/);
    }
    const root = (await openssl(['x509', '-in', path.join(pki, 'root.pem'), '-noout', '-text'])).stdout;
    expect(root).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(root).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(root).toMatch(/ASN1 OID: secp384r1/);
  });
});

describe('cert issue', () => {
  it.each(PROFILES)('issues a $profile certificate that OpenSSL verifies, with the profile\'s extensions', async ({ profile, holder, ca, keyUsage, eku }) => {
    const { csrPath } = await opensslCsr(dir, profile, 'ec-p256', '/CN=anything the CSR says/O=is ignored');
    const out = path.join(dir, `${profile}.pem`);
    const r = await eimza('cert', 'issue', '--profile', profile, '--csr', csrPath, '--holder', path.join(dir, `${holder}.json`), '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const serial = r.stdout.trim();
    expect(serial).toMatch(/^[1-7][0-9a-f]{31}$/);

    const verify = await openssl(['verify', '-CAfile', path.join(pki, 'root.pem'), '-untrusted', path.join(pki, `${ca}.pem`), out]);
    expect(verify.stdout).toContain(': OK');
    const text = (await openssl(['x509', '-in', out, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus'])).stdout;
    expect(text).toMatch(keyUsage);
    if (eku) expect(text).toMatch(eku);
    else expect(text).not.toMatch(/Extended Key Usage/);
    expect(text).not.toMatch(/anything the CSR says|is ignored/);
    expect(text).toContain(`Serial Number:`);
    expect(text).toMatch(/Authority Information Access/);
    expect(text).toMatch(/CRL Distribution Points/);

    const show = await eimza('cert', 'show', serial.toUpperCase().match(/../g)!.join(':'), '--json');
    expect(show.code).toBe(0);
    const view = JSON.parse(show.stdout);
    expect(view).toMatchObject({ serial, profile, ca, status: 'active' });
    expect(view.history.map((h: { action: string }) => h.action)).toEqual(['certificate.issued']);
  });

  it('writes the subject of a citizen with Azerbaijani letters intact', async () => {
    const { csrPath } = await opensslCsr(dir, 'az-letters');
    const out = path.join(dir, 'az-letters.pem');
    const r = await eimza('cert', 'issue', '--profile', 'signature', '--csr', csrPath, '--holder', path.join(dir, 'person.json'), '--out', out);
    expect(r.code).toBe(0);
    const subject = (await openssl(['x509', '-in', out, '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus,sname'])).stdout;
    expect(subject).toContain('C=AZ');
    expect(subject).toContain('SN=Əliyeva');
    expect(subject).toContain('CN=LEYLA ƏLİYEVA');
    expect(subject).toContain('serialNumber=PNOAZ-5ZX2K7Q');
  });

  it('accepts an RSA key and a DER CSR', async () => {
    const { csrPath } = await opensslCsr(dir, 'rsa', 'rsa-2048');
    const der = path.join(dir, 'rsa.csr.der');
    await openssl(['req', '-in', csrPath, '-outform', 'DER', '-out', der]);
    const out = path.join(dir, 'rsa-enc.pem');
    const r = await eimza('cert', 'issue', '--profile', 'encryption', '--csr', der, '--holder', path.join(dir, 'person.json'), '--out', out, '--days', '365');
    expect(r.code).toBe(0);
    const text = (await openssl(['x509', '-in', out, '-noout', '-text'])).stdout;
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Key Encipherment\n/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
  });
});

describe('cert list', () => {
  it('lists by profile and status, as JSON', async () => {
    const r = await eimza('cert', 'list', '--profile', 'signature', '--status', 'active', '--json');
    expect(r.code).toBe(0);
    const views = JSON.parse(r.stdout) as { profile: string; status: string }[];
    expect(views.length).toBeGreaterThanOrEqual(2);
    expect(views.every((v) => v.profile === 'signature' && v.status === 'active')).toBe(true);
  });

  it('answers notFound for a serial never issued', async () => {
    const r = await eimza('cert', 'show', '7f:00:11');
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/^eimza: error \[certificateNotFound\]/);
  });
});

describe('audit verify', () => {
  it('passes on the log the commands above wrote', async () => {
    const r = await eimza('audit', 'verify');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit log intact: \d+ events/);
  });
});
