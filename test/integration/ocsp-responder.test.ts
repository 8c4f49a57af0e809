import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { randomSerial } from '../../src/domain/serial.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { execFileAsync, openssl } from '../helpers/env.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * The OCSP responder over HTTP, judged by OpenSSL and GnuTLS as independent clients:
 * good, suspended (revoked/certificateHold), restored (good), revoked; unknown serials;
 * foreign issuers; malformed and oversized requests; GET and POST.
 */
let pki: PkiFixture;
let ocspUrl: string;

beforeAll(async () => {
  pki = await openPkiFixture();
  ocspUrl = `${pki.server.url}/ocsp`;
});

afterAll(async () => {
  await pki.close();
});

/** `openssl ocsp` as a relying party; it exits 0 for revoked too, so the output is what counts. */
async function ask(certPath: string, ...extra: string[]): Promise<string> {
  const r = await openssl(['ocsp', '-issuer', pki.pem('eimza'), ...extra, '-cert', certPath, '-url', ocspUrl, '-CAfile', pki.pem('root'), '-resp_text']);
  return r.stdout + r.stderr;
}

function statusLine(out: string, certPath: string): string {
  return out.split('\n').find((l) => l.startsWith(`${certPath}:`))?.slice(certPath.length + 1).trim() ?? `(no status line in ${out})`;
}

function issuerParts() {
  const ca = inspectCertificate(decodePemOrDer(readFileSync(pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
  return { name: ca.subjectNameDer, spki: ca.subjectPublicKeySpki };
}

async function postOcsp(body: Uint8Array, contentType = 'application/ocsp-request') {
  const res = await fetch(ocspUrl, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { res, der: new Uint8Array(await res.arrayBuffer()) };
}

describe('OCSP answers through the lifecycle (openssl ocsp)', () => {
  it('says good, then revoked/certificateHold, then good again, then revoked keyCompromise', async () => {
    const { serial, certPath } = await pki.issue('ocsp-life');
    for (const flags of [['-no_nonce'], [], ['-no_nonce', '-sha256']]) {
      const out = await ask(certPath, ...flags);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, certPath)).toBe('good');
    }
    // The pre-signed path (no nonce) is as fresh as X-Road wants: nextUpdate ≥ 20 minutes ahead.
    const cached = await ask(certPath, '-no_nonce');
    const next = /Next Update: (.+)/.exec(cached)?.[1];
    expect(new Date(next!).getTime() - Date.now()).toBeGreaterThan(20 * 60_000);

    await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial, actor: 'test' });
    for (const flags of [['-no_nonce'], []]) {
      const out = await ask(certPath, ...flags);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, certPath)).toBe('revoked');
      expect(out).toMatch(/Reason: certificateHold/);
    }
    await changeCertificateStatus(pki.ctx.ca, 'restore', { serial, actor: 'test' });
    expect(statusLine(await ask(certPath, '-no_nonce'), certPath)).toBe('good');
    expect(statusLine(await ask(certPath, '-no_nonce', '-sha256'), certPath)).toBe('good');

    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial, actor: 'test', reason: 'keyCompromise' });
    for (const flags of [['-no_nonce'], ['-no_nonce', '-sha256'], []]) {
      const out = await ask(certPath, ...flags);
      expect(out).toContain('Response verify OK');
      expect(statusLine(out, certPath)).toBe('revoked');
      expect(out).toMatch(/Reason: keyCompromise/);
    }
  });

  it("answers for the issuing CA certificates through the root's responder", async () => {
    const r = await openssl(['ocsp', '-issuer', pki.pem('root'), '-cert', pki.pem('eimza'), '-url', ocspUrl, '-CAfile', pki.pem('root'), '-no_nonce']);
    expect(r.stdout + r.stderr).toContain('Response verify OK');
    expect(statusLine(r.stdout, pki.pem('eimza'))).toBe('good');
  });

  it('echoes the nonce of a nonce request (no warning from openssl)', async () => {
    const { certPath } = await pki.issue('ocsp-nonce');
    const out = await ask(certPath);
    expect(out).toContain('Response verify OK');
    expect(out).not.toMatch(/WARNING: no nonce/i);
    expect(out).toMatch(/OCSP Nonce/);
  });

  it('answers several certificates in one request', async () => {
    const a = await pki.issue('ocsp-multi-a');
    const b = await pki.issue('ocsp-multi-b');
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: b.serial, actor: 'test', reason: 'superseded' });
    const r = await openssl(['ocsp', '-issuer', pki.pem('eimza'), '-cert', a.certPath, '-cert', b.certPath, '-url', ocspUrl, '-CAfile', pki.pem('root')]);
    const out = r.stdout + r.stderr;
    expect(out).toContain('Response verify OK');
    expect(statusLine(out, a.certPath)).toBe('good');
    expect(statusLine(out, b.certPath)).toBe('revoked');
    expect(out).toMatch(/Reason: superseded/);
  });

  it('says unknown for a serial never issued, never good', async () => {
    const out = (await openssl(['ocsp', '-issuer', pki.pem('eimza'), '-serial', `0x${randomSerial()}`, '-url', ocspUrl, '-CAfile', pki.pem('root'), '-no_nonce'])).stdout;
    expect(out).toMatch(/: unknown/);
    // A certificate of another of our CAs asked for under the wrong issuer is unknown too.
    const { name, spki } = issuerParts();
    const portal = await pki.issue('portal-as-eimza', 'server-tls', { memberName: 'Rabitə', memberClass: 'GOV', memberCode: '1400057421', dnsName: 'ss2.gov.az' });
    const { der } = await postOcsp(buildOcspRequest([buildCertId('sha1', name, spki, portal.serial as never)]));
    expect(inspectOcspResponse(der).responses?.[0]?.status.kind).toBe('unknown');
  });
});

