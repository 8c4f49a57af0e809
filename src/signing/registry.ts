import { CaError, isCaError } from '../errors.js';
import type { KeyAlgorithm, KeyStore, Signer } from './types.js';

/** Told of every key store call that failed with hsmUnavailable (the HSM-errors metric). */
export type HsmErrorHook = (operation: 'open' | 'sign' | 'generate') => void;

/**
 * Picks the key store for a key URI by its scheme ("pkcs11:…" or "file:…"), so a CA whose key was
 * made in the HSM keeps using the HSM whatever the default for new keys is. Signers are opened
 * once and kept: parsing a key or logging in per signature would cost more than the signature.
 */
export class KeyRegistry {
  private readonly signers = new Map<string, Promise<Signer>>();

  constructor(
    private readonly stores: { pkcs11?: () => Promise<KeyStore>; software?: () => Promise<KeyStore> },
    private readonly defaultForNewKeys: 'pkcs11' | 'software',
    private readonly onHsmError?: HsmErrorHook,
  ) {}

  private readonly opened = new Map<string, Promise<KeyStore>>();

  get defaultBackend(): 'pkcs11' | 'software' {
    return this.defaultForNewKeys;
  }

  private store(kind: 'pkcs11' | 'software'): Promise<KeyStore> {
    let s = this.opened.get(kind);
    if (!s) {
      const open = this.stores[kind];
      if (!open) {
        throw new CaError('hsmUnavailable', `no ${kind} key store is configured`, { code: 'keyStoreNotConfigured' });
      }
      s = open();
      s.catch((e: unknown) => {
        this.opened.delete(kind);
        this.noteError('open', e);
      });
      this.opened.set(kind, s);
    }
    return s;
  }

  async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer> {
    const store = await this.store(this.defaultForNewKeys);
    const signer = this.observed(await store.generateKey(label, algorithm).catch((e: unknown) => this.rethrow('generate', e)));
    this.signers.set(signer.keyUri, Promise.resolve(signer));
    return signer;
  }

  openSigner(keyUri: string): Promise<Signer> {
    let s = this.signers.get(keyUri);
    if (!s) {
      s = this.store(schemeOf(keyUri)).then((store) => store.openSigner(keyUri).then((signer) => this.observed(signer), (e: unknown) => this.rethrow('open', e)));
      s.catch(() => this.signers.delete(keyUri));
      this.signers.set(keyUri, s);
    }
    return s;
  }

  /** Readiness: the opened stores' own checks (PKCS#11: the token is still there). */
  async check(): Promise<void> {
    for (const store of await Promise.all([...this.opened.values()])) await store.check?.();
  }

  /** With a hook, signers report their hsmUnavailable failures; without, they are returned as they are. */
  private observed(signer: Signer): Signer {
    if (!this.onHsmError) return signer;
    return {
      keyUri: signer.keyUri,
      algorithm: signer.algorithm,
      publicKeySpki: signer.publicKeySpki,
      sign: (data) => signer.sign(data).catch((e: unknown) => this.rethrow('sign', e)),
    };
  }

  private rethrow(operation: 'open' | 'sign' | 'generate', e: unknown): never {
    this.noteError(operation, e);
    throw e;
  }

  private noteError(operation: 'open' | 'sign' | 'generate', e: unknown): void {
    if (isCaError(e) && e.kind === 'hsmUnavailable') this.onHsmError?.(operation);
  }

  async close(): Promise<void> {
    const stores = await Promise.allSettled([...this.opened.values()]);
    this.opened.clear();
    this.signers.clear();
    for (const s of stores) if (s.status === 'fulfilled') await s.value.close();
  }
}

function schemeOf(keyUri: string): 'pkcs11' | 'software' {
  if (keyUri.startsWith('pkcs11:')) return 'pkcs11';
  if (keyUri.startsWith('file:')) return 'software';
  throw new CaError('malformed', 'unknown key URI scheme', { code: 'unknownKeyUri' });
}
