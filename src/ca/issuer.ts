import type { LoadedCa } from './directory.js';
import type { Issuer } from './record-and-sign.js';

export async function issuerOf(ca: LoadedCa): Promise<Issuer> {
  return {
    caName: ca.record.name,
    nameDer: ca.certificate.subjectNameDer,
    spki: ca.certificate.subjectPublicKeySpki,
    signer: await ca.signer(),
  };
}