describe('OCSP errors', () => {
  it('answers unauthorized for an issuer that is not ours', async () => {
    const other = path.join(pki.dir, 'foreign');
    await execFileAsync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${other}.key`, '-subj', '/CN=Foreign CA', '-days', '2', '-out', `${other}.pem`]);
    const r = await openssl(['ocsp', '-issuer', `${other}.pem`, '-serial', '0x1234', '-url', ocspUrl, '-no_nonce']);
    expect((r.stdout + r.stderr).toLowerCase()).toMatch(/responder error: unauthorized/);
  });

  it('answers malformedRequest for garbage, and refuses oversized bodies', async () => {
    const garbage = await postOcsp(randomBytes(64));
    expect(garbage.res.status).toBe(200);
    expect(garbage.res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(inspectOcspResponse(garbage.der).status).toBe('malformedRequest');
    const huge = await postOcsp(randomBytes(64 * 1024));
    expect(huge.res.status).toBe(413);
    expect(inspectOcspResponse(huge.der).status).toBe('malformedRequest');
    const get = await fetch(`${ocspUrl}/${encodeURIComponent(Buffer.from('not an ocsp request').toString('base64'))}`);
    expect(inspectOcspResponse(new Uint8Array(await get.arrayBuffer())).status).toBe('malformedRequest');
    // The server is still answering.
    const { certPath } = await pki.issue('after-errors');
    expect(statusLine(await ask(certPath, '-no_nonce'), certPath)).toBe('good');
  });

  it('answers GET /ocsp/{base64} (RFC 5019) with caching headers', async () => {
    const { serial } = await pki.issue('ocsp-get');
    const { name, spki } = issuerParts();
    const request = buildOcspRequest([buildCertId('sha1', name, spki, serial as never)]);
    const res = await fetch(`${ocspUrl}/${encodeURIComponent(Buffer.from(request).toString('base64'))}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const info = inspectOcspResponse(new Uint8Array(await res.arrayBuffer()));
    expect(info.status).toBe('successful');
    expect(info.responses?.[0]?.status.kind).toBe('good');
    expect(info.responses?.[0]?.certId.serial).toBe(serial);
  });
});

describe('GnuTLS ocsptool as the client', () => {
  const ocsptool = (args: string[]) =>
    new Promise<string>((resolve) => execFile('ocsptool', args, { encoding: 'utf8' }, (_e, stdout, stderr) => resolve(stdout + stderr)));

  it('verifies good and revoked answers, with a nonce', async () => {
    const good = await pki.issue('gnutls-good');
    const revoked = await pki.issue('gnutls-revoked');
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: revoked.serial, actor: 'test', reason: 'keyCompromise' });
    // GnuTLS checks a delegated responder against the issuer given as trust anchor.
    const base = ['--load-issuer', pki.pem('eimza'), '--load-trust', pki.pem('eimza'), '--nonce'];
    const g = await ocsptool([`--ask=${ocspUrl}`, ...base, '--load-cert', good.certPath]);
    expect(g).toMatch(/Response Status: Successful/i);
    expect(g).toMatch(/Certificate Status: good/i);
    expect(g).toMatch(/Nonce/i);
    expect(g).toMatch(/Verifying OCSP Response: Success/i);
    const r = await ocsptool([`--ask=${ocspUrl}`, ...base, '--load-cert', revoked.certPath]);
    expect(r).toMatch(/Certificate Status: revoked/i);
    expect(r).toMatch(/Verifying OCSP Response: Success/i);
  });
});
