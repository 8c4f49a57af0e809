import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../src/clock.js';
import type { NotifyConfig } from '../../src/config/config.js';
import type { CertificateRecord } from '../../src/domain/certificate.js';
import type { Holder } from '../../src/domain/holder.js';
import { randomSerial, type Serial } from '../../src/domain/serial.js';
import { createHolderNotices, parseEmailAddress, queueExpiryWarnings, type HolderNotices } from '../../src/notify/outbox.js';
import { NotificationSender, retryDelayMs, type NotificationSenderOptions } from '../../src/notify/sender.js';
import { formatBakuTime, renderNotice } from '../../src/notify/templates.js';
import { markIssued, insertReservations } from '../../src/store/certificates.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { countNotificationsByState, listNotifications } from '../../src/store/notifications.js';
import { inTransaction } from '../../src/store/transaction.js';
import { createTestDatabase, removeDir, tempDir, type TestDatabase } from '../helpers/env.js';
import { TestSmtpServer } from '../helpers/smtp.js';

/**
 * Holder e-mail through the outbox: queued in the change's transaction, delivered after commit
 * to a real SMTP server (smtp-server on a local port), with retries across an outage. What the
 * server received is parsed here (headers, RFC 2047 words, quoted-printable / base64 bodies).
 */

const BASE_URL = 'https://e-imza.example.az';
const START = new Date('2027-03-01T08:00:00.000Z');
const HOLDER: Holder = { fin: '5ZXK2QJ', givenName: 'Aygün', surname: 'Məmmədova', email: 'aygun.m@example.az' };

// ---- fixtures -----------------------------------------------------------------------------------

