import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pkcs11js from 'pkcs11js';
import {
  CKR,
  createPkcs11KeyStore,
  ensureSoftHsmToken,
  findSoftHsmModule,
  translatePkcs11Error,
  type SoftHsmToken,
} from '../../hsm/index.js';
import { isCaError, type CaError } from '../../src/errors.js';
import { createSoftwareKeyStore } from '../../src/signing/software.js';
import type { KeyAlgorithm, KeyStore, Signer } from '../../src/signing/types.js';

/**
 * The same cases run against both key stores (house rule 10): the encrypted software store and
 * PKCS#11 on a SoftHSM2 token of this file's own, under a fresh temporary directory with its own
 * SOFTHSM2_CONF. Without SoftHSM2 every PKCS#11 case fails (with "softhsm2-util is not
 * installed"); none is skipped.
 */
const run = promisify(execFile);
const workDirectory = mkdtempSync(path.join(os.tmpdir(), 'eimza-keystores-'));
const softwareDirectory = path.join(workDirectory, 'software-keys');
const passphrase = 'correct horse battery staple';
let softHsm: SoftHsmToken;
let softHsmReady: Promise<SoftHsmToken> | undefined;

/** Made on first use, so the software cases still run (and pass) where SoftHSM2 is missing. */
async function softHsmToken(): Promise<SoftHsmToken> {
  softHsmReady ??= ensureSoftHsmToken({ directory: path.join(workDirectory, 'softhsm'), tokenLabel: 'e-imza test' });
  softHsm = await softHsmReady;
  return softHsm;
}

afterAll(async () => {
  await rm(workDirectory, { recursive: true, force: true });
});

interface Backend {
  name: 'software' | 'pkcs11';
  open(): Promise<KeyStore>;
  /** A well-formed URI of this store's kind that names no key. */
  missingKeyUri(): string;
  malformedKeyUri: string;
}

const backends: Backend[] = [
  {
    name: 'software',
    open: async () => createSoftwareKeyStore({ directory: softwareDirectory, passphrase }),
    missingKeyUri: () => `file:${path.join(softwareDirectory, 'no-such-key.key.json')}`,
    malformedKeyUri: 'file:relative/path.key.json',
  },
  {
    name: 'pkcs11',
    open: async () => {
      const token = await softHsmToken();
      return createPkcs11KeyStore({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin });
    },
    missingKeyUri: () => `pkcs11:token=e-imza%20test;object=no-such-key;id=%00%01;type=private`,
    malformedKeyUri: 'pkcs11:object=a;object=b',
  },
];

const algorithms: Array<[string, KeyAlgorithm]> = [
  ['RSA 2048', { kind: 'rsa', bits: 2048 }],
  ['RSA 3072', { kind: 'rsa', bits: 3072 }],
  ['EC P-256', { kind: 'ec', curve: 'P-256' }],
  ['EC P-384', { kind: 'ec', curve: 'P-384' }],
];

function hashOf(algorithm: KeyAlgorithm): 'sha256' | 'sha384' {
  return algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
}

function verifies(signer: Signer, data: Uint8Array, signature: Uint8Array, spki = signer.publicKeySpki): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  // dsaEncoding 'der': an EC signature must be an Ecdsa-Sig-Value, not raw r || s.
  return verify(hashOf(signer.algorithm), data, { key, dsaEncoding: 'der' }, signature);
}

