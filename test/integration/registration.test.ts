import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { opensslCsr } from '../helpers/csr.js';
import { openssl } from '../helpers/env.js';
import { citizenApplication, freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';

let f: RaFixture;
beforeAll(async () => {
  f = await openRaFixture();
}, 120_000);
afterAll(async () => {
  await f?.close();
});

let n = 0;
async function csr(key: 'ec-p256' | 'rsa-2048' = 'ec-p256') {
  return (await opensslCsr(f.dir, `ra-${n++}`, key)).csrPem;
}

describe('an application at the desk, from submission to handover', () => {
  it('follows the contract: 201 submitted with the tariff, payment, approval, three certificates, handover', async () => {
    const fin = freshFin();
    const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'submitted', tariff: { amount: '18.00', currency: 'AZN' }, office: 'AZP-0001', channel: 'desk' });
    expect(typeof created.body.id).toBe('string');
    const id = created.body.id as string;

    const paid = await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: '18.00', receipt: 'Q-000123', method: 'cash' });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ state: 'paid', payment: { amount: '18.00', currency: 'AZN', receipt: 'Q-000123', method: 'cash' } });

    const approved = await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {});
    expect(approved.status).toBe(200);
    expect(approved.body.state).toBe('approved');

    const serials: string[] = [];
    for (const type of ['signature', 'authentication', 'encryption']) {
      const issued = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type, csr: await csr() });
      expect(issued.status).toBe(201);
      expect(issued.body.certificate).toContain('BEGIN CERTIFICATE');
      expect(issued.body.chain).toContain('BEGIN CERTIFICATE');
      const certFile = path.join(f.dir, `app-${type}.pem`);
      writeFileSync(certFile, issued.body.certificate);
      const verified = await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('eimza'), certFile]);
      expect(verified.stdout).toContain(': OK');
      const text = (await openssl(['x509', '-in', certFile, '-noout', '-subject'])).stdout;
      expect(text).toContain(`PNOAZ-${fin}`);
      serials.push(issued.body.serial);
    }
    const done = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
    expect(done.body.state).toBe('issued');
    expect(done.body.certificates.map((c: { serial: string }) => c.serial).sort()).toEqual([...serials].sort());
    expect(done.body.history.map((h: { to: string }) => h.to)).toEqual(['submitted', 'paid', 'approved', 'approved', 'approved', 'approved', 'issued']);

    const handed = await f.api('POST', `/api/v1/applications/${id}/handover`, f.tokens.clerk, {});
    expect(handed.body.state).toBe('handed-over');
    const again = await f.api('POST', `/api/v1/applications/${id}/handover`, f.tokens.clerk, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body).toMatchObject({ code: 'invalidTransition' });
  }, 60_000);
});

describe('applicants, products and tariffs', () => {
  it('prices by category and validity, and names a representative organisation in the subject', async () => {
    const entrepreneur = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin(), {}, { kind: 'entrepreneur', voen: '1400057422' }));
    expect(entrepreneur.status).toBe(201);
    expect(entrepreneur.body).toMatchObject({ category: 'entrepreneur', tariff: { amount: '36.00' } });
    const one = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin(), { validityYears: 1 }));
    expect(one.body.tariff.amount).toBe('6.00');

    const fin = freshFin();
    const legal = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin, {}, {
      kind: 'legal-entity', voen: '1400057421', organization: 'Rəqəmsal İnkişaf Nazirliyi', authorityDocument: 'EV-2026/117',
    }));
    expect(legal.body).toMatchObject({ category: 'legal-entity', tariff: { amount: '72.00' } });
    const id = legal.body.id;
    await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: '72.00', receipt: 'L-1', method: 'bank-transfer' });
    await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {});
    const issued = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'signature', csr: await csr() });
    expect(issued.status).toBe(201);
    const file = path.join(f.dir, 'legal.pem');
    writeFileSync(file, issued.body.certificate);
    const subject = (await openssl(['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253'])).stdout;
    expect(subject).toContain('organizationIdentifier=NTRAZ-1400057421');
    expect(subject).toContain(`serialNumber=PNOAZ-${fin}`);
    // A representative's VÖEN ends in 1: an entrepreneur's will not do.
    const wrongVoen = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin(), {}, {
      kind: 'state-agency', voen: '1400057422', organization: 'X', authorityDocument: 'Y',
    }));
    expect(wrongVoen.body.code).toBe('invalidVoen');
  }, 30_000);

  it('a mobile-ID application needs the phone and issues the mobile profiles from the mobile-ID CA', async () => {
    const noPhone = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin(), { product: 'mobile-id' }, { phone: undefined }));
    expect(noPhone.body.code).toBe('missingPhone');
    const id = await f.approvedApplication({ product: 'mobile-id' });
    const app = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
    expect(app.body).toMatchObject({ carrier: 'sim', requiredTypes: ['signature', 'authentication'] });
    const enc = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'encryption', csr: await csr() });
    expect(enc.status).toBe(422);
    expect(enc.body.code).toBe('typeNotInProduct');
    for (const type of ['signature', 'authentication']) {
      const r = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type, csr: await csr() });
      expect(r.status).toBe(201);
      const cert = await f.api('GET', `/api/v1/certificates/${r.body.serial}`, null);
      expect(cert.body).toMatchObject({ ca: 'mobile', profile: type === 'signature' ? 'mobile-sign' : 'mobile-auth' });
      expect(cert.body.provenance).toBeUndefined();
    }
    expect((await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk)).body.state).toBe('issued');
  }, 30_000);
});

