import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileAsync, openssl } from '../helpers/env.js';
import { openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * CMP at POST /cmp with `openssl cmp` as the security server's client (RFC 4210, lightweight
 * profile RFC 9483): ir with -ref/-secret, p10cr with an `openssl req` CSR, kur with -cert/-key,
 * rr with -oldcert -revreason, genm for the CA certificates, and a wrong secret refused. Every
 * answer is signed by the portal CA's CMP signer, which openssl checks against root.pem.
 */
let f: RaFixture;
let url: string;
let ref: string;
let secret: string;
const MEMBER = { name: 'Rəqəmsal İnkişaf Nazirliyi', memberClass: 'GOV', code: '1401555071' };
const DNS = 'ss1.digital.gov.az';
const file = (name: string) => path.join(f.dir, name);

beforeAll(async () => {
  f = await openRaFixture();
  url = f.url.replace('http://', '') + '/cmp';
  expect((await f.api('POST', '/api/v1/members', f.tokens.caOperator, MEMBER)).status).toBe(201);
  const added = await f.api('POST', `/api/v1/members/${MEMBER.code}/servers`, f.tokens.caOperator, { serverCode: 'SS1', dnsName: DNS });
  ({ ref, secret } = added.body.enrolment);
}, 120_000);
afterAll(async () => {
  await f?.close();
});

const PORTAL = '/C=AZ/O=e-imza/CN=e-imza Portal CA';

/** openssl cmp against our server; every answer must chain to the root (openssl checks the CMP signer). */
function cmp(args: string[]) {
  return openssl(['cmp', '-config', '', '-server', url, '-msg_timeout', '20', '-trusted', f.pki.pem('root'), '-recipient', PORTAL, ...args]);
}

/** Exit 0; on failure the diff shows openssl's output (it logs to stdout). */
function expectSuccess(run: { code: number; stdout: string; stderr: string }): void {
  expect({ code: run.code, out: run.stdout + run.stderr }).toEqual({ code: 0, out: expect.any(String) });
}

async function newKey(name: string): Promise<string> {
  const keyFile = file(`${name}.key`);
  await execFileAsync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  return keyFile;
}

async function verified(certFile: string): Promise<string> {
  expect((await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('portal'), certFile])).stdout).toContain(': OK');
  return (await openssl(['x509', '-in', certFile, '-noout', '-text', '-nameopt', 'RFC2253,-esc_msb'])).stdout;
}

async function serialOf(certFile: string): Promise<string> {
  return (await openssl(['x509', '-in', certFile, '-noout', '-serial'])).stdout.trim().replace('serial=', '').toLowerCase().replace(/^0+/, '');
}

