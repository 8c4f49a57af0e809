import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  sign as signWithNode,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { access, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaError } from '../errors.js';
import { isKeyAlgorithm, KEY_FILE_FORMAT, parseKeyFile, sealPrivateKey, unsealPrivateKey } from './software-key-file.js';
import type { KeyAlgorithm, KeyStore, Signer } from './types.js';

/**
 * Key store for machines without PKCS#11: one passphrase-encrypted file per key (see
 * software-key-file.ts). Keys are decrypted once in openSigner and kept as KeyObjects; signing
 * runs on the libuv thread pool through the callback form of crypto.sign.
 */
export interface SoftwareKeyStoreOptions {
  /** Directory of the key files; created 0700 on first use. */
  directory: string;
  /** Read from a file or the environment by the composition root, never from arguments. */
  passphrase: string | Uint8Array;
}

const KEY_FILE_SUFFIX = '.key.json';
const URI_SCHEME = 'file:';
const MAX_LABEL_LENGTH = 128;

export function createSoftwareKeyStore(options: SoftwareKeyStoreOptions): KeyStore {
  const directory = path.resolve(options.directory);
  const passphrase = normalizePassphrase(options.passphrase);
  let closed = false;

  function ensureOpen(): void {
    if (closed) throw keyStoreClosed();
  }

  return {
    kind: 'software',

    async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer> {
      ensureOpen();
      checkLabel(label);
      if (!isKeyAlgorithm(algorithm)) throw unsupportedAlgorithm();
      const filePath = path.join(directory, fileNameForLabel(label));
      // Fails early, before key generation and scrypt; writeNewFile's link() is the real guard.
      if (await fileExists(filePath)) throw labelExists(filePath);
      const { privateKey, publicKeySpki } = await generateNodeKeyPair(algorithm);
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
      const file = await sealPrivateKey(pkcs8, passphrase, {
        format: KEY_FILE_FORMAT,
        label,
        algorithm,
        publicKeySpki: publicKeySpki.toString('base64'),
      });
      pkcs8.fill(0);
      await writeNewFile(directory, filePath, JSON.stringify(file, null, 2) + '\n');
      return softwareSigner(URI_SCHEME + filePath, algorithm, publicKeySpki, privateKey, () => closed);
    },

    async openSigner(keyUri: string): Promise<Signer> {
      ensureOpen();
      const filePath = keyFilePath(keyUri, directory);
      const file = parseKeyFile(await readKeyFile(filePath));
      const pkcs8 = await unsealPrivateKey(file, passphrase);
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      } catch {
        throw new CaError('malformed', 'key file holds an unreadable private key', { code: 'keyFileMalformed' });
      } finally {
        pkcs8.fill(0);
      }
      const publicKeySpki = Buffer.from(file.publicKeySpki, 'base64');
      checkKeyMatchesFile(privateKey, file.algorithm, publicKeySpki);
      return softwareSigner(URI_SCHEME + filePath, file.algorithm, publicKeySpki, privateKey, () => closed);
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}

function softwareSigner(
  keyUri: string,
  algorithm: KeyAlgorithm,
  publicKeySpki: Uint8Array,
  privateKey: KeyObject,
  isStoreClosed: () => boolean,
): Signer {
  const hash = algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  return {
    keyUri,
    algorithm,
    publicKeySpki: new Uint8Array(publicKeySpki),
    sign(data: Uint8Array): Promise<Uint8Array> {
      if (isStoreClosed()) return Promise.reject(keyStoreClosed());
      // The callback form runs on the thread pool; the synchronous form would block the loop.
      // dsaEncoding 'der' gives the Ecdsa-Sig-Value of RFC 3279 §2.2.3; RSA uses PKCS#1 v1.5.
      return new Promise((resolve, reject) => {
        signWithNode(hash, data, { key: privateKey, dsaEncoding: 'der' }, (error, signature) => {
          if (error) reject(new CaError('internal', 'software signing failed', { cause: error }));
          else resolve(new Uint8Array(signature));
        });
      });
    },
  };
}

function generateNodeKeyPair(algorithm: KeyAlgorithm): Promise<{ privateKey: KeyObject; publicKeySpki: Buffer }> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (error) return reject(new CaError('internal', 'key generation failed', { cause: error }));
      resolve({ privateKey, publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }) });
    };
    if (algorithm.kind === 'rsa') {
      generateKeyPair('rsa', { modulusLength: algorithm.bits, publicExponent: 0x10001 }, done);
    } else {
      generateKeyPair('ec', { namedCurve: algorithm.curve }, done);
    }
  });
}

