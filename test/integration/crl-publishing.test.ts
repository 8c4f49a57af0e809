import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { pemEncode } from '../../src/x509/pem.js';
import { inspectCrl } from '../../src/x509/crl.js';
import { openssl } from '../helpers/env.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * CRLs as relying parties use them: `openssl crl` reads and verifies them, `openssl verify
 * -crl_check` (with delta CRLs) rejects revoked and accepts restored certificates, GnuTLS
 * `certtool --verify-crl` accepts every CRL, and GET /crl serves them with caching headers.
 */
let pki: PkiFixture;

beforeAll(async () => {
  pki = await openPkiFixture();
});

afterAll(async () => {
  await pki.close();
});

async function fetchCrl(file: string): Promise<{ path: string; der: Uint8Array; res: Response }> {
  const res = await fetch(`${pki.server.url}/crl/${file}`);
  const der = new Uint8Array(await res.arrayBuffer());
  const out = path.join(pki.dir, `${file}.${Date.now()}.pem`);
  writeFileSync(out, pemEncode('X509 CRL', der));
  return { path: out, der, res };
}

async function verify(certPath: string, crls: string[], extra: string[] = []): Promise<string> {
  const r = await openssl(['verify', '-crl_check', ...extra, '-CAfile', pki.pem('root'), '-untrusted', pki.pem('eimza'), ...crls.flatMap((c) => ['-CRLfile', c]), certPath]);
  return r.stdout + r.stderr;
}

const certtool = (args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile('certtool', args, { encoding: 'utf8' }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr })),
  );

describe('full CRLs', () => {
  it('list revoked and suspended certificates with reasons and dates, verified by OpenSSL and GnuTLS', async () => {
    const good = await pki.issue('crl-good');
    const compromised = await pki.issue('crl-compromised');
    const held = await pki.issue('crl-held');
    const invalidityDate = new Date('2026-11-30T12:00:00Z');
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: compromised.serial, actor: 'test', reason: 'keyCompromise', invalidityDate });
    await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial: held.serial, actor: 'test' });
    const published = await pki.ctx.crl.publish({ caName: 'eimza', kind: 'full' });
    expect(published).toHaveLength(1);

    const crl = await fetchCrl('eimza.crl');
    expect(crl.res.headers.get('content-type')).toBe('application/pkix-crl');
    const text = await openssl(['crl', '-in', crl.path, '-noout', '-text', '-CAfile', pki.pem('chain-eimza')]);
    // `openssl crl -CAfile` exits 0 even when the signature is bad: the words are what count.
    expect(text.stdout + text.stderr).toContain('verify OK');
    expect(text.stdout).toContain(`Serial Number: ${compromised.serial.toUpperCase()}`);
    expect(text.stdout).toContain(`Serial Number: ${held.serial.toUpperCase()}`);
    expect(text.stdout).not.toContain(good.serial.toUpperCase());
    expect(text.stdout).toMatch(/Key Compromise/);
    expect(text.stdout).toMatch(/Certificate Hold/);
    expect(text.stdout).toMatch(/Invalidity Date:\s*\n\s*Nov 30 12:00:00 2026 GMT/);
    expect(text.stdout).toMatch(/X509v3 CRL Number:\s*\n\s*\d+/);
    expect(text.stdout).toContain('X509v3 Freshest CRL');
    expect(text.stdout).toContain('X509v3 Authority Key Identifier');

    expect(await verify(compromised.certPath, [crl.path])).toMatch(/certificate revoked/);
    expect(await verify(held.certPath, [crl.path])).toMatch(/certificate revoked/);
    expect(await verify(good.certPath, [crl.path])).toMatch(/: OK/);

    const gnutls = await certtool(['--verify-crl', '--load-ca-certificate', pki.pem('eimza'), '--infile', crl.path]);
    expect(gnutls.code).toBe(0);
    expect(gnutls.out).toMatch(/Verified/i);
  });

  it('serves CRLs with ETag and a 304 for a fresh copy, and writes them to the data directory', async () => {
    await pki.ctx.crl.publish({ caName: 'eimza' });
    const first = await fetchCrl('eimza.crl');
    const etag = first.res.headers.get('etag')!;
    expect(etag).toMatch(/^"eimza-all-\d+"$/);
    expect(first.res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const again = await fetch(`${pki.server.url}/crl/eimza.crl`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const onDisk = readFileSync(path.join(pki.ctx.config.dataDir, 'crl', 'eimza.crl'));
    expect(Buffer.from(first.der).equals(onDisk)).toBe(true);
    expect((await fetch(`${pki.server.url}/crl/nosuch.crl`)).status).toBe(404);
    const caCert = await fetch(`${pki.server.url}/ca/eimza.crt`);
    expect(caCert.headers.get('content-type')).toBe('application/pkix-cert');
    expect(pemEncode('CERTIFICATE', new Uint8Array(await caCert.arrayBuffer()))).toBe(readFileSync(pki.pem('eimza'), 'utf8'));
  });

  it('numbers full and delta CRLs in one increasing sequence', async () => {
    const a = await pki.ctx.crl.publish({ caName: 'mobile' });
    const b = await pki.ctx.crl.publish({ caName: 'mobile' });
    const numbers = [...a, ...b].map((p) => BigInt(p.number));
    expect(numbers).toEqual([...numbers].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});

describe('delta CRLs', () => {
  it('carry changes since the base: a restored certificate as removeFromCRL, a new revocation with its reason', async () => {
    const restored = await pki.issue('delta-restored');
    const later = await pki.issue('delta-later');
    await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial: restored.serial, actor: 'test' });
    await pki.ctx.crl.publish({ caName: 'eimza', kind: 'full' });
    const base = await fetchCrl('eimza.crl');
    expect(await verify(restored.certPath, [base.path])).toMatch(/certificate revoked/);

    await changeCertificateStatus(pki.ctx.ca, 'restore', { serial: restored.serial, actor: 'test' });
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: later.serial, actor: 'test', reason: 'cessationOfOperation' });
    await pki.ctx.crl.publish({ caName: 'eimza', kind: 'delta' });
    const delta = await fetchCrl('eimza-delta.crl');
    const info = inspectCrl(delta.der);
    expect(info.deltaOf).toBe(inspectCrl(base.der).crlNumber);
    expect(info.crlNumber).toBeGreaterThan(inspectCrl(base.der).crlNumber);
    expect(info.entries.map((e) => [e.serial, e.reason]).sort()).toEqual(
      [
        [restored.serial, 'removeFromCRL'],
        [later.serial, 'cessationOfOperation'],
      ].sort(),
    );
    const text = await openssl(['crl', '-in', delta.path, '-noout', '-text', '-CAfile', pki.pem('chain-eimza')]);
    expect(text.stdout + text.stderr).toContain('verify OK');
    expect(text.stdout).toMatch(/X509v3 Delta CRL Indicator: critical/);
    expect(text.stdout).toMatch(/Remove From CRL/);

    const deltas = ['-use_deltas', '-extended_crl'];
    expect(await verify(restored.certPath, [base.path, delta.path], deltas)).toMatch(/: OK/);
    expect(await verify(later.certPath, [base.path, delta.path], deltas)).toMatch(/certificate revoked/);
    // Without the delta, the base alone still holds the suspension.
    expect(await verify(restored.certPath, [base.path])).toMatch(/certificate revoked/);
    expect((await certtool(['--verify-crl', '--load-ca-certificate', pki.pem('eimza'), '--infile', delta.path])).code).toBe(0);
  });
});

describe('partitioned CRLs', () => {
  let parted: PkiFixture;
  beforeAll(async () => {
    parted = await openPkiFixture({ pki: { revocation: { crlPartitions: 4 } } });
  });
  afterAll(async () => {
    await parted.close();
  });

  it("point each certificate's CDP at its partition, a complete CRL with a critical IDP", async () => {
    const certs = [];
    for (let i = 0; i < 6; i++) certs.push(await parted.issue(`part-${i}`));
    await changeCertificateStatus(parted.ctx.ca, 'revoke', { serial: certs[0]!.serial, actor: 'test', reason: 'superseded' });
    const published = await parted.ctx.crl.publish({ caName: 'eimza' });
    const text = (await openssl(['x509', '-in', certs[0]!.certPath, '-noout', '-ext', 'crlDistributionPoints'])).stdout;
    const file = /\/crl\/(eimza-p\d\.crl)/.exec(text)?.[1];
    expect(file).toBeDefined();
    expect(published.map((p) => p.file)).toContain(file);
    const res = await fetch(`${parted.server.url}/crl/${file}`);
    const der = new Uint8Array(await res.arrayBuffer());
    const crlPath = path.join(parted.dir, file!);
    writeFileSync(crlPath, pemEncode('X509 CRL', der));
    const shown = await openssl(['crl', '-in', crlPath, '-noout', '-text', '-CAfile', parted.pem('chain-eimza')]);
    expect(shown.stdout + shown.stderr).toContain('verify OK');
    expect(shown.stdout).toMatch(/X509v3 Issuing Distribution Point: critical/);
    expect(shown.stdout).toContain(`/crl/${file}`);
    expect(inspectCrl(der).entries.map((e) => e.serial)).toEqual([certs[0]!.serial]);
    const r = await openssl(['verify', '-crl_check', '-CAfile', parted.pem('root'), '-untrusted', parted.pem('eimza'), '-CRLfile', crlPath, certs[0]!.certPath]);
    expect(r.stdout + r.stderr).toMatch(/certificate revoked/);
  });
});