function certificateRecord(over: Partial<CertificateRecord> = {}): CertificateRecord {
  const serial = randomSerial();
  return {
    serial,
    caName: 'eimza',
    profile: 'signature',
    status: 'active',
    holderId: null,
    subject: 'C=AZ, CN=AYGÜN MƏMMƏDOVA',
    spkiSha256: new Uint8Array(32),
    tbs: new Uint8Array([0x30, 0x00]),
    der: null,
    notBefore: START,
    notAfter: new Date(START.getTime() + 3 * 365 * 86_400_000),
    reservedAt: START,
    issuedAt: START,
    statusChangedAt: START,
    revocationReason: null,
    revokedAt: null,
    invalidityDate: null,
    provenance: {},
    holderSnapshot: HOLDER,
    crlScope: '',
    statusSeq: 0n,
    ...over,
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let database: TestDatabase;
let db: Db;
let clock: FakeClock;
let smtp: TestSmtpServer;
let notices: HolderNotices;
let logLines: { level: string; message: string; fields?: Record<string, unknown> }[];
const senders: NotificationSender[] = [];
const extraDbs: Db[] = [];

function notifyConfig(over: Partial<NotifyConfig> = {}): NotifyConfig {
  return { smtp: { host: '127.0.0.1', port: smtp.port, secure: false }, from: 'e-imza <no-reply@e-imza.example.az>', expiryWarningDays: 30, ...over };
}

function newSender(over: Partial<NotificationSenderOptions> = {}): NotificationSender {
  const sender = new NotificationSender({
    db,
    clock,
    config: notifyConfig(),
    log: (level, message, fields) => logLines.push({ level, message, ...(fields ? { fields } : {}) }),
    kickDelayMs: 10,
    ...over,
  });
  senders.push(sender);
  return sender;
}

async function openDb(): Promise<Db> {
  return database.url ? openDatabase({ kind: 'postgres', url: database.url, poolSize: 4 }) : openDatabase({ kind: 'pglite', directory: null });
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDb();
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

/** Each test starts with an empty outbox, no certificates, a fresh clock and SMTP server. */
beforeEach(async () => {
  await db.deleteFrom('notification').execute();
  await db.deleteFrom('certificate').execute();
  clock = new FakeClock(START);
  smtp = new TestSmtpServer();
  await smtp.start(0);
  notices = createHolderNotices(clock, BASE_URL);
  logLines = [];
});

afterEach(async () => {
  for (const s of senders.splice(0)) await s.close();
  await smtp.stop();
  for (const d of extraDbs.splice(0)) await d.destroy();
});

/** Queues in a committed transaction, as the CA core does. */
async function commitCertificateEvent(record: CertificateRecord, event: 'issued' | 'suspended' | 'restored' | 'revoked', sender?: NotificationSender): Promise<void> {
  await inTransaction(db, async (uow) => {
    await notices.certificateEvent(uow.tx, record, event);
    if (sender) uow.onCommit(() => sender.kick());
  });
}

// ---- the tests ----------------------------------------------------------------------------------

describe('templates and addresses', () => {
  it('render every template bilingually with serial, type, status link and nothing personal beyond the name', () => {
    const serial = '1a2b3c4d5e6f';
    const notAfter = new Date('2030-02-28T21:30:00Z');
    const facts = { serial, profile: 'mobile-sign', notAfter, holderName: 'Aygün Məmmədova' };
    for (const template of ['certificate.issued', 'certificate.suspended', 'certificate.restored', 'certificate.expiring'] as const) {
      const { subject, body } = renderNotice({ template, ...facts }, `${BASE_URL}/`);
      expect(subject.startsWith('e-imza: ')).toBe(true);
      expect(subject).not.toMatch(/[\r\n]/);
      expect(body).toContain(`Seriya nömrəsi: ${serial}`);
      expect(body).toContain(`Serial number: ${serial}`);
      expect(body).toContain(`${BASE_URL}/status/${serial}`);
      expect(body).toContain('Mobil ID imza');
      expect(body).toContain('mobile-ID signature');
      expect(body.indexOf('Hörmətli Aygün Məmmədova,')).toBeLessThan(body.indexOf('Dear Aygün Məmmədova,'));
      expect(body).not.toMatch(/<[a-z]+[\s>]/i);
    }
    // 2030-02-28 21:30 UTC is 1 March 01:30 in Baku (UTC+4).
    expect(renderNotice({ template: 'certificate.expiring', ...facts }, BASE_URL).subject).toContain('01.03.2030');
    const revoked = renderNotice({ template: 'certificate.revoked', reason: 'keyCompromise', ...facts }, BASE_URL);
    expect(revoked.body).toContain('Reason: key compromise');
    expect(revoked.body).toContain('Səbəb: açarın təhlükəsizliyi pozulub');
    const ready = renderNotice({ template: 'application.ready', applicationId: 'app-1', officeName: 'Nəsimi ASAN xidmət\r\nBcc: x' }, BASE_URL);
    expect(ready.body).toContain('ready for pickup at "Nəsimi ASAN xidmət Bcc: x"');
    expect(ready.body).toContain('Hörmətli sertifikat sahibi,');
    expect(ready.body).not.toContain('/status/');
    const rejected = renderNotice({ template: 'application.rejected', applicationId: 'app-2', officeName: 'Gəncə', reason: 'şəxsiyyət vəsiqəsinin müddəti bitib' }, BASE_URL);
    expect(rejected.body).toContain('Reason: şəxsiyyət vəsiqəsinin müddəti bitib');
    expect(formatBakuTime(new Date('2027-12-31T20:00:00Z'))).toBe('01.01.2028 00:00');
  });

  it('accept one bare address and refuse header injection, lists, display names and broken forms', () => {
    expect(parseEmailAddress('Aygun.M+cert@Example.AZ')).toBe('Aygun.M+cert@example.az');
    expect(parseEmailAddress(' aygun@example.az ')).toBe('aygun@example.az');
    for (const bad of [
      'aygun@example.az\r\nBcc: all@example.az',
      'aygun@example.az\n',
      'aygun@example.az\rX: y',
      'a@b@example.az',
      'aygun.example.az',
      'Aygün <aygun@example.az>',
      'aygun@example.az, boss@example.az',
      '"a b"@example.az',
      'aygun@localhost',
      'aygun@127.0.0.1',
      '.aygun@example.az',
      'ay..gun@example.az',
      'aygun@-example.az',
      `${'a'.repeat(65)}@example.az`,
      '',
      null,
      42,
    ]) {
      expect(parseEmailAddress(bad)).toBeNull();
    }
  });

  it('back off 30 s doubling, capped at an hour', () => {
    expect([1, 2, 3, 4, 8, 20].map((n) => retryDelayMs(n))).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
  });
});

describe('the outbox', () => {
  it('sends nothing for a change that rolled back, and delivers the one that committed', async () => {
    const sender = newSender();
    const record = certificateRecord();
    await expect(
      inTransaction(db, async (uow) => {
        await notices.certificateEvent(uow.tx, record, 'issued');
        uow.onCommit(() => sender.kick());
        throw new Error('the issuance failed after queuing');
      }),
    ).rejects.toThrow('the issuance failed after queuing');
    expect(await listNotifications(db, { serial: record.serial })).toEqual([]);
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(smtp.received).toHaveLength(0);

    await commitCertificateEvent(record, 'issued', sender);
    await waitFor(() => smtp.received.length === 1, 'the issued message');
    const [mail] = smtp.received;
    const [row] = await listNotifications(db, { serial: record.serial });
    expect(mail!.rcptTo).toEqual(['aygun.m@example.az']);
    expect(mail!.mailFrom).toBe('no-reply@e-imza.example.az');
    expect(mail!.headers.get('to')).toBe('aygun.m@example.az');
    expect(mail!.headers.get('from')).toBe('"e-imza" <no-reply@e-imza.example.az>');
    expect(mail!.headers.get('subject')).toBe('e-imza: sertifikatınız verildi / your certificate has been issued');
    expect(mail!.headers.get('message-id')).toBe(`<${row!.id}@e-imza.example.az>`);
    expect(mail!.headers.get('auto-submitted')).toBe('auto-generated');
    expect(new Date(mail!.headers.get('date')!)).toEqual(START);
    expect(mail!.headers.get('content-type')).toMatch(/^text\/plain; charset=utf-8/i);
    expect(mail!.body).toContain('Hörmətli Aygün Məmmədova,');
    expect(mail!.body).toContain('Sizin elektron imza sertifikatınız verildi.');
    expect(mail!.body).toContain('Your electronic signature certificate has been issued.');
    expect(mail!.body).toContain(`Serial number: ${record.serial}`);
    expect(mail!.body).toContain(`${BASE_URL}/status/${record.serial}`);
    expect(mail!.body).not.toContain(HOLDER.fin!);
    // The relay's 250 comes before the row is marked sent.
    let sent = await listNotifications(db, { serial: record.serial });
    for (let i = 0; i < 200 && sent[0]!.state !== 'sent'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      sent = await listNotifications(db, { serial: record.serial });
    }
    expect(sent).toMatchObject([{ state: 'sent', attempts: 1, template: 'certificate.issued', recipient: 'aygun.m@example.az', lastError: null }]);
    expect(sent[0]!.sentAt).toEqual(START);

    // The same event again (a retried use case) is queued once: issued happens once per serial.
    await commitCertificateEvent(record, 'issued');
    expect(await listNotifications(db, { serial: record.serial })).toHaveLength(1);
  });

  it('tells of suspension, restoration and revocation with the reason, each status change once', async () => {
    const sender = newSender();
    const record = certificateRecord({ profile: 'authentication' });
    await commitCertificateEvent({ ...record, status: 'suspended', statusSeq: 7n }, 'suspended');
    await commitCertificateEvent({ ...record, status: 'suspended', statusSeq: 7n }, 'suspended');
    await commitCertificateEvent({ ...record, status: 'active', statusSeq: 8n }, 'restored');
    await commitCertificateEvent({ ...record, status: 'suspended', statusSeq: 9n }, 'suspended');
    await commitCertificateEvent({ ...record, status: 'revoked', revocationReason: 'keyCompromise', statusSeq: 10n }, 'revoked');
    expect(await sender.deliverDue()).toEqual({ sent: 4, retried: 0, failed: 0 });
    const subjects = smtp.received.map((m) => m.headers.get('subject'));
    expect(subjects).toEqual([
      'e-imza: sertifikatınız dayandırıldı / your certificate has been suspended',
      'e-imza: sertifikatınız bərpa edildi / your certificate has been restored',
      'e-imza: sertifikatınız dayandırıldı / your certificate has been suspended',
      'e-imza: sertifikatınız ləğv edildi / your certificate has been revoked',
    ]);
    const revoked = smtp.received[3]!;
    expect(revoked.body).toContain('Reason: key compromise');
    expect(revoked.body).toContain('Your authentication certificate has been revoked for good.');
    expect(revoked.body).toContain(`${BASE_URL}/status/${record.serial}`);
    for (const m of smtp.received) expect(m.body).toContain(record.serial);
  });

  it('kicks close together share one run, and close() waits for the delivery in progress', async () => {
    const sender = newSender({ kickDelayMs: 300 });
    for (let i = 0; i < 3; i++) await commitCertificateEvent(certificateRecord({ holderSnapshot: { ...HOLDER, email: `kick${i}@example.az` } }), 'issued', sender);
    await waitFor(() => smtp.received.length === 3, 'three kicked messages');
    await waitFor(() => logLines.some((l) => l.message === 'notifications delivered'), 'the run to finish');
    expect(logLines.filter((l) => l.message === 'notifications delivered')).toEqual([{ level: 'info', message: 'notifications delivered', fields: { sent: 3, retried: 0, failed: 0 } }]);

    const last = certificateRecord();
    await commitCertificateEvent(last, 'issued');
    const running = sender.deliverDue();
    await sender.close();
    expect(await listNotifications(db, { serial: last.serial })).toMatchObject([{ state: 'sent', attempts: 1 }]);
    expect(await running).toEqual({ sent: 1, retried: 0, failed: 0 });
    await expect(sender.deliverDue()).rejects.toThrow(/closed/);
    expect(smtp.received).toHaveLength(4);
  });

  it('delivers application events, polled by start()', async () => {
    const sender = newSender({ pollIntervalMs: 20 });
    sender.start();
    const applicationId = '0b6f4f4e-3d0a-4c53-9d43-7f1f4e1b8a01';
    await inTransaction(db, async (uow) => {
      await notices.applicationEvent(uow.tx, { applicationId, recipient: 'Rashad@Example.az', givenName: 'Rəşad', surname: 'Əliyev', event: 'ready', officeName: 'Bakı ASAN xidmət №1' });
      await notices.applicationEvent(uow.tx, {
        applicationId: '5d0c1d2e-1111-4a4a-8b8b-000000000002',
        recipient: 'leyla@example.az',
        event: 'rejected',
        officeName: 'Sumqayıt poçt',
        reason: 'ödəniş təsdiqlənməyib / payment not confirmed',
      });
    });
    await waitFor(() => smtp.received.length === 2, 'two application messages');
    const ready = smtp.received.find((m) => m.rcptTo[0] === 'Rashad@example.az')!;
    expect(ready.headers.get('to')).toBe('Rashad@example.az');
    expect(ready.headers.get('subject')).toBe('e-imza: sertifikatınız hazırdır / your certificate is ready for pickup');
    expect(ready.body).toContain('Hörmətli Rəşad Əliyev,');
    expect(ready.body).toContain('Your certificate is ready for pickup at "Bakı ASAN xidmət №1".');
    expect(ready.body).toContain(`Application number: ${applicationId}`);
    const rejected = smtp.received.find((m) => m.rcptTo[0] === 'leyla@example.az')!;
    expect(rejected.headers.get('subject')).toBe('e-imza: ərizəniz rədd edildi / your application has been rejected');
    expect(rejected.body).toContain('Reason: ödəniş təsdiqlənməyib / payment not confirmed');
    expect((await listNotifications(db, { applicationId })).map((n) => [n.template, n.state])).toEqual([['application.ready', 'sent']]);
  });

  it('queues nothing for holders without a usable e-mail address', async () => {
    await inTransaction(db, async (uow) => {
      await notices.certificateEvent(uow.tx, certificateRecord({ holderSnapshot: { fin: '5ZXK2QJ', givenName: 'Anar', surname: 'Quliyev' } }), 'issued');
      await notices.certificateEvent(uow.tx, certificateRecord({ holderSnapshot: { ...HOLDER, email: 'aygun@example.az\r\nBcc: everyone@example.az' } }), 'revoked');
      await notices.certificateEvent(uow.tx, certificateRecord({ holderSnapshot: { memberName: 'Vergilər Nazirliyi', dnsName: 'ss1.taxes.gov.az' } }), 'issued');
      await notices.certificateEvent(uow.tx, certificateRecord({ holderSnapshot: null }), 'issued');
      await notices.applicationEvent(uow.tx, { applicationId: '5d0c1d2e-1111-4a4a-8b8b-000000000003', recipient: null, event: 'ready', officeName: 'Gəncə' });
      await notices.applicationEvent(uow.tx, { applicationId: '5d0c1d2e-1111-4a4a-8b8b-000000000004', recipient: 'a@b@example.az', event: 'rejected', officeName: 'Gəncə' });
    });
    expect(await countNotificationsByState(db)).toEqual({ queued: 0, sent: 0, failed: 0 });
    expect(await newSender().deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(smtp.received).toHaveLength(0);
  });
});

describe('delivery across an SMTP outage', () => {
  it('keeps messages queued with attempts and errors, and delivers each exactly once after recovery', async () => {
    const sender = newSender();
    const records = [certificateRecord(), certificateRecord({ profile: 'encryption' }), certificateRecord({ profile: 'mobile-auth' })];
    for (const r of records) await commitCertificateEvent(r, 'issued');
    const rows = async () => (await listNotifications(db)).filter((n) => records.some((r) => r.serial === n.serial));

    // 1. The relay is down: connection refused.
    await smtp.stop();
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 3, failed: 0 });
    for (const n of await rows()) {
      expect(n).toMatchObject({ state: 'queued', attempts: 1, sentAt: null });
      expect(n.lastError).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
      expect(n.nextAttemptAt).toEqual(new Date(START.getTime() + 30_000));
    }
    // Not due before the backoff has passed.
    clock.advance(29_000);
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });

    // 2. Back, but answering 451 to RCPT TO.
    smtp.mode = 'rcpt451';
    await smtp.start();
    clock.advance(1_000);
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 3, failed: 0 });
    for (const n of await rows()) {
      expect(n).toMatchObject({ state: 'queued', attempts: 2 });
      expect(n.lastError).toMatch(/451/);
      expect(n.lastError).toMatch(/mailbox busy/);
      expect(n.nextAttemptAt).toEqual(new Date(clock.now().getTime() + 60_000));
    }

    // 3. Then 451 after DATA.
    smtp.mode = 'data451';
    clock.advance(60_000);
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 3, failed: 0 });
    for (const n of await rows()) {
      expect(n).toMatchObject({ state: 'queued', attempts: 3 });
      expect(n.lastError).toMatch(/451.*local error in processing/);
    }
    expect(smtp.received).toHaveLength(0);
    expect(await countNotificationsByState(db)).toEqual({ queued: 3, sent: 0, failed: 0 });

    // 4. Recovered: every message once.
    smtp.mode = 'ok';
    clock.advance(120_000);
    expect(await sender.deliverDue()).toEqual({ sent: 3, retried: 0, failed: 0 });
    clock.advance(86_400_000);
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    const sent = await rows();
    expect(sent.map((n) => [n.state, n.attempts])).toEqual([
      ['sent', 4],
      ['sent', 4],
      ['sent', 4],
    ]);
    expect(new Set(smtp.received.map((m) => m.rcptTo.join()))).toEqual(new Set(['aygun.m@example.az']));
    expect([...smtp.byMessageId().entries()].sort()).toEqual(sent.map((n) => [`<${n.id}@e-imza.example.az>`, 1] as const).sort());
    for (const r of records) expect(smtp.received.filter((m) => m.body.includes(r.serial))).toHaveLength(1);
    expect(logLines.some((l) => l.level === 'error')).toBe(false);
  });

  it('gives up after the retry policy (kept as failed, never deleted)', async () => {
    const record = certificateRecord();
    await commitCertificateEvent(record, 'issued');
    await commitCertificateEvent({ ...record, status: 'revoked', revocationReason: 'superseded' }, 'revoked');
    smtp.mode = 'rcpt451';
    const sender = newSender({ retry: { maxAgeMs: 10 * 60_000 } });
    const outcomes = [];
    for (let i = 0; i < 10; i++) {
      outcomes.push(await sender.deliverDue());
      clock.advance(retryDelayMs(i + 1));
    }
    // 30 s, 60 s, 2 min, 4 min pass; the next retry would be after the 10 minutes: failed.
    expect(outcomes.slice(0, 5)).toEqual([
      { sent: 0, retried: 2, failed: 0 },
      { sent: 0, retried: 2, failed: 0 },
      { sent: 0, retried: 2, failed: 0 },
      { sent: 0, retried: 2, failed: 0 },
      { sent: 0, retried: 0, failed: 2 },
    ]);
    expect(outcomes.slice(5).every((c) => c.sent + c.retried + c.failed === 0)).toBe(true);
    const rows = await listNotifications(db, { serial: record.serial });
    expect(rows.map((n) => [n.template, n.state, n.attempts])).toEqual([
      ['certificate.issued', 'failed', 5],
      ['certificate.revoked', 'failed', 5],
    ]);
    expect(rows[0]!.lastError).toMatch(/451/);
    expect(logLines.filter((l) => l.message === 'notification given up')).toHaveLength(2);

    // maxAttempts too.
    const other = certificateRecord();
    await commitCertificateEvent(other, 'issued');
    const strict = newSender({ retry: { maxAttempts: 2 } });
    expect(await strict.deliverDue()).toEqual({ sent: 0, retried: 1, failed: 0 });
    clock.advance(30_000);
    expect(await strict.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 1 });
    expect(await countNotificationsByState(db)).toEqual({ queued: 0, sent: 0, failed: 3 });
  });

  it('never sends a message twice when deliverDue runs concurrently, here and on another node', async () => {
    // Another node: its own connection pool on PostgreSQL; the same embedded database otherwise.
    const otherDb = database.url ? await openDb() : db;
    if (otherDb !== db) extraDbs.push(otherDb);
    const a = newSender({ batchSize: 4 });
    const b = newSender({ db: otherDb, batchSize: 4 });
    const records = Array.from({ length: 25 }, (_, i) => certificateRecord({ holderSnapshot: { ...HOLDER, email: `holder${i}@example.az` } }));
    for (const r of records) await commitCertificateEvent(r, 'issued');
    let sent = 0;
    for (let round = 0; round < 20 && sent < records.length; round++) {
      const counts = await Promise.all([a.deliverDue(), b.deliverDue(), a.deliverDue(3), b.deliverDue(5), a.deliverDue()]);
      for (const c of counts) {
        expect(c.retried + c.failed).toBe(0);
        sent += c.sent;
      }
    }
    expect(sent).toBe(25);
    expect(smtp.received).toHaveLength(25);
    expect([...smtp.byMessageId().values()].every((n) => n === 1)).toBe(true);
    expect(new Set(smtp.received.map((m) => m.rcptTo[0])).size).toBe(25);
    expect(await countNotificationsByState(db)).toEqual({ queued: 0, sent: 25, failed: 0 });
    expect((await listNotifications(db)).every((n) => n.attempts === 1)).toBe(true);
  });

  it('with no relay configured keeps everything queued and says so once', async () => {
    await commitCertificateEvent(certificateRecord(), 'issued');
    const sender = newSender({ config: notifyConfig({ smtp: null }) });
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    sender.kick();
    await new Promise((r) => setTimeout(r, 50));
    expect(await sender.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(await listNotifications(db)).toMatchObject([{ state: 'queued', attempts: 0, lastError: null }]);
    expect(logLines.filter((l) => /no SMTP relay configured/.test(l.message))).toHaveLength(1);
    expect(smtp.received).toHaveLength(0);
  });

  it('reads the SMTP password from its file and never lets it out (log, last_error)', async () => {
    const dir = tempDir('eimza-smtp-');
    try {
      const passwordFile = path.join(dir, 'smtp.pass');
      const password = 'S3cret-smtp-passw0rd';
      writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
      await commitCertificateEvent(certificateRecord(), 'issued');
      // A login on a plain port needs STARTTLS, which this relay does not offer: refused before AUTH.
      const sender = newSender({ config: notifyConfig({ smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'eimza', passwordFile } }) });
      sender.kick();
      await waitFor(() => logLines.length > 0, 'a log line');
      const [row] = await listNotifications(db);
      expect(row).toMatchObject({ state: 'queued', attempts: 1 });
      expect(row!.lastError).toMatch(/STARTTLS|TLS/i);
      expect(smtp.received).toHaveLength(0);
      expect(JSON.stringify(logLines)).not.toContain(password);
      expect(row!.lastError).not.toContain(password);

      const missing = newSender({ config: notifyConfig({ smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'eimza', passwordFile: path.join(dir, 'nope') } }) });
      await expect(missing.deliverDue()).rejects.toThrow(/cannot read the SMTP password file/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('expiry reminders', () => {
  async function storeCertificate(notAfterDays: number, holder: unknown, status: 'active' | 'suspended' | 'revoked' = 'active', profile = 'signature'): Promise<Serial> {
    const serial = randomSerial();
    const notAfter = new Date(START.getTime() + notAfterDays * 86_400_000);
    await insertReservations(db, [
      {
        serial,
        caName: 'eimza',
        profile,
        crlScope: '',
        holderId: null,
        subject: `CN=${serial}`,
        spkiSha256: new Uint8Array(32),
        tbs: new Uint8Array([0x30, 0x00]),
        notBefore: new Date(notAfter.getTime() - 365 * 86_400_000),
        notAfter,
        reservedAt: START,
        provenance: {},
        holderSnapshot: holder,
      },
    ]);
    await markIssued(db, [{ serial, der: new Uint8Array([0x30, 0x00]) }], START);
    if (status !== 'active') await db.updateTable('certificate').set({ status }).where('serial', '=', serial).execute();
    return serial;
  }

  it('queues one reminder per active certificate inside the window, however often the scan runs', async () => {
    const soon = await storeCertificate(10, HOLDER);
    const later = await storeCertificate(40, { ...HOLDER, email: 'later@example.az' }, 'active', 'authentication');
    await storeCertificate(-1, { ...HOLDER, email: 'expired@example.az' });
    await storeCertificate(5, { ...HOLDER, email: 'revoked@example.az' }, 'revoked');
    await storeCertificate(15, { ...HOLDER, email: 'suspended@example.az' }, 'suspended');
    await storeCertificate(20, { fin: '5ZXK2QJ' });
    await storeCertificate(20, { ...HOLDER, email: 'not an address' });

    expect(await queueExpiryWarnings(db, clock, BASE_URL, 30)).toBe(1);
    expect(await queueExpiryWarnings(db, clock, BASE_URL, 30)).toBe(0);
    expect((await listNotifications(db, { serial: soon })).map((n) => [n.template, n.dedupeKey])).toEqual([['certificate.expiring', `expiry:${soon}`]]);

    clock.advance(15 * 86_400_000);
    expect(await queueExpiryWarnings(db, clock, BASE_URL, 30)).toBe(1);
    expect(await queueExpiryWarnings(db, clock, BASE_URL, 30)).toBe(0);
    // A second node scanning at the same time queues nothing more either.
    const [x, y] = await Promise.all([queueExpiryWarnings(db, clock, BASE_URL, 30), queueExpiryWarnings(db, clock, BASE_URL, 30)]);
    expect(x + y).toBe(0);

    expect(await newSender().deliverDue()).toEqual({ sent: 2, retried: 0, failed: 0 });
    expect(smtp.received.map((m) => m.rcptTo[0]).sort()).toEqual(['aygun.m@example.az', 'later@example.az']);
    const reminder = smtp.received.find((m) => m.rcptTo[0] === 'later@example.az')!;
    const date = formatBakuTime(new Date(START.getTime() + 40 * 86_400_000));
    expect(reminder.headers.get('subject')).toBe(`e-imza: sertifikatınızın müddəti ${date.slice(0, 10)} bitir / your certificate expires on ${date.slice(0, 10)}`);
    expect(reminder.body).toContain(`Your authentication certificate expires on ${date} (Baku time).`);
    expect(reminder.body).toContain(`Serial number: ${later}`);
    expect(reminder.body).toContain(`${BASE_URL}/status/${later}`);
    expect(await countNotificationsByState(db)).toEqual({ queued: 0, sent: 2, failed: 0 });
  });
});