/** Guards against a file whose public part was swapped for another key's (defence in depth). */
function checkKeyMatchesFile(privateKey: KeyObject, algorithm: KeyAlgorithm, publicKeySpki: Buffer): void {
  const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const details = privateKey.asymmetricKeyDetails ?? {};
  const algorithmMatches =
    algorithm.kind === 'rsa'
      ? privateKey.asymmetricKeyType === 'rsa' && details.modulusLength === algorithm.bits
      : privateKey.asymmetricKeyType === 'ec' && details.namedCurve === nodeCurveName(algorithm.curve);
  const spkiMatches = derived.length === publicKeySpki.length && timingSafeEqual(derived, publicKeySpki);
  if (!algorithmMatches || !spkiMatches) {
    throw new CaError('malformed', 'key file public part does not match its private key', { code: 'keyFileMalformed' });
  }
}

function nodeCurveName(curve: 'P-256' | 'P-384'): string {
  return curve === 'P-256' ? 'prime256v1' : 'secp384r1';
}

/** Accepts our own `file:/abs/path` and the URL form `file:///abs/path`. */
function keyFilePath(keyUri: string, directory: string): string {
  if (!keyUri.startsWith(URI_SCHEME)) {
    throw new CaError('malformed', 'software key URI must start with "file:"', { code: 'keyUriMalformed' });
  }
  let filePath = keyUri.slice(URI_SCHEME.length);
  if (filePath.startsWith('//')) {
    try {
      filePath = fileURLToPath(keyUri);
    } catch {
      throw new CaError('malformed', 'software key URI is not a valid file URL', { code: 'keyUriMalformed' });
    }
  }
  if (!path.isAbsolute(filePath)) {
    throw new CaError('malformed', 'software key URI must hold an absolute path', { code: 'keyUriMalformed' });
  }
  filePath = path.normalize(filePath);
  // The passphrase belongs to this directory; do not try it on files elsewhere.
  if (path.dirname(filePath) !== directory || !filePath.endsWith(KEY_FILE_SUFFIX)) {
    throw new CaError('notFound', 'key URI does not name a key of this key store', { code: 'keyNotFound' });
  }
  return filePath;
}

async function readKeyFile(filePath: string): Promise<string> {
  try {
    return await readFile(filePath, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new CaError('notFound', `no key file ${path.basename(filePath)}`, { code: 'keyNotFound' });
    }
    throw new CaError('internal', 'cannot read key file', { cause: error });
  }
}

/**
 * Writes to a temporary file, syncs it, then hard-links it to its final name: the key file
 * appears complete or not at all, and an existing key is never overwritten (link fails EEXIST).
 */
async function writeNewFile(directory: string, filePath: string, content: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporaryPath = `${filePath}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporaryPath, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporaryPath, filePath);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') throw labelExists(filePath);
    throw new CaError('internal', 'cannot write key file', { cause: error });
  } finally {
    await unlink(temporaryPath).catch(() => undefined);
  }
}

/** Labels become file names: anything outside [A-Za-z0-9._-] is replaced by '_'. */
function fileNameForLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]/g, '_') + KEY_FILE_SUFFIX;
}

function checkLabel(label: string): void {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new CaError('malformed', `key label must be 1 to ${MAX_LABEL_LENGTH} printable characters`, {
      code: 'keyLabelInvalid',
    });
  }
}

function normalizePassphrase(passphrase: string | Uint8Array): Buffer {
  // NFC, so that the same passphrase typed on different systems derives the same key.
  const bytes = typeof passphrase === 'string' ? Buffer.from(passphrase.normalize('NFC'), 'utf8') : Buffer.from(passphrase);
  if (bytes.length === 0) {
    throw new CaError('malformed', 'key store passphrase is empty', { code: 'keystorePassphraseEmpty' });
  }
  return bytes;
}

async function fileExists(filePath: string): Promise<boolean> {
  return access(filePath).then(
    () => true,
    () => false,
  );
}

function labelExists(filePath: string): CaError {
  return new CaError('conflict', `a key file ${path.basename(filePath)} already exists`, { code: 'keyLabelExists' });
}

function unsupportedAlgorithm(): CaError {
  return new CaError('malformed', 'key algorithm must be RSA 2048/3072/4096 or EC P-256/P-384', {
    code: 'keyAlgorithmUnsupported',
  });
}

function keyStoreClosed(): CaError {
  return new CaError('internal', 'key store is closed', { code: 'keyStoreClosed' });
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}