describe('CMP with openssl cmp as the client', () => {
  it('refuses a wrong secret with badMessageCheck, and an unknown reference', async () => {
    const key = await newKey('wrong');
    const wrong = await cmp(['-cmd', 'ir', '-ref', ref, '-secret', 'pass:not-the-secret', '-newkey', key, '-subject', `/CN=${DNS}`, '-certout', file('wrong.pem')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(/badMessageCheck/);
    const unknown = await cmp(['-cmd', 'ir', '-ref', 'Enope', '-secret', `pass:${secret}`, '-newkey', key, '-subject', `/CN=${DNS}`, '-certout', file('wrong.pem')]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout + unknown.stderr).toMatch(/badMessageCheck/);
  });

  it('ir with -ref/-secret: a TLS certificate for the registered server, and the root in caPubs', async () => {
    const key = await newKey('tls');
    const run = await cmp(['-cmd', 'ir', '-ref', ref, '-secret', `pass:${secret}`, '-newkey', key, '-subject', `/CN=${DNS}`, '-certout', file('tls.pem'), '-cacertsout', file('capubs.pem'), '-extracertsout', file('extra.pem')]);
    expectSuccess(run);
    const text = await verified(file('tls.pem'));
    expect(text).toContain(`Subject: CN=${DNS},serialNumber=${MEMBER.code}`);
    expect(text).toContain(`DNS:${DNS}`);
    expect(readFileSync(file('capubs.pem'), 'utf8')).toBe(readFileSync(f.pki.pem('root'), 'utf8'));
    // The answer was signed by the CMP signer, whose certificate came first in extraCerts.
    const signer = (await openssl(['x509', '-in', file('extra.pem'), '-noout', '-subject', '-ext', 'extendedKeyUsage,keyUsage'])).stdout;
    expect(signer).toContain('CN = e-imza Portal CA CMP');
    expect(signer).toMatch(/Digital Signature/);
    expect(signer).toMatch(/1\.3\.6\.1\.5\.5\.7\.3\.28|CMC Registration Authority/);
  });

  it('refuses a template naming someone else, and a key already certified', async () => {
    const key = await newKey('other');
    const other = await cmp(['-cmd', 'ir', '-ref', ref, '-secret', `pass:${secret}`, '-newkey', key, '-subject', '/CN=evil.example.az/O=Someone Else', '-certout', file('other.pem')]);
    expect(other.code).not.toBe(0);
    expect(other.stdout).toMatch(/badCertTemplate/);
    const again = await cmp(['-cmd', 'ir', '-ref', ref, '-secret', `pass:${secret}`, '-newkey', file('tls.key'), '-subject', `/CN=${DNS}`, '-certout', file('again.pem')]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toMatch(/duplicateCertReq/);
  });

  it('p10cr with an openssl req CSR: the signing certificate, whose CSR extensions are ignored', async () => {
    const key = await newKey('signing');
    await execFileAsync('openssl', ['req', '-new', '-utf8', '-key', key, '-subj', `/CN=${MEMBER.code}`, '-addext', 'keyUsage=critical,keyCertSign,nonRepudiation', '-out', file('signing.csr')]);
    const run = await cmp(['-cmd', 'p10cr', '-ref', ref, '-secret', `pass:${secret}`, '-csr', file('signing.csr'), '-certout', file('signing.pem')]);
    expectSuccess(run);
    const text = await verified(file('signing.pem'));
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Non Repudiation\n/);
    expect(text).toContain(`O=${MEMBER.name}`);
    // Both certificates issued: the enrolment secret is spent.
    const spent = await cmp(['-cmd', 'ir', '-ref', ref, '-secret', `pass:${secret}`, '-newkey', await newKey('late'), '-subject', `/CN=${DNS}`, '-certout', file('late.pem')]);
    expect(spent.code).not.toBe(0);
  });

  it('kur with -cert/-key: a new TLS key, certified under the same registration', async () => {
    const newKeyFile = await newKey('tls2');
    const run = await cmp(['-cmd', 'kur', '-cert', file('tls.pem'), '-key', file('tls.key'), '-newkey', newKeyFile, '-certout', file('tls2.pem')]);
    expectSuccess(run);
    const text = await verified(file('tls2.pem'));
    expect(text).toContain(`DNS:${DNS}`);
    expect(await serialOf(file('tls2.pem'))).not.toBe(await serialOf(file('tls.pem')));
  });

  it('rr with -oldcert -revreason: the certificate is revoked with that reason; a stranger cannot', async () => {
    const run = await cmp(['-cmd', 'rr', '-cert', file('signing.pem'), '-key', file('signing.key'), '-oldcert', file('tls2.pem'), '-revreason', '5']);
    expectSuccess(run);
    const serial = await serialOf(file('tls2.pem'));
    expect((await f.api('GET', `/api/v1/certificates/${serial}`, null)).body).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    // Signed with a certificate that is not a current one of a registered server: refused.
    const revokedSigner = await cmp(['-cmd', 'rr', '-cert', file('tls2.pem'), '-key', file('tls2.key'), '-oldcert', file('tls.pem'), '-revreason', '1']);
    expect(revokedSigner.code).not.toBe(0);
    expect(revokedSigner.stdout).toMatch(/signerNotTrusted|notAuthorized/);
  });

  it('genm answers the CA certificates', async () => {
    const run = await cmp(['-cmd', 'genm', '-cert', file('signing.pem'), '-key', file('signing.key'), '-infotype', 'caCerts']);
    expectSuccess(run);
    expect(run.stdout).toMatch(/caCerts|genp/i);
  });

  it('answers garbage and the wrong media type without a crash', async () => {
    const garbage = await fetch(`${f.url}/cmp`, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: Buffer.from('not DER at all') });
    expect(garbage.status).toBe(200);
    expect(garbage.headers.get('content-type')).toBe('application/pkixcmp');
    writeFileSync(file('garbage-answer.der'), Buffer.from(await garbage.arrayBuffer()));
    const parsed = await openssl(['asn1parse', '-inform', 'DER', '-in', file('garbage-answer.der')]);
    expect(parsed.code).toBe(0);
    const json = await fetch(`${f.url}/cmp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { code: string }).code).toBe('unsupportedMediaType');
  });
});
