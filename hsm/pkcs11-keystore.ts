import { TokenFlag, type Module, type Slot, type Token } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import type { KeyAlgorithm, KeyStore, Signer } from '../src/signing/types.js';
import { callPkcs11 } from './pkcs11-errors.js';
import { findTokenKey, generateTokenKeyPair, privateKeyLabelExists, type TokenKey } from './pkcs11-keys.js';
import { acquireModule, releaseModule } from './pkcs11-module.js';
import { Pkcs11SessionPool } from './pkcs11-session-pool.js';
import { createPkcs11Signer } from './pkcs11-signer.js';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';

export interface Pkcs11KeyStoreOptions {
  /** Path of the vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** CKA_LABEL of the token (CK_TOKEN_INFO.label) that holds the CA keys. */
  tokenLabel: string;
  /** User PIN, read from a file or the environment by the composition root; never logged. */
  pin: string;
  /** Sessions for concurrent signing (default 8); the libuv pool size also bounds parallelism. */
  maxSessions?: number;
}

const DEFAULT_MAX_SESSIONS = 8;
const MAX_LABEL_LENGTH = 128;

/**
 * Opens the token and logs in once, so that a wrong PIN or a missing token fails at startup
 * rather than at the first signature.
 */
export async function createPkcs11KeyStore(options: Pkcs11KeyStoreOptions): Promise<KeyStore> {
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw new CaError('malformed', 'maxSessions must be a positive integer', { code: 'invalidConfig' });
  }
  const module = acquireModule(options.modulePath);
  let pool: Pkcs11SessionPool | undefined;
  try {
    const { slot, token } = findTokenSlot(module, options.tokenLabel);
    pool = new Pkcs11SessionPool(slot, options.pin, maxSessions);
    await pool.use(() => undefined);
    return pkcs11KeyStore(module, pool, slot, token);
  } catch (error) {
    await pool?.close();
    releaseModule(module);
    throw error;
  }
}

function pkcs11KeyStore(module: Module, pool: Pkcs11SessionPool, slot: Slot, token: Token): KeyStore {
  let closed = false;
  // Serializes generateKey, so two calls with one label cannot both pass the duplicate check.
  let generating: Promise<unknown> = Promise.resolve();

  function signerFor(key: TokenKey): Signer {
    const keyUri = formatPkcs11Uri({ token: token.label, object: key.label, id: key.id, type: 'private' });
    return createPkcs11Signer(pool, keyUri, key, (session) => findTokenKey(session, { id: key.id }));
  }

  return {
    kind: 'pkcs11',

    async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer> {
      checkLabel(label);
      checkAlgorithm(algorithm);
      const generation = generating.then(() =>
        pool.use(async (session) => {
          if (privateKeyLabelExists(session, label)) {
            throw new CaError('conflict', `the token already holds a private key labelled "${label}"`, {
              code: 'keyLabelExists',
            });
          }
          return signerFor(await generateTokenKeyPair(session, label, algorithm));
        }),
      );
      generating = generation.catch(() => undefined);
      return generation;
    },

    async openSigner(keyUri: string): Promise<Signer> {
      const uri = parsePkcs11Uri(keyUri);
      checkUriNamesKeyOfToken(uri, token);
      const key = await pool.use((session) => findTokenKey(session, { id: uri.id, label: uri.object }));
      return signerFor(key);
    },

    /** C_GetTokenInfo on the store's slot: fails (hsmUnavailable) when the token was removed or the device is gone. */
    async check(): Promise<void> {
      if (closed) throw new CaError('hsmUnavailable', 'the PKCS#11 key store is closed', { code: 'hsmUnavailable' });
      const present = callPkcs11('C_GetTokenInfo', () => slot.getToken());
      if (present.label !== token.label) {
        throw new CaError('hsmUnavailable', `the token in the slot is no longer "${token.label}"`, { code: 'hsmTokenNotFound' });
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.close();
      releaseModule(module);
    },
  };
}

function findTokenSlot(module: Module, tokenLabel: string): { slot: Slot; token: Token } {
  const slots = callPkcs11('C_GetSlotList', () => Array.from(module.getSlots(true)));
  for (const slot of slots) {
    const token = callPkcs11('C_GetTokenInfo', () => slot.getToken());
    if (token.label !== tokenLabel) continue;
    if (!(token.flags & TokenFlag.TOKEN_INITIALIZED) || !(token.flags & TokenFlag.USER_PIN_INITIALIZED)) {
      throw new CaError('hsmUnavailable', `token "${tokenLabel}" is not initialized`, { code: 'hsmTokenNotInitialized' });
    }
    return { slot, token };
  }
  throw new CaError('hsmUnavailable', `no token labelled "${tokenLabel}" in the PKCS#11 module`, {
    code: 'hsmTokenNotFound',
  });
}

/**
 * The store is bound to one token by configuration, so URI attributes must agree with it. Slot,
 * library and vendor attributes cannot be checked here and are refused rather than ignored, and
 * a PIN in a URI (pin-value, RFC 7512 §2.3) is refused: PINs come from configuration only.
 */
function checkUriNamesKeyOfToken(uri: Pkcs11Uri, token: Token): void {
  if (uri.queryAttributes.has('pin-value')) {
    throw new CaError('malformed', 'key URIs must not carry a PIN', { code: 'pkcs11UriPinValue' });
  }
  if (uri.otherPathAttributes.size > 0) {
    const names = [...uri.otherPathAttributes.keys()].join(', ');
    throw new CaError('malformed', `unsupported PKCS#11 URI attributes: ${names}`, { code: 'pkcs11UriUnsupported' });
  }
  if (uri.type !== undefined && uri.type !== 'private') {
    throw new CaError('malformed', 'a signing key URI must name a private key (type=private)', {
      code: 'pkcs11UriNotPrivateKey',
    });
  }
  if (uri.id === undefined && uri.object === undefined) {
    throw new CaError('malformed', 'a key URI needs an id or an object label', { code: 'pkcs11UriNoKey' });
  }
  const mismatch =
    (uri.token !== undefined && uri.token !== token.label) ||
    (uri.manufacturer !== undefined && uri.manufacturer !== token.manufacturerID) ||
    (uri.model !== undefined && uri.model !== token.model) ||
    (uri.serial !== undefined && uri.serial !== token.serialNumber);
  if (mismatch) {
    throw new CaError('notFound', 'the key URI names another token than this key store', { code: 'keyNotFound' });
  }
}

function checkLabel(label: string): void {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new CaError('malformed', `key label must be 1 to ${MAX_LABEL_LENGTH} printable characters`, {
      code: 'keyLabelInvalid',
    });
  }
}

function checkAlgorithm(algorithm: KeyAlgorithm): void {
  const supported =
    (algorithm.kind === 'rsa' && [2048, 3072, 4096].includes(algorithm.bits)) ||
    (algorithm.kind === 'ec' && (algorithm.curve === 'P-256' || algorithm.curve === 'P-384'));
  if (!supported) {
    throw new CaError('malformed', 'key algorithm must be RSA 2048/3072/4096 or EC P-256/P-384', {
      code: 'keyAlgorithmUnsupported',
    });
  }
}
