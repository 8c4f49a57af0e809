import { CaError } from '../errors.js';
import type { Signer } from '../signing/types.js';
import type { KeyRegistry } from '../signing/registry.js';
import { listCas, type CaRecord } from '../store/cas.js';
import type { Executor } from '../store/transaction.js';
import { inspectCertificate, type CertificateInfo } from '../x509/inspect.js';

export interface LoadedCa {
  record: CaRecord;
  certificateDer: Uint8Array;
  certificate: CertificateInfo;
  /** DER of the CA's own certificate, then its parent's, up to the root. */
  chainDer: Uint8Array[];
  ocspCertificateDer: Uint8Array | null;
  signer(): Promise<Signer>;
  ocspSigner(): Promise<Signer>;
}

/**
 * The CA hierarchy as loaded from the database. CA rows change only at `ca init` (and OCSP signer
 * rotation), so they are read once and reloaded on demand, not per request.
 */
export class CaDirectory {
  private byName: Map<string, LoadedCa> | null = null;
  /** Incremented on every reload, so readers that derive from the hierarchy know to rebuild. */
  generation = 0;

  constructor(
    private readonly db: Executor,
    private readonly keys: KeyRegistry,
  ) {}

  async reload(): Promise<void> {
    const rows = await listCas(this.db);
    const map = new Map<string, LoadedCa>();
    for (const r of rows) {
      map.set(r.name, {
        record: r,
        certificateDer: r.certificateDer,
        certificate: inspectCertificate(r.certificateDer),
        chainDer: [],
        ocspCertificateDer: r.ocspCertificateDer,
        signer: () => this.keys.openSigner(r.keyUri),
        ocspSigner: () => {
          if (!r.ocspKeyUri) throw new CaError('notFound', `CA ${r.name} has no OCSP signer`, { code: 'noOcspSigner' });
          return this.keys.openSigner(r.ocspKeyUri);
        },
      });
    }
    for (const ca of map.values()) {
      for (let c: LoadedCa | undefined = ca; c; c = c.record.parentName ? map.get(c.record.parentName) : undefined) {
        ca.chainDer.push(c.certificateDer);
      }
    }
    this.byName = map;
    this.generation++;
  }

  async list(): Promise<LoadedCa[]> {
    if (!this.byName) await this.reload();
    return [...this.byName!.values()];
  }

  async get(name: string): Promise<LoadedCa> {
    if (!this.byName) await this.reload();
    const ca = this.byName!.get(name);
    if (!ca) {
      throw new CaError('notFound', `no CA named ${name}; run \`eimza ca init\` first`, { code: 'caNotFound' });
    }
    return ca;
  }

  async isEmpty(): Promise<boolean> {
    return (await this.list()).length === 0;
  }
}
