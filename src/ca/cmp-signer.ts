import { appendAudit } from '../audit/log.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { findCmpSigner, insertCmpSigner } from '../store/cmp-signers.js';
import { inTransaction } from '../store/transaction.js';
import type { CaDeps } from './deps.js';
import { keyLabel, signCaCertificate } from './hierarchy.js';
import { issuerOf } from './issuer.js';

/** The CA whose security servers enrol over CMP. */
export const CMP_CA = 'portal';

export interface CmpSigner {
  signer: Signer;
  certificateDer: Uint8Array;
  /** The signer's certificate, then the CA chain up to the root: the extraCerts of a response. */
  chainDer: Uint8Array[];
}

/**
 * Makes the CMP signer of a CA when it has none: its own key in the key store and a certificate
 * from the CA (profile cmp-signer). Part of `ca init`; `serve` also makes it for a hierarchy
 * created before CMP existed. Two nodes racing: one record wins, the other key is left unused.
 */
export async function ensureCmpSigner(deps: CaDeps, caName: string, algorithm: KeyAlgorithm, actor: string): Promise<void> {
  if (await findCmpSigner(deps.db, caName)) return;
  const ca = await deps.cas.get(caName);
  const key = await deps.keys.generateKey(keyLabel(`${caName}-cmp`), algorithm);
  const commonName = `${ca.certificate.subjectCommonName ?? caName} CMP`;
  const cert = await signCaCertificate(deps, 'cmp-signer', await issuerOf(ca), key, commonName, actor);
  await inTransaction(deps.db, async ({ tx }) => {
    if (await insertCmpSigner(tx, { caName, keyUri: key.keyUri, certificateSerial: cert.serial, createdAt: deps.clock.now() })) {
      await appendAudit(tx, deps.clock, [{ actor, action: 'ca.cmpSignerSet', caName, serial: cert.serial, details: { keyUri: key.keyUri } }]);
    }
  });
}

/** The CMP signer of a CA, or null when it has none yet. */
export async function loadCmpSigner(deps: CaDeps, caName: string): Promise<CmpSigner | null> {
  const record = await findCmpSigner(deps.db, caName);
  if (!record) return null;
  const ca = await deps.cas.get(caName);
  return { signer: await deps.keys.openSigner(record.keyUri), certificateDer: record.certificateDer, chainDer: [record.certificateDer, ...ca.chainDer] };
}