describe('bad input gets a clear 4xx and changes nothing', () => {
  const count = async () => (await f.api('GET', '/api/v1/applications?limit=500', f.tokens.caOperator)).body.items.length as number;

  it('refuses invalid identifiers, dates, unknown fields, oversized bodies and unknown products', async () => {
    const before = await count();
    const cases: [unknown, number, string][] = [
      [citizenApplication('ABCDEFI'), 400, 'invalidFin'],
      [citizenApplication(freshFin(), {}, { birthDate: '1990-02-30' }), 400, 'invalidBirthDate'],
      [citizenApplication(freshFin(), {}, { email: 'a@b.az\r\nBcc: x@y.az' }), 400, 'invalidEmail'],
      [citizenApplication(freshFin(), {}, { kind: 'entrepreneur', voen: '123' }), 400, 'invalidVoen'],
      [citizenApplication(freshFin(), {}, { idDocument: undefined }), 400, 'missingIdDocument'],
      [citizenApplication(freshFin(), { validityYears: 4 }), 400, 'invalidValidity'],
      [citizenApplication(freshFin(), { product: 'tablet' }), 400, 'invalidInput'],
      [citizenApplication(freshFin(), { carrier: 'sim' }), 400, 'invalidCarrier'],
      [{ ...citizenApplication(freshFin()), extra: true }, 400, 'invalidInput'],
      [{ ...citizenApplication(freshFin()), applicant: { ...citizenApplication().applicant, givenName: 'x'.repeat(20_000) } }, 400, 'bodyTooLarge'],
    ];
    for (const [body, status, code] of cases) {
      const r = await f.api('POST', '/api/v1/applications', f.tokens.clerk, body);
      expect({ status: r.status, code: r.body.code }).toEqual({ status, code });
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(r.body)).not.toMatch(/at [A-Za-z]+ \(|select |insert /i);
    }
    const notJson = await f.api('POST', '/api/v1/applications', f.tokens.clerk, '{"applicant":');
    expect(notJson.body.code).toBe('malformedJson');
    expect(await count()).toBe(before);
  });

  it('refuses a wrong amount, a duplicate application, wrong transitions and a reused key', async () => {
    const fin = freshFin();
    const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin));
    const id = created.body.id;
    const wrong = await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: '17.99', receipt: 'W-1', method: 'cash' });
    expect({ status: wrong.status, code: wrong.body.code }).toEqual({ status: 422, code: 'wrongAmount' });
    const sloppy = await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: '18', receipt: 'W-1', method: 'cash' });
    expect(sloppy.body.code).toBe('invalidAmount');
    const unchanged = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
    expect(unchanged.body).toMatchObject({ state: 'submitted', payment: null });

    const duplicate = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin));
    expect({ status: duplicate.status, code: duplicate.body.code }).toEqual({ status: 409, code: 'duplicateApplication' });
    // Another product for the same holder is a different application.
    expect((await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin, { product: 'mobile-id' }))).status).toBe(201);

    const early = await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {});
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'invalidTransition' });
    const notApproved = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'signature', csr: await csr() });
    expect({ status: notApproved.status, code: notApproved.body.code }).toEqual({ status: 409, code: 'applicationNotApproved' });
    expect((await f.api('GET', '/api/v1/applications/00000000-0000-4000-8000-000000000000', f.tokens.clerk)).body.code).toBe('applicationNotFound');
    expect((await f.api('GET', '/api/v1/applications/not-a-uuid', f.tokens.clerk)).status).toBe(404);

    // The CSR key of one certificate cannot be certified again (one purpose, one key pair).
    const approved = await f.approvedApplication();
    const reused = await csr();
    expect((await f.api('POST', `/api/v1/applications/${approved}/certificates`, f.tokens.clerk, { type: 'signature', csr: reused })).status).toBe(201);
    const again = await f.api('POST', `/api/v1/applications/${approved}/certificates`, f.tokens.clerk, { type: 'authentication', csr: reused });
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'keyAlreadyUsed' });
    const twice = await f.api('POST', `/api/v1/applications/${approved}/certificates`, f.tokens.clerk, { type: 'signature', csr: await csr() });
    expect(twice.body.code).toBe('certificateAlreadyIssued');
    const badCsr = await f.api('POST', `/api/v1/applications/${approved}/certificates`, f.tokens.clerk, { type: 'authentication', csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n' });
    expect(badCsr.status).toBe(400);
    expect(badCsr.body.code).toMatch(/^(badCsr|malformedCsr|invalidPem|malformed)/);
    // A failed issuance releases the type: the next good CSR gets it.
    expect((await f.api('POST', `/api/v1/applications/${approved}/certificates`, f.tokens.clerk, { type: 'authentication', csr: await csr() })).status).toBe(201);
    const cancel = await f.api('POST', `/api/v1/applications/${approved}/cancel`, f.tokens.clerk, {});
    expect(cancel.body.code).toBe('certificatesIssued');
  }, 30_000);
});

