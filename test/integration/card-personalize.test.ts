import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { cardTools } from '../helpers/card-tools.js';
import { removeDir, tempDir } from '../helpers/env.js';
import { openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * `eimza card personalize` end to end: the real server (RaFixture), the CLI as a separate
 * process, and SoftHSM2 tokens standing in for blank cards (SO PIN only, as from the factory).
 * pkcs11-tool and OpenSSL judge what ends up on the card. The card is only ever touched by
 * other processes (CLI, pkcs11-tool, openssl), so this test file never loads the PKCS#11 module.
 */
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '4821';
const PUK = '73915028';
const BATCH = 'CHIP-2026-12';
const dir = tempDir('eimza-personalize-');
const file = (name: string) => path.join(dir, name);
const cardEnv = { ...process.env, SOFTHSM2_CONF: file('softhsm2.conf') };

const TYPES = [
  ['signature', '01', 'e-imza signature'],
  ['authentication', '02', 'e-imza authentication'],
  ['encryption', '03', 'e-imza encryption'],
] as const;

interface TestCard {
  slotId: number;
  serial: string;
}

interface Personalized {
  application: string;
  card: string;
  batch: string | null;
  certificates: { type: string; serial: string; keyId: string; label: string }[];
}

let ra: RaFixture;
let cardA: TestCard;
let applicationA: string;
let first: Personalized;

const { pkcs11Tool, sslOk } = cardTools(cardEnv, MODULE);

/** A blank card: C_InitToken on the free slot, which sets the SO PIN (the PUK) and no user PIN. */
async function blankCard(label: string): Promise<TestCard> {
  const before = await pkcs11Tool('--list-slots');
  const free = /^Slot \d+ \((0x[0-9a-f]+)\)[^\n]*\n\s+token state:\s+uninitialized/m.exec(before)?.[1];
  if (!free) throw new Error(`no free slot in:\n${before}`);
  await pkcs11Tool('--slot', free, '--init-token', '--label', label, '--so-pin', PUK);
  const slots = await pkcs11Tool('--list-slots');
  const found = new RegExp(`^Slot \\d+ \\((0x[0-9a-f]+)\\)[^\\n]*\\n(?:\\s+[^\\n]*\\n)*?\\s+token label\\s*:\\s*${label}\\s*\\n(?:\\s+[^\\n]*\\n)*?\\s+serial num\\s*:\\s*(\\S+)`, 'm').exec(slots);
  if (!found) throw new Error(`card ${label} not in:\n${slots}`);
  return { slotId: Number(found[1]), serial: found[2]! };
}

/** pkcs11-tool's listing, one block per object, keyed by "<kind> <ID>" ("Data <label>" for data objects). */
function objects(listing: string): Map<string, string> {
  const header = /^(Private Key|Public Key|Certificate) Object|^Data object/;
  const blocks = listing.split(/^(?=\S)/m).filter((block) => header.test(block));
  return new Map(
    blocks.map((block) => {
      const kind = /^(Private Key|Public Key|Certificate|Data)/.exec(block)![1]!;
      const name = kind === 'Data' ? /^\s*label:\s*'?([^'\n]*)/m.exec(block)?.[1] : /^\s*ID:\s*(\S+)/m.exec(block)?.[1];
      return [`${kind} ${name ?? ''}`, block];
    }),
  );
}

async function cardObjects(card: TestCard): Promise<Map<string, string>> {
  return objects(await pkcs11Tool('--slot', String(card.slotId), '--login', '--pin', PIN, '--list-objects'));
}

function personalize(application: string, card: TestCard, extra: string[] = [], token = file('clerk.token')): Promise<CliResult> {
  return runCli(
    [
      'card', 'personalize',
      '--application', application,
      '--module', MODULE,
      '--slot', String(card.slotId),
      '--api', ra.url,
      '--token-file', token,
      '--pin-file', file('pin'),
      '--puk-file', file('puk'),
      ...extra,
    ],
    { SOFTHSM2_CONF: file('softhsm2.conf') },
  );
}

function expectNoSecrets(result: CliResult): void {
  const output = result.stdout + result.stderr;
  expect(output).not.toContain(PIN);
  expect(output).not.toContain(PUK);
  expect(output).not.toContain(ra.tokens.clerk);
  expect(output).not.toContain(ra.tokens.auditor);
}

