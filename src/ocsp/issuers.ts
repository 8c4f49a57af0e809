import type { CaDirectory, LoadedCa } from '../ca/directory.js';
import { issuerHashes, type OcspCertId, type OcspHash } from '../x509/ocsp.js';

/** The CertID hashes answered; SHA-1 is what X-Road and most clients send (RFC 5019 §2.1.1). */
export const ANSWERED_HASHES: readonly OcspHash[] = ['sha1', 'sha256', 'sha384', 'sha512'];
/** The hashes whose responses are pre-signed on every status change; others are signed on demand. */
export const PRESIGNED_HASHES: readonly OcspHash[] = ['sha1', 'sha256'];

export interface OcspIssuer {
  ca: LoadedCa;
  /** Responder certificate to include in every response (the delegated OCSP signer). */
  responderCertificate: Uint8Array;
}

/**
 * Which of our CAs a CertID names, by issuerNameHash + issuerKeyHash for each hash algorithm
 * (RFC 6960 §4.1.1). CAs without an OCSP signer are not answered for (`unauthorized`).
 */
export class IssuerIndex {
  private byKey = new Map<string, OcspIssuer>();
  private byName = new Map<string, OcspIssuer>();

  static async load(cas: CaDirectory): Promise<IssuerIndex> {
    const index = new IssuerIndex();
    for (const ca of await cas.list()) {
      if (!ca.ocspCertificateDer) continue;
      const issuer: OcspIssuer = { ca, responderCertificate: ca.ocspCertificateDer };
      index.byName.set(ca.record.name, issuer);
      for (const hash of ANSWERED_HASHES) {
        const h = issuerHashes(ca.certificate.subjectNameDer, ca.certificate.subjectPublicKeySpki, hash);
        index.byKey.set(key(hash, h.nameHash, h.keyHash), issuer);
      }
    }
    return index;
  }

  find(certId: OcspCertId): OcspIssuer | undefined {
    if (!certId.hash) return undefined;
    return this.byKey.get(key(certId.hash, certId.issuerNameHash, certId.issuerKeyHash));
  }

  get(caName: string): OcspIssuer | undefined {
    return this.byName.get(caName);
  }
}

function key(hash: OcspHash, nameHash: Uint8Array, keyHash: Uint8Array): string {
  return `${hash}:${Buffer.from(nameHash).toString('hex')}:${Buffer.from(keyHash).toString('hex')}`;
}
