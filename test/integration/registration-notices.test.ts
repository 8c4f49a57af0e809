import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { opensslCsr } from '../helpers/csr.js';
import { freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';
import { TestSmtpServer, type ReceivedMail } from '../helpers/smtp.js';

/**
 * Holder e-mail end to end: the desk's actions and the CA's status changes queue mail in their own
 * transactions; the server's sender delivers it to a real SMTP server after commit.
 */
let f: RaFixture;
const smtp = new TestSmtpServer();

beforeAll(async () => {
  await smtp.start();
  f = await openRaFixture({
    configure: (config) => {
      config.notify.smtp = { host: '127.0.0.1', port: smtp.port, secure: false };
      config.notify.from = 'e-imza <no-reply@e-imza.example.az>';
    },
  });
}, 120_000);
afterAll(async () => {
  await f?.close();
  await smtp.stop();
});

async function mailFor(address: string, subjectPart: string, count = 1): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = smtp.received.filter((m) => m.rcptTo.includes(address) && (m.headers.get('subject') ?? '').includes(subjectPart));
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`no "${subjectPart}" mail for ${address}; got ${smtp.received.map((m) => m.headers.get('subject')).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let n = 0;
const csr = async () => (await opensslCsr(f.dir, `notice-${n++}`)).csrPem;

describe('holder notifications', () => {
  it('tells the holder of each issued certificate, that the card is ready, and of a suspension and revocation', async () => {
    const email = `holder-${freshFin().toLowerCase()}@example.az`;
    const fin = freshFin();
    const id = await f.approvedApplication({ fin, email });
    const serials: string[] = [];
    for (const type of ['signature', 'authentication', 'encryption']) {
      serials.push((await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type, csr: await csr() })).body.serial);
    }
    const issued = await mailFor(email, 'issued', 3);
    for (const s of serials) expect(issued.some((m) => m.body.includes(s))).toBe(true);
    const ready = await mailFor(email, 'ready');
    expect(ready[0]!.body).toContain('Azərpoçt Bakı AZ1000');
    expect(ready[0]!.mailFrom).toBe('no-reply@e-imza.example.az');

    await f.api('POST', `/api/v1/holders/${fin}/certificates/${serials[1]}/suspend`, f.tokens.clerk, {});
    const suspended = await mailFor(email, 'suspended');
    expect(suspended[0]!.body).toContain(serials[1]);
    await f.api('POST', `/api/v1/holders/${fin}/certificates/${serials[1]}/revoke`, f.tokens.supervisor, { reason: 'keyCompromise' });
    const revoked = await mailFor(email, 'revoked');
    expect(revoked[0]!.body).toContain(serials[1]);
    // Each message exactly once.
    for (const [messageId, times] of smtp.byMessageId()) expect({ messageId, times }).toEqual({ messageId, times: 1 });
  }, 60_000);

  it('tells a rejected applicant the reason, and says nothing to a holder without an address', async () => {
    const email = `rejected-${freshFin().toLowerCase()}@example.az`;
    const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, {
      applicant: { kind: 'citizen', fin: freshFin(), givenName: 'Orxan', surname: 'Vəliyev', birthDate: '1985-01-02', email, idDocument: { type: 'passport', number: 'C01234567' } },
      product: 'card',
      validityYears: 2,
    });
    await f.api('POST', `/api/v1/applications/${created.body.id}/reject`, f.tokens.supervisor, { reason: 'the passport photo does not match' });
    const rejected = await mailFor(email, 'rejected');
    expect(rejected[0]!.body).toContain('the passport photo does not match');

    const before = smtp.received.length;
    const silent = await f.api('POST', '/api/v1/applications', f.tokens.clerk, {
      applicant: { kind: 'citizen', fin: freshFin(), givenName: 'Orxan', surname: 'Vəliyev', birthDate: '1985-01-02', idDocument: { type: 'passport', number: 'C01234568' } },
      product: 'card',
      validityYears: 2,
    });
    await f.api('POST', `/api/v1/applications/${silent.body.id}/reject`, f.tokens.supervisor, { reason: 'no' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(smtp.received.length).toBe(before);
  }, 60_000);
});
