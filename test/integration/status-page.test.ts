import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { getCertificate } from '../../src/ca/queries.js';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { FakeClock } from '../../src/clock.js';
import { formatSerialWithColons, randomSerial } from '../../src/domain/serial.js';
import { assembleCertificate, signTbs } from '../../src/x509/certificate.js';
import { pemEncode } from '../../src/x509/pem.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { execFileAsync, openssl } from '../helpers/env.js';
import { openPkiFixture, SERVER_HOLDER, type PkiFixture } from '../helpers/pki.js';

/**
 * The public status page over HTTP: every status (valid, suspended, revoked, expired, never
 * issued, not ours), the JSON variant, both languages, the lists with paging, security headers,
 * bad input and the rate limit. What it says is compared with `openssl ocsp` on the same
 * certificate: the page and OCSP share one status decision.
 */
const clock = new FakeClock(new Date());
let pki: PkiFixture;

beforeAll(async () => {
  pki = await openPkiFixture({ clock });
});

afterAll(async () => {
  await pki.close();
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The rate limit counts per client address: each test talks from its own loopback address. */
let nextAddress = 10;
function client() {
  const from = `127.0.0.${nextAddress++}`;
  const send = (method: string, target: string, headers: Record<string, string> = {}, body?: Buffer | string) =>
    new Promise<Reply>((resolve, reject) => {
      const url = new URL(target, pki.server.url);
      const req = http.request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers, localAddress: from }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    from,
    get: (target: string, headers?: Record<string, string>) => send('GET', target, headers),
    json: async (target: string, headers: Record<string, string> = {}) => {
      const r = await send('GET', target, { accept: 'application/json', ...headers });
      return { ...r, body: JSON.parse(r.text) as Record<string, unknown> };
    },
    form: (target: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      send('POST', target, { 'content-type': 'application/x-www-form-urlencoded', ...headers }, new URLSearchParams(fields).toString()),
    multipart: (target: string, parts: { name: string; filename?: string; data: Buffer | string }[], headers: Record<string, string> = {}) => {
      const boundary = `----eimza${randomBytes(8).toString('hex')}`;
      const body = Buffer.concat([
        ...parts.flatMap((p) => [
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n${p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`),
          Buffer.from(p.data),
          Buffer.from('\r\n'),
        ]),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
      return send('POST', target, { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers }, body);
    },
    raw: (target: string, contentType: string, body: Buffer | string, headers: Record<string, string> = {}) => send('POST', target, { 'content-type': contentType, ...headers }, body),
  };
}

/** The text of the page without its markup, whitespace folded: what a reader sees. */
function visible(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

function h1(html: string): string[] {
  return [...html.matchAll(/<h1[^>]*>([\s\S]*?)<\/h1>/g)].map((m) => visible(m[1]!).trim());
}

/** `openssl ocsp` as a relying party, the status line and the reason line. */
async function ocsp(certPath: string, issuer = 'eimza'): Promise<{ status: string; reason: string | undefined }> {
  const r = await openssl(['ocsp', '-issuer', pki.pem(issuer), '-cert', certPath, '-url', `${pki.server.url}/ocsp`, '-CAfile', pki.pem('root'), '-no_nonce']);
  const out = r.stdout + r.stderr;
  expect(out).toContain('Response verify OK');
  const status = out.split('\n').find((l) => l.startsWith(`${certPath}:`))?.slice(certPath.length + 1).trim() ?? `(no status in ${out})`;
  return { status, reason: /Reason: (\w+)/.exec(out)?.[1] };
}

const REPRESENTATIVE = { ...CITIZEN, organization: 'Vergilər Nazirliyi', voen: '1400057421' };
const PROVENANCE = { officeCode: 'AZP-014', operator: 'Aysel Məmmədova', batch: 'CHIP-2026-11' };

describe('a certificate page', () => {
  it('shows a valid certificate with what its subject says, and nothing of the holder record', async () => {
    const c = client();
    const { serial, certPath } = await pki.issue('page-valid', 'signature', REPRESENTATIVE, PROVENANCE);
    const page = await c.get(`/certificates/${serial}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(/^<!doctype html>\n<html lang="az">/);
    expect(h1(page.text)).toEqual(['Sertifikat etibarlıdır']);
    const text = visible(page.text);
    for (const expected of ['Elektron imza', 'LEYLA ƏLİYEVA', 'Vergilər Nazirliyi', 'NTRAZ-1400057421', 'e-imza CA', formatSerialWithColons(serial as never), 'OCSP cavabı good', 'Bakı vaxtı']) {
      expect(text).toContain(expected);
    }
    // The subject's serialNumber is PNOAZ-<FIN>: not shown; nor anything of the holder record or provenance.
    for (const secret of [CITIZEN.fin, 'PNOAZ', CITIZEN.email, CITIZEN.phone, PROVENANCE.officeCode, PROVENANCE.operator, PROVENANCE.batch]) {
      expect(page.text).not.toContain(secret);
    }
    expect(page.text).toContain('href="/ca/eimza.crt"');
    expect((await ocsp(certPath)).status).toBe('good');

    const json = await c.json(`/certificates/${serial}`);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toContain('application/json');
    expect(json.body).toMatchObject({
      serial,
      issuedByUs: true,
      type: 'signature',
      typeName: 'Elektron imza',
      subject: { commonName: 'LEYLA ƏLİYEVA', organization: 'Vergilər Nazirliyi', organizationIdentifier: 'NTRAZ-1400057421' },
      issuer: { ca: 'eimza', commonName: 'e-imza CA' },
      status: 'valid',
      statusText: 'Sertifikat etibarlıdır',
      since: null,
      ocsp: { status: 'good' },
    });
    const record = await getCertificate(pki.ctx.ca, serial);
    expect(json.body.notAfter).toBe(record.notAfter.toISOString());
    for (const secret of [CITIZEN.fin, CITIZEN.email, CITIZEN.phone, PROVENANCE.officeCode, 'provenance']) expect(json.text).not.toContain(secret);
  });

  it("shows a security server's organisation and member code (public register data)", async () => {
    const c = client();
    const { serial } = await pki.issue('page-server', 'server-tls', SERVER_HOLDER);
    const page = await c.get(`/certificates/${serial}?lang=en`);
    expect(page.status).toBe(200);
    const text = visible(page.text);
    for (const expected of ['The certificate is valid', 'Security-server TLS', 'ss1.taxes.gov.az', 'Vergilər Nazirliyi', 'Registration number 1400057421', 'Portal CA']) expect(text).toContain(expected);
  });

  it('follows suspension, restoration and revocation at once, saying what openssl ocsp says', async () => {
    const c = client();
    const { serial, certPath } = await pki.issue('page-lifecycle');
    const post = (action: string, body: unknown) =>
      fetch(`${pki.server.url}/api/v1/certificates/${serial}/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${pki.adminToken}` },
        body: JSON.stringify(body),
      });
    expect(h1((await c.get(`/certificates/${serial}`)).text)).toEqual(['Sertifikat etibarlıdır']);

    expect((await post('suspend', { comment: 'lost card' })).status).toBe(200);
    const suspended = await c.get(`/certificates/${serial}`);
    expect(h1(suspended.text)).toEqual(['Sertifikat dayandırılıb']);
    const since = (await getCertificate(pki.ctx.ca, serial)).statusChangedAt;
    expect(suspended.text).toContain(`<time datetime="${since.toISOString()}">`);
    expect(visible(suspended.text)).toContain('tarixindən dayandırılıb');
    expect(await ocsp(certPath)).toEqual({ status: 'revoked', reason: 'certificateHold' });
    expect((await c.json(`/certificates/${serial}`)).body).toMatchObject({
      status: 'suspended',
      since: since.toISOString(),
      revocationReason: 'certificateHold',
      ocsp: { status: 'revoked', revocationReason: 'certificateHold', revokedAt: since.toISOString() },
    });
    expect(visible((await c.get(`/certificates/${serial}?lang=en`)).text)).toContain('The certificate is suspended Suspended since');

    expect((await post('restore', {})).status).toBe(200);
    expect(h1((await c.get(`/certificates/${serial}`)).text)).toEqual(['Sertifikat etibarlıdır']);
    expect((await ocsp(certPath)).status).toBe('good');

    const invalidityDate = new Date(clock.now().getTime() - 3_600_000);
    expect((await post('revoke', { reason: 'keyCompromise', invalidityDate: invalidityDate.toISOString() })).status).toBe(200);
    const revoked = await c.get(`/certificates/${serial}`);
    expect(h1(revoked.text)).toEqual(['Sertifikat ləğv edilib']);
    expect(visible(revoked.text)).toContain('Səbəb: açarın təhlükəsizliyi pozulub. Ləğvetmə qətidir.');
    expect(revoked.text).toContain(`<time datetime="${new Date(Math.floor(invalidityDate.getTime())).toISOString()}">`);
    const english = visible((await c.get(`/certificates/${serial}`, { 'accept-language': 'en-GB,en;q=0.8' })).text);
    expect(english).toContain('The certificate is revoked');
    expect(english).toContain('Reason: key compromise. Revocation is final.');
    expect(await ocsp(certPath)).toEqual({ status: 'revoked', reason: 'keyCompromise' });
    expect((await c.json(`/certificates/${serial}?lang=en`)).body).toMatchObject({
      status: 'revoked',
      revocationReason: 'keyCompromise',
      reasonText: 'key compromise',
      statusText: 'The certificate is revoked',
      ocsp: { status: 'revoked', revocationReason: 'keyCompromise' },
    });
  });

  it('answers 404 for serials we never issued, as OCSP says unknown', async () => {
    const c = client();
    const serial = randomSerial();
    const page = await c.get(`/certificates/${serial}`);
    expect(page.status).toBe(404);
    expect(h1(page.text)).toEqual(['Bu sertifikatı e-imza verməyib']);
    expect(visible(page.text)).toContain(formatSerialWithColons(serial));
    const json = await c.json(`/certificates/${serial}`);
    expect(json.status).toBe(404);
    expect(json.body).toMatchObject({ serial, issuedByUs: false, status: 'notIssued' });
    const r = await openssl(['ocsp', '-issuer', pki.pem('eimza'), '-serial', `0x${serial}`, '-url', `${pki.server.url}/ocsp`, '-CAfile', pki.pem('root'), '-no_nonce']);
    expect(r.stdout).toMatch(/: unknown/);
  });

  it('takes serials in any case, with colons or spaces, and sends lookups to the one URL with 303', async () => {
    const c = client();
    const { serial } = await pki.issue('page-serial-forms');
    const colons = formatSerialWithColons(serial as never);
    const lookup = await c.form('/lookup', { serial: ` ${colons.replace(/:/g, ' ')} ` });
    expect(lookup.status).toBe(303);
    expect(lookup.headers.location).toBe(`/certificates/${serial}`);
    const withColons = await c.form('/lookup?lang=en', { serial: colons });
    expect(withColons.status).toBe(303);
    expect(withColons.headers.location).toBe(`/certificates/${serial}?lang=en`);
    const upper = await c.get(`/certificates/${encodeURIComponent(colons)}?lang=en`);
    expect(upper.status).toBe(301);
    expect(upper.headers.location).toBe(`/certificates/${serial}?lang=en`);
    // The holder e-mails link to /status/{serial}.
    const mail = await c.get(`/status/${serial}`);
    expect(mail.status).toBe(301);
    expect(mail.headers.location).toBe(`/certificates/${serial}`);
    expect((await c.get('/lookup')).headers.location).toBe('/');
  });
});

describe('a pasted or uploaded certificate', () => {
  it('is looked up when it is byte for byte one of ours: PEM pasted, file uploaded, raw body', async () => {
    const c = client();
    const { serial, certPath } = await pki.issue('paste-ours');
    const pem = readFileSync(certPath, 'utf8');
    const derPath = path.join(pki.dir, 'paste-ours.der');
    await execFileAsync('openssl', ['x509', '-in', certPath, '-outform', 'DER', '-out', derPath]);
    const der = readFileSync(derPath);
    const answers = [
      await c.form('/lookup', { pem }),
      await c.multipart('/lookup', [{ name: 'pem', data: '' }, { name: 'file', filename: 'cert.der', data: der }]),
      await c.multipart('/lookup?lang=en', [{ name: 'pem', data: pem }, { name: 'file', filename: '', data: '' }]),
      await c.raw('/lookup', 'application/pkix-cert', der),
      await c.raw('/lookup', 'application/x-pem-file', pem),
      await c.form('/lookup', { serial: pem }),
    ];
    expect(answers.map((a) => [a.status, a.headers.location])).toEqual([
      [303, `/certificates/${serial}`],
      [303, `/certificates/${serial}`],
      [303, `/certificates/${serial}?lang=en`],
      [303, `/certificates/${serial}`],
      [303, `/certificates/${serial}`],
      [303, `/certificates/${serial}`],
    ]);
  });

  it('says "not issued by e-imza" for a certificate of another issuer (made by openssl)', async () => {
    const c = client();
    const base = path.join(pki.dir, 'foreign-self-signed');
    await execFileAsync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-subj', '/O=Elsewhere/CN=Foreign <b>CA', '-days', '2', '-out', `${base}.pem`]);
    const page = await c.multipart('/lookup', [{ name: 'file', filename: 'foreign.pem', data: readFileSync(`${base}.pem`) }]);
    expect(page.status).toBe(404);
    expect(h1(page.text)).toEqual(['Bu sertifikatı e-imza verməyib']);
    expect(visible(page.text)).toMatch(/O=Elsewhere, CN=Foreign \\?<b\\?>CA/);
    expect(page.text).not.toContain('<b>');
    const json = await c.raw('/lookup', 'application/x-pem-file', readFileSync(`${base}.pem`), { accept: 'application/json' });
    expect(json.status).toBe(404);
    expect(JSON.parse(json.text)).toMatchObject({ issuedByUs: false, status: 'notIssued' });
  });

  it('never shows the status of our certificate for a forgery or for other bytes under its serial', async () => {
    const c = client();
    const { serial } = await pki.issue('paste-forged');
    const record = await getCertificate(pki.ctx.ca, serial);
    // Our exact TBS (our serial, issuer and subject) signed by another key: a forgery.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = assembleCertificate(record.tbs, { kind: 'ec', curve: 'P-256' }, sign('sha256', record.tbs, { key: privateKey, dsaEncoding: 'der' }));
    // The same TBS signed again by our own CA key: valid, but not the bytes we recorded (ECDSA signatures differ).
    const resigned = await signTbs(record.tbs, await (await pki.ctx.ca.cas.get('eimza')).signer());
    expect(Buffer.from(resigned).equals(Buffer.from(record.der!))).toBe(false);
    const resignedPath = path.join(pki.dir, 'resigned.pem');
    writeFileSync(resignedPath, pemEncode('CERTIFICATE', resigned));
    const verified = await openssl(['verify', '-CAfile', pki.pem('root'), '-untrusted', pki.pem('eimza'), resignedPath]);
    expect(verified.stdout).toContain('OK');

    for (const der of [forged, resigned]) {
      const page = await c.form('/lookup', { pem: pemEncode('CERTIFICATE', der) });
      expect(page.status).toBe(404);
      expect(h1(page.text)).toEqual(['Bu sertifikatı e-imza verməyib']);
      expect(page.text).not.toContain('etibarlıdır');
    }
    // The real one is still found.
    expect((await c.raw('/lookup', 'application/pkix-cert', Buffer.from(record.der!))).status).toBe(303);
  });
});

describe('bad input', () => {
  const noInternals = (r: Reply) => {
    for (const leak of ['CaError', 'node_modules', '    at ', 'stack', 'malformedPem']) expect(r.text).not.toContain(leak);
  };

  it('answers garbage, overlong serials and huge uploads with a friendly 4xx page', async () => {
    const c = client();
    const { csrPem } = await opensslCsr(pki.dir, 'not-a-certificate');
    const cases: [Reply, number, string][] = [
      [await c.form('/lookup', { serial: 'zz-not-hex' }), 400, 'Seriya nömrəsi düzgün deyil'],
      [await c.form('/lookup', { serial: 'ab'.repeat(21) }), 400, 'Seriya nömrəsi düzgün deyil'],
      [await c.get(`/certificates/${'ab'.repeat(21)}`), 400, 'Seriya nömrəsi düzgün deyil'],
      [await c.get(`/certificates/${'a'.repeat(3000)}`), 400, 'Seriya nömrəsi düzgün deyil'],
      [await c.form('/lookup', { pem: '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n' }), 400, 'Sertifikatı oxumaq mümkün olmadı'],
      [await c.form('/lookup', { pem: 'hello' }), 400, 'Sertifikatı oxumaq mümkün olmadı'],
      [await c.raw('/lookup', 'application/pkix-cert', randomBytes(300)), 400, 'Sertifikatı oxumaq mümkün olmadı'],
      [await c.multipart('/lookup', [{ name: 'file', filename: 'x.der', data: randomBytes(500) }]), 400, 'Sertifikatı oxumaq mümkün olmadı'],
      [await c.form('/lookup', { pem: csrPem }), 400, 'Sertifikatı oxumaq mümkün olmadı'],
      [await c.form('/lookup', { serial: '', pem: '' }), 400, 'Heç nə daxil edilməyib'],
      [await c.multipart('/lookup', [{ name: 'file', filename: 'big.der', data: randomBytes(100 * 1024) }]), 413, 'Göndərilən məlumat çox böyükdür'],
      [await c.form('/lookup', { pem: 'A'.repeat(100 * 1024) }), 413, 'Göndərilən məlumat çox böyükdür'],
      [await c.raw('/lookup', 'multipart/form-data', 'no boundary'), 400, 'Sorğu başa düşülmədi'],
      [await c.raw('/lookup', 'application/json', '{"serial":"ab"}'), 415, 'Sorğu başa düşülmədi'],
      [await c.get('/lists/eimza?limit=1000'), 400, 'Sorğu başa düşülmədi'],
      [await c.get('/lists/eimza?after=zz'), 400, 'Seriya nömrəsi düzgün deyil'],
      [await c.get('/lists/no-such-ca'), 404, 'Səhifə tapılmadı'],
    ];
    for (const [reply, status, title] of cases) {
      expect([reply.status, h1(reply.text)]).toEqual([status, [title]]);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      noInternals(reply);
    }
    const problem = await c.raw('/lookup', 'application/x-www-form-urlencoded', 'serial=zz', { accept: 'application/json' });
    expect(problem.status).toBe(400);
    expect(problem.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(problem.text)).toMatchObject({ status: 400, code: 'invalidSerial' });
  });

  it('prints what the visitor typed back escaped', async () => {
    const c = client();
    const reply = await c.form('/lookup', { serial: '"><script>alert(1)</script>' });
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(reply.text).not.toContain('<script');
  });
});

describe('languages', () => {
  it('is Azerbaijani by default and English with ?lang=en or Accept-Language, with a switch link on every page', async () => {
    const c = client();
    const az = await c.get('/');
    expect(az.text).toContain('<html lang="az">');
    expect(h1(az.text)).toEqual(['Sertifikatın statusunu yoxlayın']);
    // ə, ğ, ı, ö, ş, ü, ç, sent as UTF-8.
    for (const word of ['Əsas məzmuna keç', 'Dayandırılmış və ləğv edilmiş sertifikatlar', 'Seriya nömrəsi', 'FİN', 'Onaltılıq rəqəmlər', 'Böyük və ya kiçik hərflə', 'yapışdırın']) {
      expect(az.text).toContain(word);
    }
    expect(az.text).toContain('<a class="lang" href="/?lang=en" hreflang="en" lang="en">English</a>');
    expect(az.text).toContain('<label for="serial">');
    expect(az.text).toContain('<label for="pem">');
    expect(az.text).toContain('<label for="file">');

    const byHeader = await c.get('/', { 'accept-language': 'en-US,en;q=0.9,az;q=0.5' });
    expect(byHeader.text).toContain('<html lang="en">');
    expect(h1(byHeader.text)).toEqual(["Check a certificate's status"]);
    expect(byHeader.text).toContain('href="/?lang=az" hreflang="az" lang="az">Azərbaycanca</a>');
    expect((await c.get('/', { 'accept-language': 'ru' })).text).toContain('<html lang="az">');
    // ?lang wins over the header, and internal links keep it.
    const byQuery = await c.get('/lists?lang=az', { 'accept-language': 'en' });
    expect(byQuery.text).toContain('<html lang="az">');
    expect(byQuery.text).toContain('href="/lists/eimza?lang=az"');
    expect(byQuery.text).toContain('href="/lists?lang=en"');
    const listPage = await c.get('/lists/eimza?limit=5&lang=en');
    expect(listPage.text).toContain('href="/lists/eimza?limit=5&amp;lang=az"');
    const { serial } = await pki.issue('page-lang');
    const en = await c.get(`/certificates/${serial}?lang=en`);
    expect(en.text).toContain('<html lang="en">');
    expect(visible(en.text)).toContain('Type Authentication');
    expect(en.text).toContain(`href="/certificates/${serial}?lang=az"`);
    expect(visible((await c.get(`/certificates/${serial}?lang=az`)).text)).toContain('Növü Autentifikasiya');
  });
});

describe('the lists', () => {
  it('lists suspended and revoked certificates per CA, keyset-paged, with the CA certificate, the CRLs and the OCSP URL', async () => {
    const c = client();
    const ca = pki.ctx.ca;
    const issued: { serial: string }[] = [];
    for (let i = 0; i < 5; i++) issued.push(await pki.issue(`list-${i}`));
    const active = await pki.issue('list-active');
    await changeCertificateStatus(ca, 'suspend', { serial: issued[0]!.serial, actor: 'test' });
    await changeCertificateStatus(ca, 'suspend', { serial: issued[1]!.serial, actor: 'test' });
    await changeCertificateStatus(ca, 'revoke', { serial: issued[2]!.serial, actor: 'test', reason: 'superseded' });
    await changeCertificateStatus(ca, 'revoke', { serial: issued[3]!.serial, actor: 'test', reason: 'affiliationChanged' });
    await changeCertificateStatus(ca, 'revoke', { serial: issued[4]!.serial, actor: 'test' });
    await pki.ctx.crl.publish({ caName: 'eimza', actor: 'test' });

    const index = await c.get('/lists');
    expect(index.status).toBe(200);
    expect(h1(index.text)).toEqual(['Dayandırılmış və ləğv edilmiş sertifikatlar']);
    expect(index.text).toContain('aria-current="page"');
    for (const href of ['/ca/eimza.crt', '/crl/eimza.crl', '/crl/eimza-delta.crl', '/lists/eimza', '/ca/mobile.crt', '/crl/portal-delta.crl']) expect(index.text).toContain(`href="${href}"`);
    expect(visible(index.text)).toContain(`OCSP ünvanı: ${pki.ctx.ca.settings.publicBaseUrl}/ocsp`);
    for (const [href, type] of [['/ca/eimza.crt', 'application/pkix-cert'], ['/crl/eimza.crl', 'application/pkix-crl'], ['/crl/eimza-delta.crl', 'application/pkix-crl']] as const) {
      const r = await fetch(`${pki.server.url}${href}`);
      expect([href, r.status, r.headers.get('content-type')]).toEqual([href, 200, type]);
    }

    // Walk the pages, two at a time, by the next links.
    const seen: { serial: string; status: string; revocationReason: string | null }[] = [];
    let next: string | null = '/lists/eimza?limit=2';
    let pages = 0;
    while (next) {
      const page = await c.json(next);
      expect(page.status).toBe(200);
      const items = page.body.items as typeof seen;
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items);
      next = page.body.next as string | null;
      if (next) expect(next).toMatch(/^\/lists\/eimza\?limit=2&after=[0-9a-f]+$/);
      expect(++pages).toBeLessThan(50);
    }
    const serials = seen.map((s) => s.serial);
    expect([...serials].sort()).toEqual(serials);
    expect(new Set(serials).size).toBe(serials.length);
    expect(serials).not.toContain(active.serial);
    expect(seen.every((s) => s.status === 'suspended' || s.status === 'revoked')).toBe(true);
    const mine = seen.filter((s) => issued.some((i) => i.serial === s.serial));
    expect(mine.map((s) => [s.serial, s.status, s.revocationReason]).sort()).toEqual(
      [
        [issued[0]!.serial, 'suspended', 'certificateHold'],
        [issued[1]!.serial, 'suspended', 'certificateHold'],
        [issued[2]!.serial, 'revoked', 'superseded'],
        [issued[3]!.serial, 'revoked', 'affiliationChanged'],
        [issued[4]!.serial, 'revoked', 'unspecified'],
      ].sort(),
    );
    // The default page holds 100: everything here fits on one.
    const all = await c.json('/lists/eimza');
    expect((all.body.items as unknown[]).length).toBe(serials.length);
    expect(all.body.next).toBeNull();

    const html = await c.get('/lists/eimza?limit=2');
    expect(html.text).toContain('rel="next"');
    expect(html.text).toContain('<th scope="col">Seriya nömrəsi</th>');
    const second = await c.get(html.text.match(/href="([^"]+)" rel="next"/)![1]!.replace(/&amp;/g, '&'));
    expect(second.text).toContain('Birinci səhifə');
    const text = visible((await c.get('/lists/eimza')).text);
    for (const words of ['yeni sertifikatla əvəz olunub', 'sahibin təşkilatla əlaqəsi və ya məlumatları dəyişib', 'dayandırılıb', formatSerialWithColons(issued[2]!.serial as never)]) {
      expect(text).toContain(words);
    }
    expect(visible((await c.get('/lists/mobile')).text)).toContain('Siyahı boşdur.');
  });
});

describe('headers and neighbours', () => {
  it('sends a strict CSP (no script at all, only the page style by its hash) and no script', async () => {
    const c = client();
    const { serial } = await pki.issue('page-headers');
    for (const target of ['/', `/certificates/${serial}`, `/certificates/${randomSerial()}`, '/lists', '/lists/eimza', '/certificates/zz']) {
      const r = await c.get(target);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.text).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
      const style = /<style>([\s\S]*?)<\/style>/.exec(r.text)![1]!;
      expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
      expect(r.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(r.text).toContain('<a class="skip" href="#main">');
      expect(r.text).toContain('<main id="main" tabindex="-1">');
      expect(h1(r.text)).toHaveLength(1);
      const levels = [...r.text.matchAll(/<h([1-6])/g)].map((m) => Number(m[1]));
      levels.forEach((level, i) => expect(level - (levels[i - 1] ?? 0)).toBeLessThanOrEqual(1));
    }
  });

  it('leaves /health, /api, /ocsp, /crl, /ca and unknown paths to their own handlers', async () => {
    const { serial, certPath } = await pki.issue('page-neighbours');
    const health = await fetch(`${pki.server.url}/health`);
    expect((await health.json()) as object).toMatchObject({ status: 'ok' });
    const api = await fetch(`${pki.server.url}/api/v1/certificates/${serial}`);
    expect(api.headers.get('content-type')).toContain('application/json');
    expect((await api.json()) as object).toMatchObject({ serial, ca: 'eimza', profile: 'authentication', status: 'active' });
    expect(api.headers.get('content-security-policy')).toBeNull();
    expect((await ocsp(certPath)).status).toBe('good');
    const nothing = await fetch(`${pki.server.url}/no-such-page`);
    expect(nothing.status).toBe(404);
    expect(nothing.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${pki.server.url}/ca/eimza.crt`)).headers.get('content-type')).toBe('application/pkix-cert');
  });
});

describe('the rate limit', () => {
  it('answers 429 with a friendly page past 60 requests a minute from one address, and not to others', async () => {
    const busy = client();
    const { serial } = await pki.issue('page-rate');
    const replies = await Promise.all(Array.from({ length: 60 }, () => busy.get(`/certificates/${serial}`)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const refused = await busy.get(`/certificates/${serial}`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(h1(refused.text)).toEqual(['Həddən çox sorğu']);
    expect(visible(refused.text)).toMatch(/\d+ saniyədən sonra yenidən cəhd edin/);
    expect(refused.headers['content-security-policy']).toContain("default-src 'none'");
    expect((await busy.form('/lookup', { serial })).status).toBe(429);
    expect((await busy.json(`/certificates/${serial}`)).body).toMatchObject({ status: 429, code: 'tooManyRequests' });
    expect((await client().get(`/certificates/${serial}`)).status).toBe(200);
    clock.advance(61_000);
    expect((await busy.get(`/certificates/${serial}`)).status).toBe(200);
  });
});

describe('expiry', () => {
  // Last: it moves the clock years ahead.
  it('says expired once notAfter has passed (OCSP itself still says good: validity is the relying party’s check)', async () => {
    const c = client();
    const { serial } = await pki.issue('page-expiring');
    const { serial: revoked } = await pki.issue('page-expiring-revoked');
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial: revoked, actor: 'test', reason: 'superseded' });
    expect((await c.json('/lists/eimza')).body.items).toEqual(expect.arrayContaining([expect.objectContaining({ serial: revoked })]));
    const notAfter = (await getCertificate(pki.ctx.ca, serial)).notAfter;
    clock.set(new Date(notAfter.getTime() + 1000));
    const page = await c.get(`/certificates/${serial}`);
    expect(page.status).toBe(200);
    expect(h1(page.text)).toEqual(['Sertifikatın müddəti bitib']);
    expect(page.text).toContain(`<time datetime="${notAfter.toISOString()}">`);
    expect(visible((await c.get(`/certificates/${serial}?lang=en`)).text)).toContain('The certificate has expired Its validity ended on');
    expect((await c.json(`/certificates/${serial}`)).body).toMatchObject({ status: 'expired', since: notAfter.toISOString(), ocsp: { status: 'good' } });
    // A revoked certificate stays revoked, and leaves the lists as it leaves the CRL.
    expect((await c.json(`/certificates/${revoked}`)).body).toMatchObject({ status: 'revoked' });
    expect((await c.json('/lists/eimza')).body.items).not.toEqual(expect.arrayContaining([expect.objectContaining({ serial: revoked })]));
  });
});
