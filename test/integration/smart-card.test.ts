import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { SmartCard, type CardKeyPair, type CardKeySpec } from '../../hsm/card.js';
import { CaError } from '../../src/errors.js';
import { buildCsr } from '../../src/x509/csr-build.js';
import { parseCsr } from '../../src/x509/csr.js';
import { ALGORITHM_OIDS } from '../../src/x509/oids.js';
import { CITIZEN } from '../helpers/csr.js';
import { cardTools } from '../helpers/card-tools.js';
import { openssl, removeDir, tempDir } from '../helpers/env.js';
import { rejection } from '../helpers/outcome.js';

/**
 * hsm/card.ts and x509/csr-build.ts against a SoftHSM2 token standing in for a holder's smart
 * card: blank (SO PIN only, as cards come from the manufacturer) until the test sets the user
 * PIN. OpenSC's pkcs11-tool and OpenSSL are the independent witnesses of what is on the card.
 */
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PUK = '73915028'; // the card's SO PIN
const PIN = '4821';
const dir = tempDir('eimza-card-');
const confPath = path.join(dir, 'softhsm2.conf');
const cardEnv = { ...process.env, SOFTHSM2_CONF: confPath };
const file = (name: string) => path.join(dir, name);

const SPECS: Record<'signature' | 'authentication' | 'encryption', CardKeySpec> = {
  signature: { id: Uint8Array.of(1), label: 'e-imza signature', usage: 'sign' },
  authentication: { id: Uint8Array.of(2), label: 'e-imza authentication', usage: 'sign' },
  encryption: { id: Uint8Array.of(3), label: 'e-imza encryption', usage: 'sign-and-derive' },
};

let card: SmartCard;
let slotId: number;
let tokenSerial: string;
let freeSlotId: number;
const keys = new Map<string, CardKeyPair>();

const { pkcs11Tool, sslOk } = cardTools(cardEnv, MODULE);

/** The objects pkcs11-tool lists, one block per object, with its header line first. */
function objectBlocks(listing: string, header: RegExp): Map<string, string> {
  const blocks = listing.split(/^(?=\S)/m).filter((block) => header.test(block));
  return new Map(blocks.map((block) => [/^\s*ID:\s*(\S+)/m.exec(block)?.[1] ?? '', block]));
}

/**
 * SoftHSM reads SOFTHSM2_CONF with getenv(3) in C_Initialize; Jest gives each test file a copy of
 * process.env, so the variable is set on the host process too (as hsm/softhsm.ts does).
 */
function useSoftHsmConf(conf: string): void {
  process.env['SOFTHSM2_CONF'] = conf;
  (vm.runInThisContext('process') as NodeJS.Process).env['SOFTHSM2_CONF'] = conf;
}