function parseJson(result: CliResult): Personalized {
  if (result.code !== 0) throw new Error(`personalize failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Personalized;
}

async function readCardCertificate(card: TestCard, id: string, name: string): Promise<string> {
  await pkcs11Tool('--slot', String(card.slotId), '--read-object', '--type', 'cert', '--id', id, '-o', file(`${name}.der`));
  await sslOk(['x509', '-inform', 'DER', '-in', file(`${name}.der`), '-out', file(`${name}.pem`)]);
  return file(`${name}.pem`);
}

beforeAll(async () => {
  ra = await openRaFixture();
  mkdirSync(file('tokens'), { mode: 0o700 });
  writeFileSync(file('softhsm2.conf'), `directories.tokendir = ${file('tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  writeFileSync(file('pin'), `${PIN}\n`, { mode: 0o600 });
  writeFileSync(file('puk'), `${PUK}\n`, { mode: 0o600 });
  writeFileSync(file('clerk.token'), `${ra.tokens.clerk}\n`, { mode: 0o600 });
  writeFileSync(file('auditor.token'), `${ra.tokens.auditor}\n`, { mode: 0o600 });
  cardA = await blankCard('card A');
  applicationA = await ra.approvedApplication({ product: 'card', fin: '5ZX2K7Q', email: 'leyla@example.az' });
}, 180_000);

afterAll(async () => {
  await ra?.close();
  removeDir(dir);
});

describe('eimza card personalize', () => {
  it('sets the PIN of a blank card, and puts three key pairs with their certificates and the chain on it', async () => {
    const result = await personalize(applicationA, cardA, ['--batch', BATCH, '--json']);
    expectNoSecrets(result);
    first = parseJson(result);
    expect(first.application).toBe(applicationA);
    expect(first.card).toBe(cardA.serial);
    expect(first.batch).toBe(BATCH);
    expect(first.certificates.map((c) => [c.type, c.keyId, c.label])).toEqual(TYPES.map(([type, id, label]) => [type, id, label]));
    for (const c of first.certificates) expect(c.serial).toMatch(/^[0-9a-f]+$/);

    // The PIN now opens the card (pkcs11-tool logs in with it), and pairs every key with its certificate.
    const found = await cardObjects(cardA);
    for (const [, id, label] of TYPES) {
      const privateKey = found.get(`Private Key ${id}`);
      expect(privateKey).toContain(`label:      ${label}`);
      expect(privateKey).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
      expect(found.get(`Public Key ${id}`)).toContain(`label:      ${label}`);
      expect(found.get(`Certificate ${id}`)).toContain(`label:      ${label}`);
    }
    expect(found.get('Private Key 03')).toMatch(/Usage:.*derive/);
    expect(found.get('Private Key 01')).not.toMatch(/Usage:.*derive/);
    // The chain (issuing CA and root) once each, next to the three certificates; no request left behind.
    const certificates = [...found.keys()].filter((k) => k.startsWith('Certificate '));
    expect(certificates).toHaveLength(5);
    expect([...found.keys()].filter((k) => k.startsWith('Data '))).toHaveLength(0);
    const chainIds = certificates.map((k) => k.slice('Certificate '.length)).filter((id) => !['01', '02', '03'].includes(id));
    const chainDer = await Promise.all(chainIds.map(async (id, n) => readFileSync(await readCardCertificate(cardA, id, `chain-${n}`), 'utf8')));
    expect(chainDer.sort()).toEqual([readFileSync(path.join(ra.dir, 'eimza.pem'), 'utf8'), readFileSync(path.join(ra.dir, 'root.pem'), 'utf8')].sort());
  }, 180_000);

  it('writes certificates that OpenSSL verifies up to the root, each for the key with its ID', async () => {
    for (const [type, id] of TYPES) {
      const certPath = await readCardCertificate(cardA, id, `${type}-cert`);
      const verified = await sslOk(['verify', '-CAfile', path.join(ra.dir, 'root.pem'), '-untrusted', path.join(ra.dir, 'eimza.pem'), certPath]);
      expect(verified).toContain(': OK');
      const serial = (await sslOk(['x509', '-in', certPath, '-noout', '-serial'])).trim().replace(/^serial=/, '').toLowerCase().replace(/^0+/, '');
      expect(serial).toBe(first.certificates.find((c) => c.type === type)!.serial.replace(/^0+/, ''));
      // The certificate's key is the card's key of the same ID.
      await pkcs11Tool('--slot', String(cardA.slotId), '--read-object', '--type', 'pubkey', '--id', id, '-o', file(`${type}-pub.der`));
      const cardKey = await sslOk(['pkey', '-pubin', '-inform', 'DER', '-in', file(`${type}-pub.der`), '-outform', 'PEM']);
      const certKey = await sslOk(['x509', '-in', certPath, '-noout', '-pubkey']);
      expect(certKey.trim()).toBe(cardKey.trim());
    }
    const signature = await sslOk(['x509', '-in', file('signature-cert.pem'), '-noout', '-text']);
    expect(signature).toMatch(/X509v3 Key Usage: critical\s+Non Repudiation/);
  });

  it('signs on the card with the signature key what OpenSSL verifies with the signature certificate', async () => {
    writeFileSync(file('contract.txt'), 'Müqavilə № 2026/12: razıyam.\n');
    writeFileSync(file('contract.sha256'), createHash('sha256').update(readFileSync(file('contract.txt'))).digest());
    await pkcs11Tool('--slot', String(cardA.slotId), '--login', '--pin', PIN, '--sign', '--id', '01', '-m', 'ECDSA', '--signature-format', 'openssl', '-i', file('contract.sha256'), '-o', file('contract.sig'));
    writeFileSync(file('signature-pub.pem'), await sslOk(['x509', '-in', file('signature-cert.pem'), '-noout', '-pubkey']));
    expect(await sslOk(['dgst', '-sha256', '-verify', file('signature-pub.pem'), '-signature', file('contract.sig'), file('contract.txt')])).toContain('Verified OK');
  });

  it('records the three certificates and the card on the application', async () => {
    const { status, body } = await ra.api('GET', `/api/v1/applications/${applicationA}`, ra.tokens.clerk);
    expect(status).toBe(200);
    expect(body.state).toBe('issued');
    expect(body.card).toEqual({ serialNumber: cardA.serial, batch: BATCH });
    const serials = (body.certificates as { type: string; serial: string }[]).map((c) => [c.type, c.serial]).sort();
    expect(serials).toEqual(first.certificates.map((c) => [c.type, c.serial]).sort());
  });

  it('issues nothing new when run again on the same application and card', async () => {
    const before = await cardObjects(cardA);
    const again = await personalize(applicationA, cardA);
    expectNoSecrets(again);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${first.certificates.map((c) => `${c.type} serial=${c.serial}`).join('\n')}\ncard=${cardA.serial}\n`);
    expect([...(await cardObjects(cardA)).keys()].sort()).toEqual([...before.keys()].sort());
    const { body } = await ra.api('GET', `/api/v1/applications/${applicationA}`, ra.tokens.clerk);
    expect((body.certificates as unknown[]).length).toBe(3);
  }, 120_000);

  it('refuses an application that is only paid, before touching the card', async () => {
    const created = await ra.api('POST', '/api/v1/applications', ra.tokens.clerk, {
      applicant: {
        kind: 'citizen',
        fin: '7XK4M2P',
        givenName: 'Rəşad',
        surname: 'Quliyev',
        birthDate: '1988-03-14',
        email: 'rashad@example.az',
        idDocument: { type: 'id-card', number: 'AZE07654321' },
      },
      product: 'card',
      validityYears: 3,
    });
    expect(created.status).toBe(201);
    const paid = await ra.api('POST', `/api/v1/applications/${created.body.id}/payment`, ra.tokens.clerk, {
      amount: created.body.tariff.amount,
      receipt: 'R-2026-0001',
      method: 'cash',
    });
    expect(paid.status).toBe(200);
    expect(paid.body.state).toBe('paid');

    const before = await cardObjects(cardA);
    const refused = await personalize(created.body.id as string, cardA);
    expectNoSecrets(refused);
    expect(refused.code).toBe(10); // invalidTransition
    expect(refused.stderr).toMatch(/^eimza: error \[applicationNotApproved\]: application \S+ is paid/m);
    expect(refused.stdout).toBe('');
    expect([...(await cardObjects(cardA)).keys()].sort()).toEqual([...before.keys()].sort());
  }, 120_000);

  it('refuses a mobile-ID application', async () => {
    const mobile = await ra.approvedApplication({ product: 'mobile-id', fin: '3MR8T6L' });
    const refused = await personalize(mobile, cardA);
    expect(refused.code).toBe(5); // policyForbids
    expect(refused.stderr).toMatch(/^eimza: error \[notACardApplication\]: /m);
  }, 120_000);

  it('shows the code and detail of an API refusal, and resumes with the key it generated', async () => {
    const cardB = await blankCard('card B');
    const application = await ra.approvedApplication({ product: 'card', fin: '9QW2E5R' });
    // An auditor may read the application but not issue: the run stops at the first POST, after the
    // signature key pair was generated on the card.
    const refused = await personalize(application, cardB, ['--batch', BATCH], file('auditor.token'));
    expectNoSecrets(refused);
    expect(refused.code).toBe(7); // forbidden
    expect(refused.stderr).toMatch(/^eimza: error \[\w+\]: .+/m);
    const left = await cardObjects(cardB);
    expect([...left.keys()].filter((k) => !k.startsWith('Data')).sort()).toEqual(['Private Key 01', 'Public Key 01']);
    await pkcs11Tool('--slot', String(cardB.slotId), '--read-object', '--type', 'pubkey', '--id', '01', '-o', file('b-signature-before.der'));

    const resumed = parseJson(await personalize(application, cardB, ['--batch', BATCH, '--json']));
    expect(resumed.certificates.map((c) => c.type)).toEqual(['signature', 'authentication', 'encryption']);
    const found = await cardObjects(cardB);
    expect([...found.keys()].filter((k) => k.startsWith('Private Key')).sort()).toEqual(['Private Key 01', 'Private Key 02', 'Private Key 03']);
    // The key of the failed run was used, not replaced.
    await pkcs11Tool('--slot', String(cardB.slotId), '--read-object', '--type', 'pubkey', '--id', '01', '-o', file('b-signature-after.der'));
    expect(readFileSync(file('b-signature-after.der')).equals(readFileSync(file('b-signature-before.der')))).toBe(true);
    const certPath = await readCardCertificate(cardB, '01', 'b-signature-cert');
    await pkcs11Tool('--slot', String(cardB.slotId), '--read-object', '--type', 'pubkey', '--id', '01', '-o', file('b-pub.der'));
    expect((await sslOk(['x509', '-in', certPath, '-noout', '-pubkey'])).trim()).toBe(
      (await sslOk(['pkey', '-pubin', '-inform', 'DER', '-in', file('b-pub.der'), '-outform', 'PEM'])).trim(),
    );
  }, 180_000);

  it('fetches a certificate the CA issued but the card never got, by replaying the request the card kept', async () => {
    const cardC = await blankCard('card C');
    const application = await ra.approvedApplication({ product: 'card', fin: '4TD7F3U' });
    // A run that stops at the first POST leaves the key pair and the request (with its Idempotency-Key) on the card.
    expect((await personalize(application, cardC, [], file('auditor.token'))).code).toBe(7);
    await pkcs11Tool('--slot', String(cardC.slotId), '--login', '--pin', PIN, '--read-object', '--type', 'data', '--label', 'e-imza pending signature', '-o', file('c-pending.json'));
    const pending = JSON.parse(readFileSync(file('c-pending.json'), 'utf8')) as { idempotencyKey: string; body: unknown };
    // As if the desk's request had reached the CA and the answer had been lost with the process.
    const issued = await ra.api('POST', `/api/v1/applications/${application}/certificates`, ra.tokens.clerk, pending.body, { 'idempotency-key': pending.idempotencyKey });
    expect(issued.status).toBe(201);

    const resumed = parseJson(await personalize(application, cardC, ['--json']));
    expect(resumed.certificates.map((c) => [c.type, c.keyId])).toEqual([['signature', '01'], ['authentication', '02'], ['encryption', '03']]);
    expect(resumed.certificates[0]!.serial).toBe(issued.body.serial);
    const certPath = await readCardCertificate(cardC, '01', 'c-signature-cert');
    expect(readFileSync(certPath, 'utf8')).toBe(issued.body.certificate);
    const found = await cardObjects(cardC);
    expect([...found.keys()].filter((k) => k.startsWith('Data'))).toEqual([]);
    const { body } = await ra.api('GET', `/api/v1/applications/${application}`, ra.tokens.clerk);
    expect((body.certificates as { serial: string }[]).map((c) => c.serial).sort()).toEqual(resumed.certificates.map((c) => c.serial).sort());
  }, 180_000);

  it('refuses to put a second application on a personalised card, and names a certificate missing from the card', async () => {
    const other = await ra.approvedApplication({ product: 'card', fin: '2HV6N8S' });
    const notBlank = await personalize(other, cardA);
    expect(notBlank.code).toBe(9); // conflict
    expect(notBlank.stderr).toMatch(/^eimza: error \[cardNotBlank\]: /m);

    // A certificate issued to the application but gone from the card cannot be made up.
    await pkcs11Tool('--slot', String(cardA.slotId), '--login', '--pin', PIN, '--delete-object', '--type', 'cert', '--id', '03');
    const missing = await personalize(applicationA, cardA);
    expect(missing.code).toBe(9);
    expect(missing.stderr).toMatch(/^eimza: error \[certificateNotOnCard\]: the encryption certificate \S+ of this application/m);
  }, 120_000);
});
