import type { Token } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import type { KeyAlgorithm, KeyStore, Signer } from '../src/signing/types.js';
import { findTokenKey, generateTokenKeyPair, privateKeyLabelExists, type TokenKey } from './pkcs11-keys.js';
import { acquireModule, releaseModule } from './pkcs11-module.js';
import { createPkcs11Signer } from './pkcs11-signer.js';
import { TokenConnection } from './pkcs11-token.js';
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
  /** While the token is away, at most one reconnect attempt per this many milliseconds (default 1000). */
  reconnectIntervalMs?: number;
}

const DEFAULT_MAX_SESSIONS = 8;
const DEFAULT_RECONNECT_INTERVAL_MS = 1000;
const MAX_LABEL_LENGTH = 128;

/**
 * Opens the token and logs in once, so that a wrong PIN or a missing token fails at startup
 * rather than at the first signature. Later outages (token removed, sessions lost) are handled
 * by the token connection: operations fail with hsmUnavailable while the token is away, and the
 * store reconnects by itself when it is back (hsm/pkcs11-token.ts).
 */
export async function createPkcs11KeyStore(options: Pkcs11KeyStoreOptions): Promise<KeyStore> {
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw new CaError('malformed', 'maxSessions must be a positive integer', { code: 'invalidConfig' });
  }
  const reconnectIntervalMs = options.reconnectIntervalMs ?? DEFAULT_RECONNECT_INTERVAL_MS;
  if (!Number.isFinite(reconnectIntervalMs) || reconnectIntervalMs < 0) {
    throw new CaError('malformed', 'reconnectIntervalMs must be a non-negative number', { code: 'invalidConfig' });
  }
  const module = acquireModule(options.modulePath);
  const connection = new TokenConnection(module, { tokenLabel: options.tokenLabel, pin: options.pin, maxSessions, reconnectIntervalMs });
  try {
    await connection.open();
  } catch (error) {
    await connection.close();
    releaseModule(module);
    throw error;
  }
  let closed = false;
  return pkcs11KeyStore(connection, async () => {
    if (closed) return;
    closed = true;
    await connection.close();
    releaseModule(module);
  });
}

function pkcs11KeyStore(connection: TokenConnection, close: () => Promise<void>): KeyStore {
  // Serializes generateKey, so two calls with one label cannot both pass the duplicate check.
  let generating: Promise<unknown> = Promise.resolve();

  function signerFor(key: TokenKey, epoch: number): Signer {
    const keyUri = formatPkcs11Uri({ token: connection.token.label, object: key.label, id: key.id, type: 'private' });
    return createPkcs11Signer(connection, keyUri, key, (session) => findTokenKey(session, { id: key.id }), epoch);
  }

  return {
    kind: 'pkcs11',

    async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer> {
      checkLabel(label);
      checkAlgorithm(algorithm);
      const generation = generating.then(() =>
        // Not retried after an outage: the first attempt may have made the key before it failed.
        connection.run(
          async (session, epoch) => {
            if (privateKeyLabelExists(session, label)) {
              throw new CaError('conflict', `the token already holds a private key labelled "${label}"`, {
                code: 'keyLabelExists',
              });
            }
            return signerFor(await generateTokenKeyPair(session, label, algorithm), epoch);
          },
          { retry: false },
        ),
      );
      generating = generation.catch(() => undefined);
      return generation;
    },

    async openSigner(keyUri: string): Promise<Signer> {
      const uri = parsePkcs11Uri(keyUri);
      checkUriNamesKeyOfToken(uri, connection.token);
      return connection.use((session, epoch) => signerFor(findTokenKey(session, { id: uri.id, label: uri.object }), epoch));
    },

    /**
     * C_GetTokenInfo on the store's slot: fails (hsmUnavailable) when the token was removed or
     * the device is gone, and, like every operation, reconnects when that is due.
     */
    check: () => connection.check(),

    close,
  };
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