/** A root and an issuing CA made by OpenSSL, to issue the card's certificates. */
async function makeCa(): Promise<void> {
  writeFileSync(
    file('ext.cnf'),
    [
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '[signature]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, nonRepudiation',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await sslOk(['req', '-x509', ...ec, '-keyout', file('root.key'), '-subj', '/CN=Test Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', file('root.pem')]);
  await sslOk(['req', '-new', ...ec, '-keyout', file('issuing.key'), '-subj', '/CN=Test e-imza CA', '-out', file('issuing.csr')]);
  await sslOk(['x509', '-req', '-in', file('issuing.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key'), '-days', '30', '-extfile', file('ext.cnf'), '-extensions', 'ca', '-out', file('issuing.pem')]);
}

async function issueFromCsr(csrPem: string, name: string): Promise<string> {
  writeFileSync(file(`${name}.csr`), csrPem);
  await sslOk(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('issuing.pem'), '-CAkey', file('issuing.key'), '-days', '30', '-extfile', file('ext.cnf'), '-extensions', 'signature', '-out', file(`${name}.pem`)]);
  return file(`${name}.pem`);
}

function pemToDer(pemPath: string): Uint8Array {
  const body = readFileSync(pemPath, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

const SUBJECT = [
  { type: 'C', value: 'AZ' },
  { type: 'givenName', value: CITIZEN.givenName },
  { type: 'surname', value: CITIZEN.surname },
  { type: 'CN', value: `${CITIZEN.givenName} ${CITIZEN.surname}`.toUpperCase() },
  { type: 'serialNumber', value: `PNOAZ-${CITIZEN.fin}` },
] as const;

beforeAll(async () => {
  mkdirSync(file('tokens'), { mode: 0o700 });
  writeFileSync(confPath, `directories.tokendir = ${file('tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  useSoftHsmConf(confPath);
  // C_InitToken only: the token has its SO PIN (the PUK) and no user PIN, like a card from the factory.
  await pkcs11Tool('--init-token', '--label', 'test card', '--so-pin', PUK);
  const slots = await pkcs11Tool('--list-slots');
  const slot = /^Slot \d+ \((0x[0-9a-f]+)\)[^\n]*\n(?:\s+[^\n]*\n)*?\s+token label\s*:\s*test card\s*\n(?:\s+[^\n]*\n)*?\s+serial num\s*:\s*(\S+)/m.exec(slots);
  if (!slot) throw new Error(`no test card in:\n${slots}`);
  slotId = Number(slot[1]);
  tokenSerial = slot[2]!;
  freeSlotId = Number(/^Slot \d+ \((0x[0-9a-f]+)\)[^\n]*\n\s+token state:\s+uninitialized/m.exec(slots)?.[1]);
  await makeCa();
  card = SmartCard.open({ modulePath: MODULE, slot: slotId });
}, 60_000);

afterAll(async () => {
  await card?.close();
  removeDir(dir);
});

describe('a blank card', () => {
  it('has no user PIN until the PUK sets one; PINs never appear in errors', async () => {
    const before = card.info();
    expect(before.userPinInitialized).toBe(false);
    expect(before.serialNumber).toBe(tokenSerial);
    expect(await rejection(card.login(PIN))).toEqual({ kind: 'unauthorized', code: 'cardPinNotInitialized' });

    let wrongPuk: unknown;
    try {
      card.initUserPin('00000000', PIN);
    } catch (e) {
      wrongPuk = e;
    }
    expect(wrongPuk).toBeInstanceOf(CaError);
    expect((wrongPuk as CaError).code).toBe('cardPukIncorrect');
    expect((wrongPuk as CaError).detail).not.toContain('00000000');
    expect(card.info().userPinInitialized).toBe(false);
    expect(() => card.checkNewPin('12')).toThrow(expect.objectContaining({ code: 'cardPinLength' }));

    card.initUserPin(PUK, PIN);
    expect(card.info().userPinInitialized).toBe(true);
    const wrongPin = await card.login('9999').catch((e: unknown) => e);
    expect(wrongPin).toMatchObject({ kind: 'unauthorized', code: 'cardPinIncorrect' });
    expect((wrongPin as CaError).detail).not.toContain('9999');
    await card.login(PIN);
    // pkcs11-tool sees the same: the user PIN now opens the card.
    expect(await pkcs11Tool('--list-token-slots')).toMatch(/PIN initialized/);
    await pkcs11Tool('--login', '--pin', PIN, '--list-objects');
  });
});

describe('key pairs on the card', () => {
  it('generates P-256 pairs that are sensitive, never extractable and local', async () => {
    for (const [type, spec] of Object.entries(SPECS)) {
      const key = await card.generateKeyPair(spec);
      keys.set(type, key);
      expect(key.algorithm).toEqual({ kind: 'ec', curve: 'P-256' });
      expect(Buffer.from(key.id).toString('hex')).toBe(Buffer.from(spec.id).toString('hex'));
      expect(key.label).toBe(spec.label);
      expect(key.protection).toEqual({
        sensitive: true,
        extractable: false,
        alwaysSensitive: true,
        neverExtractable: true,
        local: true,
        sign: true,
        derive: spec.usage === 'sign-and-derive',
      });
      expect(key.keyUri).toContain(`serial=${tokenSerial}`);
    }
    expect(await rejection(card.generateKeyPair(SPECS.signature))).toEqual({ kind: 'conflict', code: 'cardKeyExists' });
  });

  it('shows them to pkcs11-tool with their ids, labels and protection', async () => {
    const listing = await pkcs11Tool('--login', '--pin', PIN, '--list-objects', '--type', 'privkey');
    const blocks = objectBlocks(listing, /^Private Key Object; EC/);
    expect([...blocks.keys()].sort()).toEqual(['01', '02', '03']);
    for (const [id, spec] of [['01', SPECS.signature], ['02', SPECS.authentication], ['03', SPECS.encryption]] as const) {
      const block = blocks.get(id)!;
      expect(block).toContain(`label:      ${spec.label}`);
      const access = /^\s*Access:\s*(.*)$/m.exec(block)?.[1] ?? '';
      expect(access.split(', ').sort()).toEqual(['always sensitive', 'local', 'never extractable', 'sensitive']);
      const usage = (/^\s*Usage:\s*(.*)$/m.exec(block)?.[1] ?? '').split(', ').sort();
      expect(usage).toEqual(spec.usage === 'sign' ? ['sign'] : ['derive', 'sign']);
    }
    const publicKeys = objectBlocks(await pkcs11Tool('--list-objects', '--type', 'pubkey'), /^Public Key Object; EC/);
    expect([...publicKeys.keys()].sort()).toEqual(['01', '02', '03']);
  });
});

describe('requests signed on the card', () => {
  it('builds CSRs that OpenSSL verifies and parseCsr reads back', async () => {
    for (const [type, key] of keys) {
      const csr = await buildCsr({ subject: SUBJECT, subjectPublicKeyInfo: key.publicKeySpki, sign: (tbs) => key.sign(tbs) });
      writeFileSync(file(`${type}.csr`), csr.pem);
      const verified = await sslOk(['req', '-in', file(`${type}.csr`), '-verify', '-noout']);
      expect(verified).toMatch(/verify OK/);
      const text = await sslOk(['req', '-in', file(`${type}.csr`), '-noout', '-text']);
      expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(text).toMatch(/NIST CURVE: P-256|prime256v1/);
      const parsed = parseCsr(csr.pem);
      expect(Buffer.from(parsed.subjectPublicKeyInfo).equals(Buffer.from(key.publicKeySpki))).toBe(true);
      expect(Buffer.from(parsed.der).equals(Buffer.from(csr.der))).toBe(true);
      expect(parsed.signatureAlgorithmOid).toBe(ALGORITHM_OIDS.ecdsaWithSha256);
      expect(parsed.subject.map((a) => [a.shortName, a.value])).toEqual([
        ['C', 'AZ'],
        ['GN', CITIZEN.givenName],
        ['SN', CITIZEN.surname],
        ['CN', 'LEYLA ƏLIYEVA'],
        ['serialNumber', 'PNOAZ-5ZX2K7Q'],
      ]);
    }
  });

  it('takes a bare common name as the subject', async () => {
    const key = keys.get('authentication')!;
    const csr = await buildCsr({ subject: 'card 0001', subjectPublicKeyInfo: key.publicKeySpki, sign: (tbs) => key.sign(tbs) });
    expect(parseCsr(csr.der).subject).toEqual([{ type: '2.5.4.3', shortName: 'CN', value: 'card 0001' }]);
  });

  it('refuses to hand out a request whose signature is not by its key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = keys.get('signature')!;
    const built = buildCsr({
      subject: 'mismatch',
      subjectPublicKeyInfo: key.publicKeySpki,
      sign: async (tbs) => new Uint8Array(nodeSign('sha256', tbs, { key: other.privateKey, dsaEncoding: 'der' })),
    });
    expect(await rejection(built)).toEqual({ kind: 'badCsr', code: 'csrSignatureInvalid' });
  });
});

describe('certificates on the card', () => {
  it('stores each certificate under the id and label of its key, and the chain as authorities', async () => {
    for (const [type, spec] of Object.entries(SPECS)) {
      const certPath = await issueFromCsr(readFileSync(file(`${type}.csr`), 'utf8'), `${type}-cert`);
      expect(await sslOk(['verify', '-CAfile', file('root.pem'), '-untrusted', file('issuing.pem'), certPath])).toContain(': OK');
      const written = await card.writeCertificate({ der: pemToDer(certPath), id: spec.id, label: spec.label, category: 'user' });
      expect(written.categoryRecorded).toBe(true);
    }
    await card.writeCertificate({ der: pemToDer(file('issuing.pem')), id: Uint8Array.of(0xca, 1), label: 'Test e-imza CA', category: 'authority' });
    await card.writeCertificate({ der: pemToDer(file('root.pem')), id: Uint8Array.of(0xca, 0), label: 'Test Root', category: 'authority' });

    // Certificates are public objects: pkcs11-tool lists them without the PIN.
    const certificates = objectBlocks(await pkcs11Tool('--list-objects', '--type', 'cert'), /^Certificate Object; type = X\.509 cert/);
    expect([...certificates.keys()].sort()).toEqual(['01', '02', '03', 'ca00', 'ca01']);
    const privateKeys = objectBlocks(await pkcs11Tool('--login', '--pin', PIN, '--list-objects', '--type', 'privkey'), /^Private Key Object/);
    for (const [id, spec] of [['01', SPECS.signature], ['02', SPECS.authentication], ['03', SPECS.encryption]] as const) {
      expect(privateKeys.has(id)).toBe(true);
      expect(certificates.get(id)).toContain(`label:      ${spec.label}`);
      expect(certificates.get(id)).toMatch(/subject:\s+DN: C=AZ, GN=Leyla, SN=/);
    }
    // CKA_SERIAL_NUMBER is the certificate's serial (pkcs11-tool prints its value in hex).
    const serial = (await sslOk(['x509', '-in', file('signature-cert.pem'), '-noout', '-serial'])).trim().replace(/^serial=/, '');
    expect(certificates.get('01')).toMatch(new RegExp(`serial:\\s+0*${serial.replace(/^0+/, '')}`, 'i'));

    const listed = await card.listCertificates();
    expect(listed.map((c) => [Buffer.from(c.id).toString('hex'), c.category]).sort()).toEqual([
      ['01', 'user'],
      ['02', 'user'],
      ['03', 'user'],
      ['ca00', 'authority'],
      ['ca01', 'authority'],
    ]);
    // What pkcs11-tool reads back is the certificate as issued.
    await pkcs11Tool('--read-object', '--type', 'cert', '--id', '01', '-o', file('read-back.der'));
    expect(readFileSync(file('read-back.der')).equals(Buffer.from(pemToDer(file('signature-cert.pem'))))).toBe(true);
  });

  it('signs on the card (pkcs11-tool, CKM_ECDSA) what OpenSSL verifies with the certificate key', async () => {
    writeFileSync(file('document.txt'), 'Müqavilə № 17: razıyam.\n');
    writeFileSync(file('document.sha256'), createHash('sha256').update(readFileSync(file('document.txt'))).digest());
    await pkcs11Tool('--login', '--pin', PIN, '--sign', '--id', '01', '-m', 'ECDSA', '--signature-format', 'openssl', '-i', file('document.sha256'), '-o', file('document.sig'));
    writeFileSync(file('signature-pub.pem'), await sslOk(['x509', '-in', file('signature-cert.pem'), '-noout', '-pubkey']));
    const verified = await sslOk(['dgst', '-sha256', '-verify', file('signature-pub.pem'), '-signature', file('document.sig'), file('document.txt')]);
    expect(verified).toContain('Verified OK');

    // The same key through hsm/card.ts (the Signer the CLI uses), judged by OpenSSL.
    const signature = await keys.get('signature')!.sign(readFileSync(file('document.txt')));
    writeFileSync(file('document-card.sig'), signature);
    expect(await sslOk(['dgst', '-sha256', '-verify', file('signature-pub.pem'), '-signature', file('document-card.sig'), file('document.txt')])).toContain('Verified OK');
    // A signature by the authentication key does not pass for one by the signature key.
    await pkcs11Tool('--login', '--pin', PIN, '--sign', '--id', '02', '-m', 'ECDSA', '--signature-format', 'openssl', '-i', file('document.sha256'), '-o', file('document-auth.sig'));
    const wrong = await openssl(['dgst', '-sha256', '-verify', file('signature-pub.pem'), '-signature', file('document-auth.sig'), file('document.txt')]);
    expect(wrong.code).not.toBe(0);
  });
});

describe('data objects and re-opening', () => {
  it('keeps a private data object until it is deleted', async () => {
    const value = new TextEncoder().encode(JSON.stringify({ idempotencyKey: 'k-1' }));
    expect(await card.readData('e-imza pending signature')).toBeUndefined();
    await card.writeData('e-imza pending signature', value);
    await card.writeData('e-imza pending signature', value); // replaces, never duplicates
    expect(Buffer.from((await card.readData('e-imza pending signature'))!).toString()).toBe('{"idempotencyKey":"k-1"}');
    // Private: not listed before login.
    expect(await pkcs11Tool('--list-objects', '--type', 'data')).not.toContain('e-imza pending');
    expect(await pkcs11Tool('--login', '--pin', PIN, '--list-objects', '--type', 'data')).toContain('e-imza pending signature');
    await card.deleteData('e-imza pending signature');
    expect(await card.readData('e-imza pending signature')).toBeUndefined();
  });

  it('finds its keys and certificates again, by slot id or by slot index', async () => {
    const spki = Buffer.from(keys.get('encryption')!.publicKeySpki);
    await card.close();
    card = SmartCard.open({ modulePath: MODULE, slot: 0 }); // index 0: the card is the first slot
    expect(card.info().serialNumber).toBe(tokenSerial);
    await card.login(PIN);
    const again = await card.keyPairFor(SPECS.encryption);
    expect(again.generated).toBe(false);
    expect(Buffer.from(again.key.publicKeySpki).equals(spki)).toBe(true);
    expect(await card.listCertificates()).toHaveLength(5);
  });

  it('does not reuse a key that was imported rather than generated on the card', async () => {
    await sslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-outform', 'DER', '-out', file('imported.der')]);
    await pkcs11Tool('--login', '--pin', PIN, '--write-object', file('imported.der'), '--type', 'privkey', '--id', '04', '--label', 'imported');
    await sslOk(['pkey', '-in', file('imported.der'), '-inform', 'DER', '-pubout', '-outform', 'DER', '-out', file('imported-pub.der')]);
    await pkcs11Tool('--login', '--pin', PIN, '--write-object', file('imported-pub.der'), '--type', 'pubkey', '--id', '04', '--label', 'imported');
    const spec: CardKeySpec = { id: Uint8Array.of(4), label: 'e-imza signature', usage: 'sign' };
    expect(await rejection(card.keyPairFor(spec))).toEqual({ kind: 'conflict', code: 'cardKeyForeign' });
  });

  it('names the slot problems', () => {
    expect(() => SmartCard.open({ modulePath: MODULE, slot: 99 })).toThrow(expect.objectContaining({ code: 'cardSlotNotFound' }));
    // SoftHSM always offers one more slot, with an uninitialised token.
    expect(() => SmartCard.open({ modulePath: MODULE, slot: freeSlotId })).toThrow(expect.objectContaining({ code: 'cardNotInitialized' }));
    expect(() => SmartCard.open({ modulePath: MODULE, slot: -1 })).toThrow(expect.objectContaining({ code: 'invalidArgument' }));
  });

});
