import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { CaError } from '../errors.js';
import type { KeyAlgorithm } from './types.js';

/**
 * The on-disk form of one software key: JSON with the algorithm, the public key and the PKCS#8
 * private key sealed with AES-256-GCM under a key derived by scrypt (RFC 7914) from the store
 * passphrase and a per-file salt. The label, algorithm and public key are bound to the
 * ciphertext as GCM additional data, so editing them makes the file fail to open.
 */
export const KEY_FILE_FORMAT = 'e-imza-software-key/1';

export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
}

/** N = 2^16, r = 8: about 64 MiB and 0.3 s per open, done once per key at startup. */
export const SCRYPT_PARAMETERS: ScryptParameters = { N: 2 ** 16, r: 8, p: 1 };

/** Bounds for parameters read from a file, so a crafted file cannot ask for gigabytes. */
const MIN_LOG2_N = 14;
const MAX_LOG2_N = 20;

export interface SealedPrivateKey extends ScryptParameters {
  kdf: 'scrypt';
  cipher: 'aes-256-gcm';
  salt: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export interface KeyFile {
  format: typeof KEY_FILE_FORMAT;
  label: string;
  algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo, base64. */
  publicKeySpki: string;
  privateKey: SealedPrivateKey;
}

type PublicPart = Omit<KeyFile, 'privateKey'>;

export async function sealPrivateKey(
  pkcs8: Uint8Array,
  passphrase: Uint8Array,
  publicPart: PublicPart,
): Promise<KeyFile> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, SCRYPT_PARAMETERS);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(publicPart));
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  key.fill(0);
  return {
    ...publicPart,
    privateKey: {
      kdf: 'scrypt',
      cipher: 'aes-256-gcm',
      ...SCRYPT_PARAMETERS,
      salt: salt.toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    },
  };
}

/** Returns the PKCS#8 DER private key; the caller should zero it once parsed. */
export async function unsealPrivateKey(file: KeyFile, passphrase: Uint8Array): Promise<Buffer> {
  const sealed = file.privateKey;
  const key = await deriveKey(passphrase, Buffer.from(sealed.salt, 'base64'), sealed);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(associatedData(file));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    // GCM cannot tell a wrong passphrase from a modified file; the cause is deliberately dropped.
    throw new CaError('unauthorized', 'wrong key store passphrase, or the key file was modified', {
      code: 'keystorePassphrase',
    });
  } finally {
    key.fill(0);
  }
}

export function parseKeyFile(text: string): KeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw keyFileMalformed('not JSON');
  }
  if (!isRecord(value) || value['format'] !== KEY_FILE_FORMAT) throw keyFileMalformed('unknown format');
  const { label, algorithm, publicKeySpki, privateKey } = value;
  if (typeof label !== 'string' || typeof publicKeySpki !== 'string') throw keyFileMalformed('label or public key');
  if (!isKeyAlgorithm(algorithm)) throw keyFileMalformed('algorithm');
  if (!isSealedPrivateKey(privateKey)) throw keyFileMalformed('private key');
  return { format: KEY_FILE_FORMAT, label, algorithm, publicKeySpki, privateKey };
}

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
  if (!isRecord(value)) return false;
  if (value['kind'] === 'rsa') return [2048, 3072, 4096].includes(value['bits'] as number);
  if (value['kind'] === 'ec') return value['curve'] === 'P-256' || value['curve'] === 'P-384';
  return false;
}

function isSealedPrivateKey(value: unknown): value is SealedPrivateKey {
  if (!isRecord(value)) return false;
  const { kdf, cipher, N, r, p, salt, iv, tag, ciphertext } = value;
  const log2N = typeof N === 'number' ? Math.log2(N) : NaN;
  return (
    kdf === 'scrypt' &&
    cipher === 'aes-256-gcm' &&
    Number.isInteger(log2N) &&
    log2N >= MIN_LOG2_N &&
    log2N <= MAX_LOG2_N &&
    r === 8 &&
    p === 1 &&
    [salt, iv, tag, ciphertext].every((field) => typeof field === 'string')
  );
}

/** A fixed, unambiguous encoding of the public part (JSON key order is not something to sign). */
function associatedData(part: PublicPart): Buffer {
  const algorithm = part.algorithm.kind === 'rsa' ? `rsa-${part.algorithm.bits}` : `ec-${part.algorithm.curve}`;
  return Buffer.from(JSON.stringify([part.format, part.label, algorithm, part.publicKeySpki]), 'utf8');
}

function deriveKey(passphrase: Uint8Array, salt: Uint8Array, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = { ...parameters, maxmem: 256 * parameters.N * parameters.r };
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 32, options, (error, key) => {
      if (error) reject(new CaError('internal', 'scrypt key derivation failed', { cause: error }));
      else resolve(key);
    });
  });
}

function keyFileMalformed(what: string): CaError {
  return new CaError('malformed', `key file is malformed (${what})`, { code: 'keyFileMalformed' });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
