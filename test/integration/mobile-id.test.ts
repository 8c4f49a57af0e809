import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../src/clock.js';
import { opensslCsr } from '../helpers/csr.js';
import { openssl, removeDir, tempDir } from '../helpers/env.js';
import { citizenApplication, freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';
import { TestSmsGateway } from '../helpers/sms.js';
import { TestSmtpServer, type ReceivedMail } from '../helpers/smtp.js';

/**
 * Mobile-ID end to end: a clerk enrols the SIM, the activation code reaches the holder by SMS (a
 * local HTTP gateway) and e-mail (a local SMTP server), the SIM activates with two OpenSSL-made
 * CSRs and gets two certificates from the mobile-ID CA; wrong, expired and renewed codes; the pair's
 * status changes; SIM replacement; the relying parties' lookup. The clock is fake (three hours
 * behind, so certificates are valid for OpenSSL) to let codes expire.
 */
let f: RaFixture;
const smtp = new TestSmtpServer();
const sms = new TestSmsGateway();
const clock = new FakeClock(new Date(Date.now() - 3 * 3600_000));
const secrets = tempDir('eimza-sms-');
const SMS_TOKEN = 'sms-gateway-token-0123456789';

beforeAll(async () => {
  await smtp.start();
  await sms.start();
  const tokenFile = path.join(secrets, 'sms.token');
  writeFileSync(tokenFile, `${SMS_TOKEN}\n`, { mode: 0o600 });
  f = await openRaFixture({
    clock,
    configure: (config) => {
      config.notify.smtp = { host: '127.0.0.1', port: smtp.port, secure: false };
      config.notify.from = 'e-imza <no-reply@e-imza.example.az>';
      config.notify.sms = { url: sms.url, tokenFile };
    },
  });
}, 120_000);
afterAll(async () => {
  await f?.close();
  await smtp.stop();
  await sms.stop();
  removeDir(secrets);
});

let n = 0;
const csr = async (key: 'ec-p256' | 'rsa-2048' | 'rsa-1024' = 'ec-p256') => (await opensslCsr(f.dir, `mid-${n++}`, key)).csrPem;

let numbers = 0;
/** A fresh Azerbaijani mobile number. */
function freshMsisdn(): string {
  return `+99455${String(Math.floor(Math.random() * 1e4) * 1000 + (++numbers % 1000)).padStart(7, '0')}`;
}

/** A 19-digit ICCID (89 994 …) with its Luhn check digit. */
function freshIccid(): string {
  const body = `89994${String(Date.now() % 1e9).padStart(9, '0')}${String(++numbers % 10000).padStart(4, '0')}`;
  for (let d = 0; d < 10; d++) {
    const digits = body + d;
    const sum = [...digits].reverse().reduce((s, c, i) => {
      let v = Number(c);
      if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      return s + v;
    }, 0);
    if (sum % 10 === 0) return digits;
  }
  throw new Error('unreachable');
}

/** An approved mobile-ID application; `email: null` for an applicant without one. */
async function mobileApplication(opts: { fin?: string; email?: string | null } = {}): Promise<{ id: string; fin: string }> {
  const fin = opts.fin ?? freshFin();
  const applicant = opts.email === null ? { email: undefined } : { email: opts.email ?? `m-${fin.toLowerCase()}@example.az` };
  const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin, { product: 'mobile-id' }, applicant));
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect((await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: created.body.tariff.amount, receipt: `M-${id.slice(0, 8)}`, method: 'cash' })).status).toBe(200);
  expect((await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {})).status).toBe(200);
  return { id, fin };
}

const enrol = (applicationId: string, body: Record<string, unknown>, token = f.tokens.clerk) => f.api('POST', `/api/v1/applications/${applicationId}/mobile-id`, token, body);
const activate = (msisdn: string, activationCode: string, authenticationCsr: string, signatureCsr: string) =>
  f.api('POST', '/api/v1/mobile-id/activate', null, { msisdn, activationCode, authenticationCsr, signatureCsr });

