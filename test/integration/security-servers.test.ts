import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileAsync, openssl } from '../helpers/env.js';
import { openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * Security servers of the exchange layer over REST: registration by a CA operator, the server's
 * own CSRs (enrolment secret first, its current certificate for renewal), approval (four-eyes
 * when configured), decommissioning. OpenSSL makes the keys and CSRs and judges the certificates.
 */
let f: RaFixture;
const MEMBER = { name: 'Vergilər Nazirliyi', memberClass: 'GOV', code: '1400057421', contacts: ['ss-admin@taxes.gov.az'] };

beforeAll(async () => {
  f = await openRaFixture();
  const member = await f.api('POST', '/api/v1/members', f.tokens.caOperator, MEMBER);
  expect(member.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await f?.close();
});

let n = 0;
/** An X-Road style CSR: the subject the server's tools write, and the extensions they ask for (ignored). */
async function serverCsr(subject: string, ext = 'keyUsage=critical,nonRepudiation,keyCertSign'): Promise<{ csrPem: string; keyPath: string; csrDerPath: string }> {
  const base = path.join(f.dir, `ss-${n++}`);
  await execFileAsync('openssl', ['req', '-new', '-utf8', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-subj', subject, '-addext', ext, '-out', `${base}.csr`]);
  await execFileAsync('openssl', ['req', '-in', `${base}.csr`, '-outform', 'DER', '-out', `${base}.der`]);
  return { csrPem: readFileSync(`${base}.csr`, 'utf8'), keyPath: `${base}.key`, csrDerPath: `${base}.der` };
}

async function addServer(code: string, dnsName: string, autoApprove = false) {
  const r = await f.api('POST', `/api/v1/members/${MEMBER.code}/servers`, f.tokens.caOperator, { serverCode: code, dnsName, autoApprove });
  expect(r.status).toBe(201);
  expect(Date.parse(r.body.enrolment.expiresAt)).toBeGreaterThan(Date.now());
  const { ref, secret } = r.body.enrolment as { ref: string; secret: string };
  return { server: r.body.server as { id: string }, enrolment: { ref, secret } };
}

async function verifyPortal(pem: string, name: string): Promise<string> {
  const file = path.join(f.dir, `${name}.pem`);
  writeFileSync(file, pem);
  expect((await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('portal'), file])).stdout).toContain(': OK');
  return (await openssl(['x509', '-in', file, '-noout', '-text', '-nameopt', 'RFC2253,-esc_msb'])).stdout;
}

describe('a security server gets its signing and TLS certificates', () => {
  it('enrols with its one-time secret, waits for approval, and gets certificates the profile built', async () => {
    const { server, enrolment } = await addServer('SS1', 'ss1.taxes.gov.az');
    expect(enrolment.ref).toMatch(/^E/);
    const csrPath = `/api/v1/security-servers/${server.id}/csr`;
    const signing = await serverCsr(`/C=AZ/O=${MEMBER.name}/CN=${MEMBER.code}`);

    const wrong = await f.api('POST', csrPath, null, { type: 'signing', csr: signing.csrPem, enrolment: { ref: enrolment.ref, secret: 'not-the-secret-at-all-xx' } });
    expect({ status: wrong.status, code: wrong.body.code }).toEqual({ status: 401, code: 'invalidEnrolment' });
    const missing = await f.api('POST', csrPath, null, { type: 'signing', csr: signing.csrPem });
    expect(missing.body.code).toBe('missingProof');

    const pending = await f.api('POST', csrPath, null, { type: 'signing', csr: signing.csrPem, enrolment });
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ state: 'pending', type: 'signing', channel: 'rest', certificate: null });
    const rid = pending.body.id;
    const poll = await f.api('GET', `${csrPath.replace('/csr', '')}/requests/${rid}`, null);
    expect(poll.body.state).toBe('pending');

    expect((await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${rid}/approve`, f.tokens.supervisor, {})).body.code).toBe('roleForbids');
    const approved = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${rid}/approve`, f.tokens.caOperator, {});
    expect(approved.body).toMatchObject({ state: 'issued' });
    const issued = await f.api('GET', `/api/v1/security-servers/${server.id}/requests/${rid}`, null);
    expect(issued.body.chain).toContain('BEGIN CERTIFICATE');
    const text = await verifyPortal(issued.body.certificate, 'ss1-signing');
    // The subject is the registration's, and the CSR's keyCertSign wish is ignored.
    expect(text).toContain(`Subject: CN=${MEMBER.name},serialNumber=${MEMBER.code},businessCategory=GOV,O=${MEMBER.name},C=AZ`);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Non Repudiation\n/);
    expect(text).not.toContain('Certificate Sign');

    // TLS: the CN must be the server's DNS name; another name is refused, not rewritten.
    const other = await serverCsr('/C=AZ/CN=evil.example.az', 'subjectAltName=DNS:evil.example.az');
    const mismatch = await f.api('POST', csrPath, null, { type: 'tls', csr: other.csrPem, enrolment });
    expect({ status: mismatch.status, code: mismatch.body.code }).toEqual({ status: 422, code: 'subjectMismatch' });
    const tls = await serverCsr('/CN=ss1.taxes.gov.az', 'subjectAltName=DNS:ss1.taxes.gov.az');
    const tlsDer = readFileSync(tls.csrDerPath).toString('base64');
    const tlsReq = await f.api('POST', csrPath, null, { type: 'tls', csr: tlsDer, enrolment });
    expect(tlsReq.status).toBe(202);
    // The TLS key again, this time in a well-formed signing request: one key, one certificate.
    const sameKey = path.join(f.dir, 'same-key.csr');
    await execFileAsync('openssl', ['req', '-new', '-utf8', '-key', tls.keyPath, '-subj', `/CN=${MEMBER.code}`, '-out', sameKey]);
    const reused = await f.api('POST', csrPath, null, { type: 'signing', csr: readFileSync(sameKey, 'utf8'), enrolment });
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 409, code: 'keyAlreadyUsed' });
    const tlsIssued = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${tlsReq.body.id}/approve`, f.tokens.caOperator, {});
    expect(tlsIssued.body.state).toBe('issued');
    const tlsText = await verifyPortal(tlsIssued.body.certificate, 'ss1-tls');
    expect(tlsText).toContain('DNS:ss1.taxes.gov.az');
    expect(tlsText).toContain('TLS Web Server Authentication, TLS Web Client Authentication');

    // Both certificates issued: the one-time secret is spent.
    const spent = await f.api('POST', csrPath, null, { type: 'tls', csr: (await serverCsr('/CN=ss1.taxes.gov.az')).csrPem, enrolment });
    expect(spent.body.code).toBe('invalidEnrolment');

    // Renewal: signed with the current signing certificate's key over the new CSR.
    const next = await serverCsr(`/C=AZ/O=${MEMBER.name}/CN=${MEMBER.code}`);
    const sigPath = `${next.csrDerPath}.sig`;
    await execFileAsync('openssl', ['dgst', '-sha256', '-sign', signing.keyPath, '-out', sigPath, next.csrDerPath]);
    const renewal = { certificate: issued.body.certificate, signature: readFileSync(sigPath).toString('base64') };
    const badSig = await f.api('POST', csrPath, null, { type: 'signing', csr: next.csrPem, renewal: { ...renewal, signature: Buffer.alloc(64, 1).toString('base64') } });
    expect(badSig.body.code).toBe('invalidRenewalSignature');
    const renewed = await f.api('POST', csrPath, null, { type: 'signing', csr: next.csrPem, renewal });
    expect(renewed.status).toBe(202);
    expect((await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${renewed.body.id}/approve`, f.tokens.caOperator, {})).body.state).toBe('issued');

    // Decommissioning revokes every certificate of the server (cessationOfOperation).
    const gone = await f.api('POST', `/api/v1/security-servers/${server.id}/decommission`, f.tokens.caOperator, {});
    expect(gone.body.revoked).toHaveLength(3);
    for (const serial of gone.body.revoked) {
      expect((await f.api('GET', `/api/v1/certificates/${serial}`, null)).body).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
    }
    const after = await f.api('POST', csrPath, null, { type: 'tls', csr: (await serverCsr('/CN=ss1.taxes.gov.az')).csrPem, renewal });
    expect(after.body.code).toBe('serverDecommissioned');
  }, 60_000);

  it('issues at once for an auto-approved server, and needs two operators with four-eyes', async () => {
    const auto = await addServer('SS-TEST', 'ss-test.taxes.gov.az', true);
    const csr = await serverCsr('/CN=ss-test.taxes.gov.az');
    const r = await f.api('POST', `/api/v1/security-servers/${auto.server.id}/csr`, null, { type: 'tls', csr: csr.csrPem, enrolment: auto.enrolment });
    expect(r.body.state).toBe('issued');
    await verifyPortal(r.body.certificate, 'auto-tls');

    const { server, enrolment } = await addServer('SS2', 'ss2.taxes.gov.az');
    const req = await f.api('POST', `/api/v1/security-servers/${server.id}/csr`, null, { type: 'tls', csr: (await serverCsr('/CN=ss2.taxes.gov.az')).csrPem, enrolment });
    const ra = f.pki.ctx.ra;
    ra.exchange.fourEyes = true;
    try {
      const first = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${req.body.id}/approve`, f.tokens.caOperator, {});
      expect(first.body).toMatchObject({ state: 'pending', approvals: [expect.objectContaining({ by: expect.any(String) })] });
      const same = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${req.body.id}/approve`, f.tokens.caOperator, {});
      expect(same.body.code).toBe('sameApprover');
      const second = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${req.body.id}/approve`, f.pki.adminToken, {});
      expect(second.body.state).toBe('issued');
    } finally {
      ra.exchange.fourEyes = false;
    }
    const rejectedReq = await f.api('POST', `/api/v1/security-servers/${server.id}/csr`, null, { type: 'signing', csr: (await serverCsr(`/CN=${MEMBER.name}`)).csrPem, enrolment });
    const rejected = await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${rejectedReq.body.id}/reject`, f.tokens.caOperator, { reason: 'not ordered' });
    expect(rejected.body).toMatchObject({ state: 'rejected', rejectReason: 'not ordered' });
    expect((await f.api('POST', `/api/v1/security-servers/${server.id}/requests/${rejectedReq.body.id}/approve`, f.tokens.caOperator, {})).body.code).toBe('invalidTransition');
  }, 60_000);

  it('refuses bad registrations with a code', async () => {
    expect((await f.api('POST', '/api/v1/members', f.tokens.caOperator, { ...MEMBER })).body.code).toBe('memberExists');
    expect((await f.api('POST', '/api/v1/members', f.tokens.caOperator, { ...MEMBER, code: '1400057422' })).body.code).toBe('invalidVoen');
    expect((await f.api('POST', '/api/v1/members', f.tokens.caOperator, { ...MEMBER, code: '1401555071', memberClass: 'BANK' })).body.code).toBe('invalidMemberClass');
    expect((await f.api('POST', '/api/v1/members/1401555071/servers', f.tokens.caOperator, { serverCode: 'X', dnsName: 'x.gov.az' })).body.code).toBe('memberNotFound');
    expect((await f.api('POST', `/api/v1/members/${MEMBER.code}/servers`, f.tokens.caOperator, { serverCode: 'bad code', dnsName: 'x.gov.az' })).body.code).toBe('invalidServerCode');
    expect((await f.api('POST', `/api/v1/members/${MEMBER.code}/servers`, f.tokens.caOperator, { serverCode: 'SS9', dnsName: '*.gov.az' })).body.code).toBe('invalidDnsName');
    expect((await f.api('POST', `/api/v1/members/${MEMBER.code}/servers`, f.tokens.caOperator, { serverCode: 'SS1', dnsName: 'again.gov.az' })).body.code).toBe('serverExists');
  });
});