describe('Idempotency-Key', () => {
  it('replays the first reply for the same request and refuses the key for another', async () => {
    const body = citizenApplication(freshFin());
    const key = { 'idempotency-key': `k-${freshFin()}` };
    const first = await f.api('POST', '/api/v1/applications', f.tokens.clerk, body, key);
    const second = await f.api('POST', '/api/v1/applications', f.tokens.clerk, body, key);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const list = await f.api('GET', `/api/v1/applications?fin=${body.applicant.fin}`, f.tokens.clerk);
    expect(list.body.items).toHaveLength(1);
    const other = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin()), key);
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 422, code: 'idempotencyKeyReused' });
    // Keys are per principal: another clerk's same key is a different request.
    const theirs = await f.api('POST', '/api/v1/applications', f.tokens.otherClerk, citizenApplication(freshFin()), key);
    expect(theirs.status).toBe(201);

    // A refusal is replayed too, and a repeated payment is not taken twice.
    const id = first.body.id;
    const payKey = { 'idempotency-key': `pay-${id}` };
    const pay = { amount: '18.00', receipt: 'I-1', method: 'card' };
    expect((await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, pay, payKey)).status).toBe(200);
    const replay = await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, pay, payKey);
    expect(replay.status).toBe(200);
    expect(replay.body.state).toBe('paid');
    const history = (await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk)).body.history;
    expect(history.filter((h: { action: string }) => h.action === 'pay')).toHaveLength(1);
  });

  it('a retried certificate request gets the same certificate, not a second one', async () => {
    const id = await f.approvedApplication();
    const key = { 'idempotency-key': `cert-${id}` };
    const body = { type: 'signature', csr: await csr() };
    const [a, b] = await Promise.all([
      f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, body, key),
      f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, body, key),
    ]);
    const statuses = [a.status, b.status].sort();
    // Concurrent: one runs, the other is told it is in progress (or, if it came after, replayed).
    expect(statuses[0]).toBe(201);
    expect([201, 409]).toContain(statuses[1]);
    const later = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, body, key);
    expect(later.status).toBe(201);
    expect(later.body.serial).toBe((a.status === 201 ? a : b).body.serial);
    const app = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
    expect(app.body.certificates).toHaveLength(1);
  });
});

