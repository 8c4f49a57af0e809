import { CaError } from '../errors.js';
import type { KeyAlgorithm, KeyStore, Signer } from './types.js';

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
      s.catch(() => this.opened.delete(kind));
      this.opened.set(kind, s);
    }
    return s;
  }

  async generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer> {
    const signer = await (await this.store(this.defaultForNewKeys)).generateKey(label, algorithm);
    this.signers.set(signer.keyUri, Promise.resolve(signer));
    return signer;
  }

  openSigner(keyUri: string): Promise<Signer> {
    let s = this.signers.get(keyUri);
    if (!s) {
      s = this.store(schemeOf(keyUri)).then((store) => store.openSigner(keyUri));
      s.catch(() => this.signers.delete(keyUri));
      this.signers.set(keyUri, s);
    }
    return s;
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
