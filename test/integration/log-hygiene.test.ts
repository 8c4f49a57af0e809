import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLogger, logFunction, REDACTED } from '../../src/logging.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest } from '../../src/x509/ocsp.js';
import { opensslCsr } from '../helpers/csr.js';
import { execFileAsync } from '../helpers/env.js';
import { citizenApplication, freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * What a running server writes to its log, captured whole while it serves a desk flow with a
 * personal applicant, a failed login, a security server's enrolment with its secret and OCSP:
 * never a token, secret, PIN, password, FIN, name, e-mail address or phone number, and never a
 * request body. (test/log-scan.sh checks the logs of the whole suite for the well-known ones.)
 */
const lines: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
let f: RaFixture;

beforeAll(async () => {
  f = await openRaFixture({ logger });
}, 120_000);
afterAll(async () => {
  await f?.close();
});

const fin = freshFin();
const email = `hygiene.${randomBytes(4).toString('hex')}@example.az`;
const phone = `+99450${String(Math.floor(1e6 + Math.random() * 8e6))}`;
const givenName = 'Günel';
const surname = 'Hüseynova';
const secrets: string[] = [];

describe('the log of a running server', () => {
  it('records each request (id, method, route, status, duration) and none of the secrets or personal data it saw', async () => {
    // The desk: a personal applicant, paid, approved, a certificate issued, looked up by FIN, suspended.
    const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin, {}, { givenName, surname, email, phone }), { 'x-request-id': 'hygiene-create' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: created.body.tariff.amount, receipt: 'H-1', method: 'cash' })).status).toBe(200);
    expect((await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {})).status).toBe(200);
    const { csrPem } = await opensslCsr(f.dir, 'hygiene');
    const issued = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'authentication', csr: csrPem });
    expect(issued.status).toBe(201);
    const serial = issued.body.serial as string;
    const held = await f.api('GET', `/api/v1/holders/${fin}/certificates`, f.tokens.clerk);
    expect(held.status).toBe(200);
    expect((await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/suspend`, f.tokens.clerk, { comment: 'lost card' })).status).toBe(200);

    // A body that is not JSON: the parser's message quotes it, so it must not reach the log either.
    const broken = await f.api('POST', '/api/v1/applications', f.tokens.clerk, `${fin} ${email}`);
    expect({ status: broken.status, code: broken.body.code }).toEqual({ status: 400, code: 'malformedJson' });

    // A failed login, with a token that looks real.
    const wrongToken = `eimza_${randomBytes(32).toString('base64url')}`;
    expect((await f.api('GET', '/api/v1/me', wrongToken)).status).toBe(401);

    // A security server enrols with its one-time secret (once wrong, once right).
    expect((await f.api('POST', '/api/v1/members', f.tokens.caOperator, { name: 'Vergilər Nazirliyi', memberClass: 'GOV', code: '1400057421', contacts: ['ss-admin@taxes.gov.az'] })).status).toBe(201);
    const server = await f.api('POST', '/api/v1/members/1400057421/servers', f.tokens.caOperator, { serverCode: 'SS1', dnsName: 'ss1.taxes.gov.az' });
    expect(server.status).toBe(201);
    const { ref, secret } = server.body.enrolment as { ref: string; secret: string };
    const enrolment = { ref, secret };
    const base = `${f.dir}/hygiene-ss`;
    await execFileAsync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-subj', '/CN=ss1.taxes.gov.az', '-addext', 'subjectAltName=DNS:ss1.taxes.gov.az', '-out', `${base}.csr`]);
    const ssCsr = readFileSync(`${base}.csr`, 'utf8');
    const csrPath = `/api/v1/security-servers/${server.body.server.id as string}/csr`;
    expect((await f.api('POST', csrPath, null, { type: 'tls', csr: ssCsr, enrolment: { ref: enrolment.ref, secret: 'not-the-secret-at-all-xx' } })).status).toBe(401);
    const enrolled = await f.api('POST', csrPath, null, { type: 'tls', csr: ssCsr, enrolment });
    expect({ status: enrolled.status, code: enrolled.body.code }).toEqual({ status: 202, code: undefined });

    // OCSP, on the fast path (debug lines only).
    const ca = inspectCertificate(decodePemOrDer(readFileSync(f.pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
    const ocsp = await fetch(`${f.url}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: buildOcspRequest([buildCertId('sha1', ca.subjectNameDer, ca.subjectPublicKeySpki, serial as never)]),
    });
    expect(ocsp.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100)); // the last access lines are written on 'close'

    secrets.push(...Object.values(f.tokens), f.pki.adminToken, wrongToken, enrolment.secret, fin, email, phone, phone.slice(1), givenName, surname, 'test passphrase');
    const log = lines.join('');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Not vacuous: the requests are there, with their ids, routes and statuses.
    expect(entries.find((e) => e.requestId === 'hygiene-create')).toMatchObject({ msg: 'request', method: 'POST', path: '/api/v1/applications', status: 201 });
    expect(entries.some((e) => e.msg === 'request' && e.path === '/api/v1/holders/:fin/certificates' && e.status === 200)).toBe(true);
    expect(entries.some((e) => e.msg === 'request' && e.path === '/api/v1/me' && e.status === 401 && e.code === 'invalidToken')).toBe(true);
    expect(entries.some((e) => e.msg === 'request' && e.path === '/api/v1/security-servers/:id/csr' && e.status === 202)).toBe(true);
    expect(entries.some((e) => e.msg === 'ocsp' && e.result === 'revoked' && e.level === 'debug')).toBe(true);
    for (const secret of secrets) expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
    // No request body (the CSR, the enrolment) and no header.
    expect(log).not.toContain('CERTIFICATE REQUEST');
    expect(log).not.toMatch(/bearer/i);
    expect(log).not.toContain(enrolment.ref);
  });

  it('redacts known secret and personal fields even when code passes them to the log', () => {
    const captured: string[] = [];
    const log = logFunction(createLogger({ destination: { write: (s: string) => void captured.push(s) } }));
    log('error', 'something failed', {
      pin: '4821',
      token: 'eimza_leaked',
      enrolment: { ref: 'Eabc', secret: 'S3CRET' },
      headers: { authorization: 'Bearer eimza_leaked2' },
      applicant: { fin: '5ZX2K7Q', email: 'leyla@example.az' },
      holder: { phone: '+994501234567' },
      body: { password: 'hunter2' },
      serial: '5a1f',
    });
    const line = JSON.parse(captured[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'error',
      msg: 'something failed',
      pin: REDACTED,
      token: REDACTED,
      enrolment: { ref: 'Eabc', secret: REDACTED },
      headers: { authorization: REDACTED },
      applicant: REDACTED,
      holder: REDACTED,
      body: REDACTED,
      serial: '5a1f',
    });
    for (const s of ['4821', 'eimza_leaked', 'S3CRET', '5ZX2K7Q', 'leyla@', '994501234567', 'hunter2']) expect(captured[0]).not.toContain(s);
  });
});