describe('online pre-orders', () => {
  it('are created without a token for a chosen office, need the identity checked there, then follow the desk flow', async () => {
    const offices = await f.api('GET', '/api/v1/offices', null);
    expect(offices.body.items.map((o: { code: string }) => o.code)).toEqual(expect.arrayContaining(['AZP-0001', 'ASAN-1']));
    const { idDocument: _doc, ...applicant } = citizenApplication(freshFin()).applicant;
    const pre = await f.api('POST', '/api/v1/preorders', null, { applicant, product: 'card', validityYears: 3, officeCode: 'ASAN-1' });
    expect(pre.status).toBe(201);
    expect(pre.body).toMatchObject({ state: 'submitted', channel: 'online', office: 'ASAN-1', createdBy: 'online', applicant: { idDocument: null } });
    const id = pre.body.id;
    expect((await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk)).body.code).toBe('otherOffice');
    await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.otherClerk, { amount: '18.00', receipt: 'P-1', method: 'online' });
    const unchecked = await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.otherSupervisor, {});
    expect(unchecked.body.code).toBe('identityNotChecked');
    const checked = await f.api('POST', `/api/v1/applications/${id}/identity`, f.tokens.otherClerk, { idDocument: { type: 'id-card', number: 'AZE 1234567' } });
    expect(checked.body.applicant.idDocument).toEqual({ type: 'id-card', number: 'AZE1234567' });
    expect((await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.otherSupervisor, {})).body.state).toBe('approved');
    const unknownOffice = await f.api('POST', '/api/v1/preorders', null, { applicant: { ...applicant, fin: freshFin() }, product: 'card', validityYears: 3, officeCode: 'NOWHERE' });
    expect(unknownOffice.body.code).toBe('officeNotFound');
  });

  it('reject tells the reason; cancel before issuance', async () => {
    const id = (await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin()))).body.id;
    expect((await f.api('POST', `/api/v1/applications/${id}/reject`, f.tokens.supervisor, {})).body.code).toBe('invalidInput');
    const rejected = await f.api('POST', `/api/v1/applications/${id}/reject`, f.tokens.supervisor, { reason: 'the ID card has expired' });
    expect(rejected.body.state).toBe('rejected');
    const other = (await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin()))).body.id;
    expect((await f.api('POST', `/api/v1/applications/${other}/cancel`, f.tokens.clerk, { reason: 'changed their mind' })).body.state).toBe('cancelled');
    expect((await f.api('POST', `/api/v1/applications/${other}/payment`, f.tokens.clerk, { amount: '18.00', receipt: 'C-1', method: 'cash' })).status).toBe(409);
  });
});

