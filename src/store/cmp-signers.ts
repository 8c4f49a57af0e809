import type { Executor } from './transaction.js';

export interface CmpSignerRecord {
  caName: string;
  keyUri: string;
  certificateSerial: string;
  certificateDer: Uint8Array;
}

/** Returns false when the CA already has one (another node made it first). */
export async function insertCmpSigner(db: Executor, s: { caName: string; keyUri: string; certificateSerial: string; createdAt: Date }): Promise<boolean> {
  const r = await db
    .insertInto('cmp_signer')
    .values({ ca_name: s.caName, key_uri: s.keyUri, certificate_serial: s.certificateSerial, created_at: s.createdAt })
    .onConflict((oc) => oc.column('ca_name').doNothing())
    .returning('ca_name')
    .executeTakeFirst();
  return r !== undefined;
}

export async function findCmpSigner(db: Executor, caName: string): Promise<CmpSignerRecord | null> {
  const r = await db
    .selectFrom('cmp_signer')
    .innerJoin('certificate', 'certificate.serial', 'cmp_signer.certificate_serial')
    .select(['cmp_signer.ca_name', 'cmp_signer.key_uri', 'cmp_signer.certificate_serial', 'certificate.der'])
    .where('cmp_signer.ca_name', '=', caName)
    .executeTakeFirst();
  return r && r.der ? { caName: r.ca_name, keyUri: r.key_uri, certificateSerial: r.certificate_serial, certificateDer: r.der } : null;
}