/** The code in the newest SMS to `msisdn` (the text starts with it). */
function smsCode(msisdn: string): string {
  const last = sms.to(msisdn).at(-1);
  if (!last) throw new Error(`no SMS to ${msisdn}`);
  const code = /^([0-9]{8}) /.exec(last.text)?.[1];
  if (!code) throw new Error('the SMS does not start with an 8-digit code');
  return code;
}

async function mailTo(address: string, count = 1): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = smtp.received.filter((m) => m.rcptTo.includes(address) && (m.headers.get('subject') ?? '').includes('activation code'));
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`no activation-code mail for ${address}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Enrols a fresh SIM for a fresh approved application and activates it. */
async function activeMobileId(opts: { fin?: string; msisdn?: string } = {}) {
  const app = await mobileApplication(opts.fin ? { fin: opts.fin } : {});
  const msisdn = opts.msisdn ?? freshMsisdn();
  const enrolled = await enrol(app.id, { msisdn, iccid: freshIccid() });
  expect(enrolled.status).toBe(201);
  const activated = await activate(msisdn, smsCode(msisdn), await csr(), await csr());
  expect(activated.status).toBe(201);
  return { ...app, msisdn, mid: enrolled.body.id as string, authSerial: activated.body.authentication.serial as string, signSerial: activated.body.signature.serial as string };
}

const status = async (serial: string) => (await f.api('GET', `/api/v1/certificates/${serial}`, null)).body;
const db = () => f.pki.ctx.db;

describe('enrolment at the desk and activation from the SIM', () => {
  it('sends the code by SMS and e-mail, never in a reply or the outbox, and activates two certificates from the mobile-ID CA', async () => {
    const email = `holder-${freshFin().toLowerCase()}@example.az`;
    const app = await mobileApplication({ email });
    const msisdn = freshMsisdn();
    const iccid = freshIccid();
    const enrolled = await enrol(app.id, { msisdn, iccid: `${iccid.slice(0, 4)} ${iccid.slice(4)}` });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ application: app.id, fin: app.fin, msisdn, iccid, state: 'pending', failedAttempts: 0, delivery: { sms: true, email: true } });
    expect(new Date(enrolled.body.codeExpiresAt).getTime() - clock.now().getTime()).toBe(15 * 60_000);

    const code = smsCode(msisdn);
    const [message] = sms.to(msisdn);
    expect(message).toMatchObject({ authorization: `Bearer ${SMS_TOKEN}`, contentType: 'application/json' });
    const [mail] = await mailTo(email);
    expect(mail!.body).toContain(code);
    expect(mail!.body).toContain(msisdn);
    expect(mail!.mailFrom).toBe('no-reply@e-imza.example.az');
    // The secret is nowhere but with the holder: not in the reply, the outbox or the audit log; only its digest is stored.
    expect(JSON.stringify(enrolled.body)).not.toContain(code);
    const outbox = await db().selectFrom('notification').select(['subject', 'body']).execute();
    expect(outbox.some((m) => m.body.includes(code) || m.subject.includes('activation'))).toBe(false);
    const audit = await db().selectFrom('audit_event').select('details').execute();
    expect(audit.some((e) => JSON.stringify(e.details).includes(code))).toBe(false);
    const row = await db().selectFrom('mobile_id').selectAll().where('id', '=', enrolled.body.id).executeTakeFirstOrThrow();
    // Keyed with the enrolment key: a plain hash of the eight digits would be guessed from a database copy.
    expect(Buffer.from(row.activation_code_sha256!).toString('hex')).not.toBe(createHash('sha256').update(code).digest('hex'));
    expect(Buffer.from(row.activation_code_sha256!).toString('hex')).toBe(
      createHmac('sha256', f.pki.ctx.ra.exchange.enrolmentKey).update(`mobile-id:${row.id}:${code}`).digest('hex'),
    );
    expect(JSON.stringify(row)).not.toContain(code);

    const activated = await activate(msisdn, code, await csr(), await csr('rsa-2048'));
    expect(activated.status).toBe(201);
    expect(activated.body).toMatchObject({ id: enrolled.body.id, msisdn });
    expect(JSON.stringify(activated.body)).not.toContain(code);
    const chainFile = path.join(f.dir, 'mid-chain.pem');
    writeFileSync(chainFile, activated.body.chain);
    expect((await openssl(['x509', '-in', chainFile, '-noout', '-subject'])).stdout).toMatch(/mobile/i);
    const files: Record<string, string> = {};
    for (const type of ['authentication', 'signature'] as const) {
      const file = path.join(f.dir, `mid-${type}.pem`);
      writeFileSync(file, activated.body[type].certificate);
      files[type] = file;
      const verified = await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('mobile'), file]);
      expect(verified.stdout).toContain(': OK');
      expect((await openssl(['x509', '-in', file, '-noout', '-subject'])).stdout).toContain(`PNOAZ-${app.fin}`);
      expect(await status(activated.body[type].serial)).toMatchObject({ ca: 'mobile', profile: type === 'signature' ? 'mobile-sign' : 'mobile-auth', status: 'active' });
    }
    const signText = (await openssl(['x509', '-in', files.signature!, '-noout', '-text'])).stdout;
    expect(signText).toMatch(/qcStatements|1\.3\.6\.1\.5\.5\.7\.1\.3/);
    expect(signText).toContain('Non Repudiation');
    // The QC statements themselves (ETSI EN 319 412-5), as DER OIDs in the certificate: QcCompliance
    // 0.4.0.1862.1.1, QcSSCD 0.4.0.1862.1.4 (the key is on the SIM), QcType esign 0.4.0.1862.1.6.1.
    const der = Buffer.from(activated.body.signature.certificate.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
    for (const oid of ['060604008e460101', '060604008e460104', '060704008e46010601']) expect(der.toString('hex')).toContain(oid);
    const authText = (await openssl(['x509', '-in', files.authentication!, '-noout', '-text'])).stdout;
    expect(authText).toContain('TLS Web Client Authentication');
    expect(authText).toContain('Digital Signature');
    expect(authText).not.toMatch(/qcStatements/);

    // The SIM went home with the holder at the desk: the application is complete.
    const done = await f.api('GET', `/api/v1/applications/${app.id}`, f.tokens.clerk);
    expect(done.body.state).toBe('handed-over');
    expect(done.body.certificates.map((c: { type: string }) => c.type).sort()).toEqual(['authentication', 'signature']);
    const looked = await f.api('GET', `/api/v1/mobile-id/${encodeURIComponent(msisdn)}/certificates`, null);
    expect(looked.status).toBe(200);
    expect(looked.body).toMatchObject({
      msisdn,
      authentication: { serial: activated.body.authentication.serial, profile: 'mobile-auth', status: 'active', certificate: activated.body.authentication.certificate },
      signature: { serial: activated.body.signature.serial, profile: 'mobile-sign', status: 'active', certificate: activated.body.signature.certificate },
    });
    expect(looked.body.chain).toBe(activated.body.chain);
    expect(new Date(looked.body.signature.notAfter).getTime()).toBeGreaterThan(clock.now().getTime());
    // Used once.
    const again = await activate(msisdn, code, await csr(), await csr());
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'mobileIdAlreadyActive' });
  }, 60_000);

  it('counts a wrong code and still takes the right one; five wrong codes lock the enrolment, which starts again at a desk', async () => {
    const app = await mobileApplication();
    const msisdn = freshMsisdn();
    const enrolled = await enrol(app.id, { msisdn, iccid: freshIccid() });
    const code = smsCode(msisdn);
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const first = await activate(msisdn, wrong, await csr(), await csr());
    expect({ status: first.status, code: first.body.code }).toEqual({ status: 401, code: 'wrongActivationCode' });
    expect(first.body.detail).toContain('4 more wrong tries');
    expect((await activate(msisdn, '1234', await csr(), await csr())).body.detail).toContain('3 more wrong tries');
    const row = await db().selectFrom('mobile_id').select(['failed_attempts', 'state']).where('id', '=', enrolled.body.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_attempts: 2, state: 'pending' });
    expect((await activate(msisdn, code, await csr(), await csr())).status).toBe(201);

    const locking = await mobileApplication();
    const other = freshMsisdn();
    const lockEnrol = await enrol(locking.id, { msisdn: other, iccid: freshIccid() });
    const right = smsCode(other);
    const bad = right === '99999999' ? '88888888' : '99999999';
    for (let i = 0; i < 5; i++) {
      const r = await activate(other, bad, await csr(), await csr());
      expect({ status: r.status, code: r.body.code }).toEqual({ status: 401, code: 'wrongActivationCode' });
    }
    const locked = await activate(other, right, await csr(), await csr());
    expect({ status: locked.status, code: locked.body.code }).toEqual({ status: 409, code: 'enrolmentLocked' });
    const renew = await f.api('POST', `/api/v1/mobile-id/${lockEnrol.body.id}/code`, f.tokens.clerk, {});
    expect({ status: renew.status, code: renew.body.code }).toEqual({ status: 409, code: 'enrolmentLocked' });
    expect((await f.api('GET', `/api/v1/applications/${locking.id}`, f.tokens.clerk)).body.certificates).toEqual([]);
    // A new enrolment at the desk: a new code, which works.
    const again = await enrol(locking.id, { msisdn: other, iccid: freshIccid() });
    expect(again.status).toBe(201);
    expect((await activate(other, smsCode(other), await csr(), await csr())).status).toBe(201);
  }, 60_000);

  it('refuses an expired code; a fresh code replaces it', async () => {
    const app = await mobileApplication();
    const msisdn = freshMsisdn();
    const enrolled = await enrol(app.id, { msisdn, iccid: freshIccid() });
    const old = smsCode(msisdn);
    clock.advance(15 * 60_000 + 1000);
    const expired = await activate(msisdn, old, await csr(), await csr());
    expect({ status: expired.status, code: expired.body.code }).toEqual({ status: 401, code: 'activationCodeExpired' });
    const otherDesk = await f.api('POST', `/api/v1/mobile-id/${enrolled.body.id}/code`, f.tokens.otherClerk, {});
    expect(otherDesk.body.code).toBe('otherOffice');
    const renewed = await f.api('POST', `/api/v1/mobile-id/${enrolled.body.id}/code`, f.tokens.clerk, {});
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ state: 'pending', delivery: { sms: true, email: true } });
    expect(new Date(renewed.body.codeExpiresAt).getTime()).toBe(clock.now().getTime() + 15 * 60_000);
    const fresh = smsCode(msisdn);
    expect(sms.to(msisdn)).toHaveLength(2);
    if (fresh !== old) {
      const stale = await activate(msisdn, old, await csr(), await csr());
      expect(stale.body.code).toBe('wrongActivationCode');
    }
    expect((await activate(msisdn, fresh, await csr(), await csr())).status).toBe(201);
    const done = await f.api('POST', `/api/v1/mobile-id/${enrolled.body.id}/code`, f.tokens.clerk, {});
    expect({ status: done.status, code: done.body.code }).toEqual({ status: 409, code: 'mobileIdNotPending' });
  }, 60_000);

  it('checks both CSRs before issuing either: a bad second one issues nothing and leaves the code usable', async () => {
    const app = await mobileApplication();
    const msisdn = freshMsisdn();
    await enrol(app.id, { msisdn, iccid: freshIccid() });
    const code = smsCode(msisdn);
    const good = await csr();
    const weak = await activate(msisdn, code, good, await csr('rsa-1024'));
    expect(weak.status).toBe(400);
    expect(weak.body.detail).toMatch(/^signatureCsr: /);
    const garbage = await activate(msisdn, code, good, '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n');
    expect(garbage.status).toBe(400);
    const same = await activate(msisdn, code, good, good);
    expect({ status: same.status, code: same.body.code }).toEqual({ status: 409, code: 'keyAlreadyUsed' });
    // A key another certificate already certifies.
    const known = await f.pki.issue('known-key', 'authentication', { fin: freshFin(), givenName: 'A', surname: 'B' });
    const knownCsr = (await openssl(['req', '-new', '-key', known.keyPath, '-subj', '/CN=reuse'])).stdout;
    const reused = await activate(msisdn, code, good, knownCsr);
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 409, code: 'keyAlreadyUsed' });
    // Nothing was issued, nothing counted as a wrong code, and the enrolment waits.
    expect((await f.api('GET', `/api/v1/applications/${app.id}`, f.tokens.clerk)).body).toMatchObject({ state: 'approved', certificates: [] });
    expect((await f.api('GET', `/api/v1/holders/${app.fin}/certificates`, f.tokens.clerk)).body.items).toEqual([]);
    const row = await db().selectFrom('mobile_id').select(['state', 'failed_attempts']).where('msisdn', '=', msisdn).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'pending', failed_attempts: 0 });
    const ok = await activate(msisdn, code, good, await csr());
    expect(ok.status).toBe(201);
  }, 60_000);

  it('resumes an activation whose second certificate was not issued: the same request issues the missing one', async () => {
    const app = await mobileApplication();
    const msisdn = freshMsisdn();
    await enrol(app.id, { msisdn, iccid: freshIccid() });
    const authCsr = await csr();
    const signCsr = await csr();
    // As if the CA failed after the authentication certificate: it is issued through the desk path.
    const first = await f.api('POST', `/api/v1/applications/${app.id}/certificates`, f.tokens.clerk, { type: 'authentication', csr: authCsr });
    expect(first.status).toBe(201);
    const otherKey = await activate(msisdn, smsCode(msisdn), await csr(), signCsr);
    expect({ status: otherKey.status, code: otherKey.body.code }).toEqual({ status: 409, code: 'certificateAlreadyIssued' });
    const resumed = await activate(msisdn, smsCode(msisdn), authCsr, signCsr);
    expect(resumed.status).toBe(201);
    expect(resumed.body.authentication.serial).toBe(first.body.serial);
    expect(resumed.body.signature.serial).not.toBe(first.body.serial);
    expect((await f.api('GET', `/api/v1/applications/${app.id}`, f.tokens.clerk)).body.state).toBe('handed-over');
  }, 60_000);
});

describe('enrolment rules', () => {
  it('one mobile-ID in progress or active per MSISDN and per application; only approved mobile-ID applications of the own office', async () => {
    const a = await mobileApplication();
    const msisdn = freshMsisdn();
    expect((await enrol(a.id, { msisdn, iccid: freshIccid() })).status).toBe(201);
    const b = await mobileApplication();
    const taken = await enrol(b.id, { msisdn, iccid: freshIccid() });
    expect({ status: taken.status, code: taken.body.code }).toEqual({ status: 409, code: 'msisdnInUse' });
    const notTheirs = await enrol(b.id, { msisdn, iccid: freshIccid(), replace: true });
    expect({ status: notTheirs.status, code: notTheirs.body.code }).toEqual({ status: 409, code: 'msisdnOfAnotherHolder' });
    const second = await enrol(a.id, { msisdn: freshMsisdn(), iccid: freshIccid() });
    expect({ status: second.status, code: second.body.code }).toEqual({ status: 409, code: 'mobileIdInProgress' });

    const card = await f.approvedApplication();
    const wrongProduct = await enrol(card, { msisdn: freshMsisdn(), iccid: freshIccid() });
    expect({ status: wrongProduct.status, code: wrongProduct.body.code }).toEqual({ status: 422, code: 'notMobileIdApplication' });
    const submitted = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin(), { product: 'mobile-id' }));
    const early = await enrol(submitted.body.id, { msisdn: freshMsisdn(), iccid: freshIccid() });
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'applicationNotApproved' });
    const elsewhere = await enrol(b.id, { msisdn: freshMsisdn(), iccid: freshIccid() }, f.tokens.otherClerk);
    expect({ status: elsewhere.status, code: elsewhere.body.code }).toEqual({ status: 403, code: 'otherOffice' });
    const auditor = await enrol(b.id, { msisdn: freshMsisdn(), iccid: freshIccid() }, f.tokens.auditor);
    expect({ status: auditor.status, code: auditor.body.code }).toEqual({ status: 403, code: 'roleForbids' });
    // A replacement of the application's own pending enrolment (a mistyped number) is allowed.
    const fixed = await enrol(a.id, { msisdn: freshMsisdn(), iccid: freshIccid(), replace: true });
    expect(fixed.status).toBe(201);
    const states = await db().selectFrom('mobile_id').select(['msisdn', 'state']).where('application_id', '=', a.id).orderBy('created_at').execute();
    expect(states.map((s) => s.state).sort()).toEqual(['pending', 'replaced']);
    // The number is free again.
    expect((await enrol(b.id, { msisdn, iccid: freshIccid() })).status).toBe(201);
    // A pending enrolment of a cancelled application does not hold its number.
    const c = await mobileApplication();
    const d = await mobileApplication();
    const held = freshMsisdn();
    expect((await enrol(c.id, { msisdn: held, iccid: freshIccid() })).status).toBe(201);
    expect((await f.api('POST', `/api/v1/applications/${c.id}/cancel`, f.tokens.clerk, { reason: 'changed their mind' })).body.state).toBe('cancelled');
    expect((await enrol(d.id, { msisdn: held, iccid: freshIccid() })).status).toBe(201);
    const abandoned = await db().selectFrom('mobile_id').select('state').where('application_id', '=', c.id).executeTakeFirstOrThrow();
    expect(abandoned.state).toBe('replaced');
  }, 60_000);

  it('validates the MSISDN (E.164, +994) and the ICCID (19-20 digits, 89…, Luhn check digit)', async () => {
    const app = await mobileApplication();
    const cases: [Record<string, unknown>, string][] = [
      [{ msisdn: '+15551234567', iccid: freshIccid() }, 'invalidMsisdn'],
      [{ msisdn: '+99450123', iccid: freshIccid() }, 'invalidMsisdn'],
      [{ msisdn: 'phone', iccid: freshIccid() }, 'invalidMsisdn'],
      [{ msisdn: freshMsisdn(), iccid: '89014103211118510721' }, 'invalidIccid'],
      [{ msisdn: freshMsisdn(), iccid: '8944500102198304827' }, 'invalidIccid'],
      [{ msisdn: freshMsisdn(), iccid: '891410321111851072' }, 'invalidIccid'],
      [{ msisdn: freshMsisdn(), iccid: '79014103211118510720' }, 'invalidIccid'],
      [{ msisdn: freshMsisdn(), iccid: '8901410321111851072X' }, 'invalidIccid'],
      [{ msisdn: freshMsisdn(), iccid: '89014103211118510720', extra: 1 }, 'invalidInput'],
    ];
    for (const [body, code] of cases) {
      const r = await enrol(app.id, body);
      expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status: 400, code });
    }
    expect(await db().selectFrom('mobile_id').select('id').where('application_id', '=', app.id).execute()).toEqual([]);
    // Published ICCIDs with valid check digits; a local number is normalised.
    const local = `0${freshMsisdn().slice(4)}`;
    const ok = await enrol(app.id, { msisdn: local, iccid: '8944500102198304826' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ msisdn: `+994${local.slice(1)}`, iccid: '8944500102198304826' });
    const twenty = await mobileApplication();
    expect((await enrol(twenty.id, { msisdn: freshMsisdn(), iccid: '8901-4103-2111-1851-0720' })).body.iccid).toBe('89014103211118510720');
  }, 60_000);

  it('answers 503 when the code reached the holder on no channel, and 201 when one took it', async () => {
    const noMail = await mobileApplication({ email: null });
    const msisdn = freshMsisdn();
    sms.mode = 'fail';
    try {
      const lost = await enrol(noMail.id, { msisdn, iccid: freshIccid() });
      expect({ status: lost.status, code: lost.body.code }).toEqual({ status: 503, code: 'activationCodeNotSent' });
      const mid = /mobile-ID ([0-9a-f-]{36})/.exec(lost.body.detail)?.[1];
      expect(mid).toBeDefined();
      const stillDown = await f.api('POST', `/api/v1/mobile-id/${mid}/code`, f.tokens.clerk, {});
      expect(stillDown.status).toBe(503);
      const email = `mailonly-${freshFin().toLowerCase()}@example.az`;
      const mailOnly = await mobileApplication({ email });
      const other = freshMsisdn();
      const byMail = await enrol(mailOnly.id, { msisdn: other, iccid: freshIccid() });
      expect(byMail.status).toBe(201);
      expect(byMail.body.delivery).toEqual({ sms: false, email: true });
      const code = /: ([0-9]{8})\n/.exec((await mailTo(email))[0]!.body)?.[1];
      expect(code).toMatch(/^[0-9]{8}$/);
      sms.mode = 'ok';
      const renewed = await f.api('POST', `/api/v1/mobile-id/${mid}/code`, f.tokens.clerk, {});
      expect(renewed.status).toBe(200);
      expect(renewed.body.delivery).toEqual({ sms: true, email: false });
      expect((await activate(msisdn, smsCode(msisdn), await csr(), await csr())).status).toBe(201);
      expect((await activate(other, code!, await csr(), await csr())).status).toBe(201);
    } finally {
      sms.mode = 'ok';
    }
  }, 60_000);
});

describe('the pair', () => {
  it('suspends, restores and revokes both certificates together, with the roles of holder requests', async () => {
    const m = await activeMobileId();
    const both = async () => [(await status(m.authSerial)).status, (await status(m.signSerial)).status];
    const suspended = await f.api('POST', `/api/v1/mobile-id/${m.mid}/suspend`, f.tokens.otherClerk, { comment: 'phone lost' });
    expect(suspended.status).toBe(200);
    expect(suspended.body.certificates.map((c: { status: string }) => c.status)).toEqual(['suspended', 'suspended']);
    expect(await both()).toEqual(['suspended', 'suspended']);
    const looked = await f.api('GET', `/api/v1/mobile-id/${m.msisdn}/certificates`, null);
    expect([looked.body.authentication.status, looked.body.signature.status]).toEqual(['suspended', 'suspended']);
    const twice = await f.api('POST', `/api/v1/mobile-id/${m.mid}/suspend`, f.tokens.clerk, {});
    expect({ status: twice.status, code: twice.body.code }).toEqual({ status: 409, code: 'invalidTransition' });

    expect((await f.api('POST', `/api/v1/mobile-id/${m.mid}/restore`, f.tokens.clerk, { idDocument: { type: 'id-card', number: 'AA1234567' } })).body.code).toBe('roleForbids');
    expect((await f.api('POST', `/api/v1/mobile-id/${m.mid}/restore`, f.tokens.supervisor, {})).body.code).toBe('identityNotChecked');
    const restored = await f.api('POST', `/api/v1/mobile-id/${m.mid}/restore`, f.tokens.otherSupervisor, { idDocument: { type: 'id-card', number: 'AA1234567' } });
    expect(restored.status).toBe(200);
    expect(await both()).toEqual(['active', 'active']);

    expect((await f.api('POST', `/api/v1/mobile-id/${m.mid}/revoke`, f.tokens.clerk, { reason: 'keyCompromise' })).body.code).toBe('roleForbids');
    const revoked = await f.api('POST', `/api/v1/mobile-id/${m.mid}/revoke`, f.tokens.supervisor, { reason: 'keyCompromise' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.state).toBe('revoked');
    for (const serial of [m.authSerial, m.signSerial]) expect(await status(serial)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const gone = await f.api('GET', `/api/v1/mobile-id/${m.msisdn}/certificates`, null);
    expect({ status: gone.status, code: gone.body.code }).toEqual({ status: 404, code: 'mobileIdNotFound' });
    const after = await f.api('POST', `/api/v1/mobile-id/${m.mid}/suspend`, f.tokens.clerk, {});
    expect({ status: after.status, code: after.body.code }).toEqual({ status: 409, code: 'mobileIdNotActive' });
    const unknown = await f.api('POST', '/api/v1/mobile-id/00000000-0000-4000-8000-000000000000/suspend', f.tokens.clerk, {});
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'mobileIdNotFound' });
  }, 60_000);

  it('a new SIM for the same number and holder revokes the old pair as superseded; another holder cannot take the number', async () => {
    const old = await activeMobileId();
    const stranger = await mobileApplication();
    const refused = await enrol(stranger.id, { msisdn: old.msisdn, iccid: freshIccid(), replace: true });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 409, code: 'msisdnOfAnotherHolder' });

    const next = await mobileApplication({ fin: old.fin });
    const without = await enrol(next.id, { msisdn: old.msisdn, iccid: freshIccid() });
    expect({ status: without.status, code: without.body.code }).toEqual({ status: 409, code: 'msisdnInUse' });
    expect(await status(old.authSerial)).toMatchObject({ status: 'active' });
    const replaced = await enrol(next.id, { msisdn: old.msisdn, iccid: freshIccid(), replace: true });
    expect(replaced.status).toBe(201);
    for (const serial of [old.authSerial, old.signSerial]) expect(await status(serial)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    const oldRow = await db().selectFrom('mobile_id').select('state').where('id', '=', old.mid).executeTakeFirstOrThrow();
    expect(oldRow.state).toBe('replaced');
    expect((await f.api('GET', `/api/v1/mobile-id/${old.msisdn}/certificates`, null)).status).toBe(404);

    const activated = await activate(old.msisdn, smsCode(old.msisdn), await csr(), await csr());
    expect(activated.status).toBe(201);
    const looked = await f.api('GET', `/api/v1/mobile-id/${old.msisdn}/certificates`, null);
    expect(looked.body.authentication.serial).toBe(activated.body.authentication.serial);
    expect(looked.body.signature.serial).toBe(activated.body.signature.serial);
  }, 60_000);
});

describe('relying parties', () => {
  // Last in this file: it uses up this address's allowance.
  it('looks a number up without a token (404 without an active mobile-ID), rate limited per address', async () => {
    const m = await activeMobileId();
    const plain = await f.api('GET', `/api/v1/mobile-id/${m.msisdn.slice(1)}/certificates`, null);
    expect(plain.status).toBe(200);
    expect(plain.body.msisdn).toBe(m.msisdn);
    const none = await f.api('GET', `/api/v1/mobile-id/${freshMsisdn()}/certificates`, null);
    expect({ status: none.status, code: none.body.code }).toEqual({ status: 404, code: 'mobileIdNotFound' });
    const bad = await f.api('GET', '/api/v1/mobile-id/12/certificates', null);
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 400, code: 'invalidMsisdn' });
    let last = 0;
    for (let i = 0; i < 70 && last !== 429; i++) last = (await f.api('GET', `/api/v1/mobile-id/${m.msisdn}/certificates`, null)).status;
    expect(last).toBe(429);
    const limited = await f.api('GET', `/api/v1/mobile-id/${m.msisdn}/certificates`, null);
    expect(limited.body.code).toBe('tooManyRequests');
    clock.advance(61_000);
    expect((await f.api('GET', `/api/v1/mobile-id/${m.msisdn}/certificates`, null)).status).toBe(200);
  }, 60_000);
});