async function rejection(promise: Promise<unknown>): Promise<CaError> {
  try {
    await promise;
  } catch (error) {
    if (isCaError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

test('SoftHSM2 is installed (npm test installs it; the PKCS#11 cases need it)', () => {
  expect(findSoftHsmModule()).toBeDefined();
});

describe.each(backends)('$name key store', (backend) => {
  let store: KeyStore;

  beforeAll(async () => {
    store = await backend.open();
  });

  afterAll(async () => {
    await store?.close(); // undefined when open() failed, e.g. without SoftHSM2
  });

  test(`is of kind ${backend.name}`, () => {
    expect(store.kind).toBe(backend.name);
  });

  test.each(algorithms)('generates a %s key whose signatures verify against its SPKI', async (name, algorithm) => {
    const signer = await store.generateKey(`verify ${name}`, algorithm);
    expect(signer.algorithm).toEqual(algorithm);
    expect(signer.keyUri.startsWith(backend.name === 'pkcs11' ? 'pkcs11:' : 'file:/')).toBe(true);

    const publicKey = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
    if (algorithm.kind === 'rsa') {
      expect(publicKey.asymmetricKeyType).toBe('rsa');
      expect(publicKey.asymmetricKeyDetails).toMatchObject({ modulusLength: algorithm.bits, publicExponent: 65537n });
    } else {
      expect(publicKey.asymmetricKeyType).toBe('ec');
      expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe(algorithm.curve === 'P-256' ? 'prime256v1' : 'secp384r1');
    }

    const data = randomBytes(1500);
    const signature = await signer.sign(data);
    expect(verifies(signer, data, signature)).toBe(true);
    expect(verifies(signer, Buffer.concat([data, Buffer.from([0])]), signature)).toBe(false);
  });

  test('opens keys by URI after the store was closed and reopened', async () => {
    const generated = await Promise.all([
      store.generateKey('reopen rsa', { kind: 'rsa', bits: 2048 }),
      store.generateKey('reopen p256', { kind: 'ec', curve: 'P-256' }),
    ]);
    await store.close();
    store = await backend.open();
    for (const original of generated) {
      const reopened = await store.openSigner(original.keyUri);
      expect(reopened.keyUri).toBe(original.keyUri);
      expect(reopened.algorithm).toEqual(original.algorithm);
      expect(Buffer.from(reopened.publicKeySpki).equals(Buffer.from(original.publicKeySpki))).toBe(true);
      const data = randomBytes(200);
      expect(verifies(reopened, data, await reopened.sign(data), original.publicKeySpki)).toBe(true);
    }
  });

  test('signatures verify with openssl dgst -verify (an independent implementation)', async () => {
    const directory = path.join(workDirectory, `openssl-${backend.name}`);
    await run('mkdir', ['-p', directory]);
    for (const [name, algorithm] of [algorithms[0]!, algorithms[3]!]) {
      const signer = await store.generateKey(`openssl ${name}`, algorithm);
      const data = randomBytes(700);
      const files = { key: path.join(directory, 'key.der'), data: path.join(directory, 'data'), signature: path.join(directory, 'sig') };
      await writeFile(files.key, signer.publicKeySpki);
      await writeFile(files.data, data);
      await writeFile(files.signature, await signer.sign(data));
      const { stdout } = await run('openssl', [
        'dgst', `-${hashOf(algorithm)}`, '-verify', files.key, '-keyform', 'DER', '-signature', files.signature, files.data,
      ]);
      expect(stdout.trim()).toBe('Verified OK');
    }
  });

  test('200 concurrent signatures all succeed and verify', async () => {
    const signer = await store.generateKey('concurrency', { kind: 'ec', curve: 'P-256' });
    const messages = Array.from({ length: 200 }, (_, index) => Buffer.from(`message ${index}`));
    const signatures = await Promise.all(messages.map((message) => signer.sign(message)));
    expect(signatures.every((signature, index) => verifies(signer, messages[index]!, signature))).toBe(true);
    expect(new Set(signatures.map((signature) => Buffer.from(signature).toString('hex'))).size).toBe(200);
  });

  test('timers keep firing while signatures are in flight (signing does not block the event loop)', async () => {
    const signer = await store.generateKey('event loop', { kind: 'rsa', bits: 2048 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await Promise.all(Array.from({ length: 100 }, (_, index) => signer.sign(Buffer.from(`loop ${index}`))));
    } finally {
      clearInterval(timer);
    }
    // Signing on the main thread would run all 100 RSA signatures before a single timer fired.
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  test('refuses a second key with the same label', async () => {
    await store.generateKey('unique label', { kind: 'ec', curve: 'P-256' });
    const error = await rejection(store.generateKey('unique label', { kind: 'ec', curve: 'P-256' }));
    expect([error.kind, error.code]).toEqual(['conflict', 'keyLabelExists']);
  });

  test('rejects an unsupported algorithm and an empty label as malformed', async () => {
    const badAlgorithm = { kind: 'rsa', bits: 1024 } as unknown as KeyAlgorithm;
    expect((await rejection(store.generateKey('weak', badAlgorithm))).code).toBe('keyAlgorithmUnsupported');
    expect((await rejection(store.generateKey('', { kind: 'ec', curve: 'P-256' }))).code).toBe('keyLabelInvalid');
  });

  test('a URI that names no key gives notFound', async () => {
    const error = await rejection(store.openSigner(backend.missingKeyUri()));
    expect([error.kind, error.code]).toEqual(['notFound', 'keyNotFound']);
  });

  test('a malformed URI gives malformed', async () => {
    expect((await rejection(store.openSigner(backend.malformedKeyUri))).kind).toBe('malformed');
  });

  test('signers stop working once their store is closed', async () => {
    const other = await backend.open();
    const signer = await other.generateKey(`closed ${Date.now()}`, { kind: 'ec', curve: 'P-256' });
    await other.close();
    expect((await rejection(signer.sign(Buffer.from('late')))).code).toBe('keyStoreClosed');
  });
});

describe('software key store files', () => {
  let store: KeyStore;
  let signer: Signer;
  let keyFile: string;

  beforeAll(async () => {
    store = createSoftwareKeyStore({ directory: softwareDirectory, passphrase });
    signer = await store.generateKey('file checks', { kind: 'ec', curve: 'P-384' });
    keyFile = signer.keyUri.slice('file:'.length);
  });

  afterAll(async () => {
    await store.close();
  });

  test('are one JSON file per key, 0600 in a 0700 directory, with the private key encrypted', async () => {
    expect((await stat(softwareDirectory)).mode & 0o777).toBe(0o700);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(keyFile, 'utf8'));
    expect(content).toMatchObject({
      label: 'file checks',
      algorithm: { kind: 'ec', curve: 'P-384' },
      publicKeySpki: Buffer.from(signer.publicKeySpki).toString('base64'),
      privateKey: { kdf: 'scrypt', cipher: 'aes-256-gcm' },
    });
    expect(Object.keys(content).sort()).toEqual(['algorithm', 'format', 'label', 'privateKey', 'publicKeySpki']);
    expect(await readFile(keyFile, 'utf8')).not.toContain('PRIVATE KEY');
    const ciphertext = Buffer.from(content.privateKey.ciphertext, 'base64');
    expect(() => createPrivateKey({ key: ciphertext, format: 'der', type: 'pkcs8' })).toThrow();
  });

  test('open by the file:/// URL form too, and refuse files outside the store directory', async () => {
    const reopened = await store.openSigner(pathToFileURL(keyFile).href);
    expect(reopened.keyUri).toBe(signer.keyUri);
    const outside = await rejection(store.openSigner(`file:${path.join(workDirectory, 'elsewhere.key.json')}`));
    expect([outside.kind, outside.code]).toEqual(['notFound', 'keyNotFound']);
  });

  test('do not open with a wrong passphrase, and the error does not contain it', async () => {
    const wrong = createSoftwareKeyStore({ directory: softwareDirectory, passphrase: 'not the passphrase' });
    const error = await rejection(wrong.openSigner(signer.keyUri));
    expect([error.kind, error.code]).toEqual(['unauthorized', 'keystorePassphrase']);
    expect(`${error.message} ${error.detail} ${String(error.cause)}`).not.toContain('not the passphrase');
    await wrong.close();
  });

  test('do not open once their public part was edited (it is bound to the ciphertext)', async () => {
    const copy = path.join(softwareDirectory, 'edited.key.json');
    const content = JSON.parse(await readFile(keyFile, 'utf8'));
    await writeFile(copy, JSON.stringify({ ...content, label: 'edited' }), { mode: 0o600 });
    const error = await rejection(store.openSigner(`file:${copy}`));
    expect(error.code).toBe('keystorePassphrase');
  });
});

describe('SoftHSM2 token', () => {
  beforeAll(async () => {
    await softHsmToken();
  });

  test('holds the generated private keys as sensitive and never extractable (pkcs11-tool)', async () => {
    const store = await createPkcs11KeyStore({ modulePath: softHsm.modulePath, tokenLabel: softHsm.tokenLabel, pin: softHsm.pin });
    await store.generateKey('attribute check rsa', { kind: 'rsa', bits: 2048 });
    await store.generateKey('attribute check p256', { kind: 'ec', curve: 'P-256' });
    await store.close();

    const { stdout } = await run(
      'pkcs11-tool',
      ['--module', softHsm.modulePath, '--token-label', softHsm.tokenLabel, '--login', '--pin', softHsm.pin,
        '--list-objects', '--type', 'privkey'],
      { env: { ...process.env, SOFTHSM2_CONF: softHsm.confPath } },
    );
    const blocks = stdout.split(/^(?=Private Key Object)/m);
    for (const label of ['attribute check rsa', 'attribute check p256']) {
      const block = blocks.find((candidate) => new RegExp(`^\\s*label:\\s*${label}\\s*$`, 'm').test(candidate));
      expect(block).toBeDefined();
      const access = /^\s*Access:\s*(.*)$/m.exec(block!)?.[1] ?? '';
      expect(access).toContain('sensitive');
      expect(access).toContain('never extractable');
      expect(/^\s*Usage:\s*sign\s*$/m.test(block!)).toBe(true);
    }
  });

  test('a wrong PIN is refused with hsmPinIncorrect, and the PIN is not in the error', async () => {
    const error = await rejection(
      createPkcs11KeyStore({ modulePath: softHsm.modulePath, tokenLabel: softHsm.tokenLabel, pin: 'wrong-pin-1234' }),
    );
    expect([error.kind, error.code]).toEqual(['unauthorized', 'hsmPinIncorrect']);
    expect(`${error.message} ${error.detail} ${String(error.cause)}`).not.toContain('wrong-pin-1234');
  });

  test('an unknown token label is hsmUnavailable', async () => {
    const error = await rejection(createPkcs11KeyStore({ modulePath: softHsm.modulePath, tokenLabel: 'no such token', pin: softHsm.pin }));
    expect([error.kind, error.code]).toEqual(['hsmUnavailable', 'hsmTokenNotFound']);
  });

  test('key URIs naming another token, carrying a PIN or naming a public key are refused', async () => {
    const store = await createPkcs11KeyStore({ modulePath: softHsm.modulePath, tokenLabel: softHsm.tokenLabel, pin: softHsm.pin });
    try {
      const signer = await store.generateKey('uri checks', { kind: 'ec', curve: 'P-256' });
      const other = signer.keyUri.replace('token=e-imza%20test', 'token=another');
      expect((await rejection(store.openSigner(other))).code).toBe('keyNotFound');
      expect((await rejection(store.openSigner(`${signer.keyUri}?pin-value=1234`))).code).toBe('pkcs11UriPinValue');
      expect((await rejection(store.openSigner(signer.keyUri.replace('type=private', 'type=public')))).code).toBe(
        'pkcs11UriNotPrivateKey',
      );
      // The label alone is enough to find a key.
      const byLabel = await store.openSigner('pkcs11:object=uri%20checks');
      expect(byLabel.keyUri).toBe(signer.keyUri);
    } finally {
      await store.close();
    }
  });

  test('ensureSoftHsmToken reuses the token and its PIN file', async () => {
    const again = await ensureSoftHsmToken({ directory: path.join(workDirectory, 'softhsm'), tokenLabel: 'e-imza test' });
    expect(again).toEqual(softHsm);
    expect((await stat(path.join(workDirectory, 'softhsm', 'user.pin'))).mode & 0o777).toBe(0o600);
  });
});

describe('PKCS#11 return-code translation', () => {
  test('uses the CK_RV values of pkcs11t.h (checked against pkcs11js where it defines them)', () => {
    const constants = pkcs11js as unknown as Record<string, number | undefined>;
    const unknownToPkcs11js: string[] = [];
    for (const [name, value] of Object.entries(CKR)) {
      const theirs = constants[`CKR_${name}`];
      if (theirs === undefined) unknownToPkcs11js.push(name);
      else expect([name, theirs]).toEqual([name, value]);
    }
    expect(unknownToPkcs11js).toEqual(['CURVE_NOT_SUPPORTED']); // 0x140, added in PKCS#11 v2.40
  });

  test.each([
    [CKR.DEVICE_REMOVED, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.TOKEN_NOT_PRESENT, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.SESSION_HANDLE_INVALID, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.SESSION_CLOSED, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.DEVICE_ERROR, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.CRYPTOKI_NOT_INITIALIZED, 'hsmUnavailable', 'hsmUnavailable'],
    [CKR.PIN_INCORRECT, 'unauthorized', 'hsmPinIncorrect'],
    [CKR.PIN_LOCKED, 'unauthorized', 'hsmPinLocked'],
    [CKR.KEY_HANDLE_INVALID, 'notFound', 'keyNotFound'],
    [CKR.MECHANISM_INVALID, 'internal', 'hsmUnsupported'],
    [CKR.ARGUMENTS_BAD, 'internal', 'hsmError'],
  ])('CK_RV %d becomes %s / %s, decided by the code and not the message', (returnValue, kind, code) => {
    const misleading = Object.assign(new Error('CKR_PIN_INCORRECT:160 (message text is ignored)'), { code: returnValue });
    const error = translatePkcs11Error(misleading, 'C_Test');
    expect([error.kind, error.code]).toEqual([kind, code]);
  });
});