describe("holders' requests at the desk", () => {
  it('finds certificates by FIN; suspend by a clerk, restore only by a supervisor with the ID checked, revoke by a supervisor', async () => {
    const fin = freshFin();
    const id = await f.approvedApplication({ fin });
    const serial = (await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'authentication', csr: await csr() })).body.serial;
    const mine = await f.api('GET', `/api/v1/holders/${fin.toLowerCase()}/certificates`, f.tokens.otherClerk);
    expect(mine.body.items.map((c: { serial: string }) => c.serial)).toEqual([serial]);

    // Any office may take the holder's request; another holder's FIN does not reach the certificate.
    const stranger = await f.api('POST', `/api/v1/holders/${freshFin()}/certificates/${serial}/suspend`, f.tokens.otherClerk, {});
    expect(stranger.body.code).toBe('certificateNotFound');
    const suspended = await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/suspend`, f.tokens.otherClerk, { comment: 'card lost' });
    expect(suspended.body.status).toBe('suspended');
    expect((await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/restore`, f.tokens.otherClerk, {})).body.code).toBe('roleForbids');
    const noId = await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/restore`, f.tokens.otherSupervisor, {});
    expect(noId.body.code).toBe('identityNotChecked');
    const restored = await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/restore`, f.tokens.otherSupervisor, { idDocument: { type: 'id-card', number: 'AA1234567' } });
    expect(restored.body.status).toBe('active');
    const revoked = await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/revoke`, f.tokens.supervisor, { reason: 'keyCompromise' });
    expect(revoked.body).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await f.api('POST', `/api/v1/holders/${fin}/certificates/${serial}/restore`, f.tokens.supervisor, { idDocument: { type: 'id-card', number: 'AA1234567' } })).status).toBe(409);

    // The audit trail says who acted, at which office, and that the holder was there.
    const history = (await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk)).body;
    expect(history.certificates[0]).toMatchObject({ serial, status: 'revoked' });
  }, 30_000);
});

describe('statistics', () => {
  it('counts certificates issued and active by category, office and month', async () => {
    const before = await f.api('GET', '/api/v1/statistics', f.tokens.auditor);
    const citizens = (s: { byCategory: { category: string; issued: number; active: number }[] }) => s.byCategory.find((c) => c.category === 'citizen')!;
    const id = await f.approvedApplication();
    const serial = (await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'signature', csr: await csr() })).body.serial;
    await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'authentication', csr: await csr() });
    await f.api('POST', `/api/v1/certificates/${serial}/revoke`, f.tokens.caOperator, { reason: 'superseded' });
    const after = await f.api('GET', '/api/v1/statistics', f.tokens.auditor);
    expect(citizens(after.body).issued - citizens(before.body).issued).toBe(2);
    expect(citizens(after.body).active - citizens(before.body).active).toBe(1);
    const month = new Date().toISOString().slice(0, 7);
    const row = after.body.byOfficeAndMonth.find((r: { officeCode: string; category: string; month: string }) => r.officeCode === 'AZP-0001' && r.category === 'citizen' && r.month === month);
    expect(row.issued).toBeGreaterThanOrEqual(2);
    expect(after.body.byCategory.map((c: { category: string }) => c.category)).toEqual(expect.arrayContaining(['state-agency', 'legal-entity', 'citizen']));
  }, 30_000);
});

describe('the audit log for auditors', () => {
  it('pages through the chain, filters by action and serial, and links each event to the previous hash', async () => {
    const id = await f.approvedApplication();
    const serial = (await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'signature', csr: await csr() })).body.serial;
    const first = await f.api('GET', '/api/v1/audit?limit=5', f.tokens.auditor);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(5);
    const second = await f.api('GET', `/api/v1/audit?limit=5&after=${first.body.next}`, f.tokens.auditor);
    expect(second.body.items[0].prevHash).toBe(first.body.items[4].hash);
    expect(Number(second.body.items[0].seq)).toBe(Number(first.body.items[4].seq) + 1);
    const approvals = await f.api('GET', '/api/v1/audit?action=application.approved&limit=1000', f.tokens.auditor);
    expect(approvals.body.items.some((e: { details: { id: string } }) => e.details.id === id)).toBe(true);
    expect(approvals.body.items.every((e: { action: string }) => e.action === 'application.approved')).toBe(true);
    const bySerial = await f.api('GET', `/api/v1/audit?serial=${serial}`, f.tokens.auditor);
    expect(bySerial.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['certificate.issued', 'application.certificateIssued']));
    expect((await f.api('GET', '/api/v1/audit?after=abc', f.tokens.auditor)).body.code).toBe('invalidCursor');
    expect((await f.api('GET', '/api/v1/audit', f.tokens.supervisor)).body.code).toBe('roleForbids');
  });
});

describe('public pre-orders are rate limited per address', () => {
  // Last in this file: it uses up this address's allowance.
  it('answers 429 tooManyRequests once the window is full, before reading the body', async () => {
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++) status = (await f.api('POST', '/api/v1/preorders', null, {})).status;
    expect(status).toBe(429);
    const limited = await f.api('POST', '/api/v1/preorders', null, {});
    expect(limited.body.code).toBe('tooManyRequests');
    expect(limited.headers.get('retry-after')).toBeTruthy();
    // Operators at the desk are not affected.
    expect((await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin()))).status).toBe(201);
  });
});
