import type { Executor } from './transaction.js';

export interface CaRecord {
  name: string;
  kind: 'root' | 'issuing';
  parentName: string | null;
  keyUri: string;
  certificateSerial: string;
  ocspKeyUri: string | null;
  ocspCertificateSerial: string | null;
  createdAt: Date;
}

export async function insertCa(db: Executor, ca: CaRecord): Promise<void> {
  await db
    .insertInto('ca')
    .values({
      name: ca.name,
      kind: ca.kind,
      parent_name: ca.parentName,
      key_uri: ca.keyUri,
      certificate_serial: ca.certificateSerial,
      ocsp_key_uri: ca.ocspKeyUri,
      ocsp_certificate_serial: ca.ocspCertificateSerial,
      created_at: ca.createdAt,
    })
    .execute();
}

export async function setOcspSigner(db: Executor, caName: string, keyUri: string, serial: string): Promise<void> {
  await db
    .updateTable('ca')
    .set({ ocsp_key_uri: keyUri, ocsp_certificate_serial: serial })
    .where('name', '=', caName)
    .execute();
}

/** With the DER of each CA's own certificate and of its OCSP signer's. */
export async function listCas(db: Executor): Promise<(CaRecord & { certificateDer: Uint8Array; ocspCertificateDer: Uint8Array | null })[]> {
  const rows = await db
    .selectFrom('ca')
    .innerJoin('certificate as own', 'own.serial', 'ca.certificate_serial')
    .leftJoin('certificate as ocsp', 'ocsp.serial', 'ca.ocsp_certificate_serial')
    .select([
      'ca.name',
      'ca.kind',
      'ca.parent_name',
      'ca.key_uri',
      'ca.certificate_serial',
      'ca.ocsp_key_uri',
      'ca.ocsp_certificate_serial',
      'ca.created_at',
      'own.der as own_der',
      'ocsp.der as ocsp_der',
    ])
    .orderBy('ca.created_at')
    .orderBy('ca.name')
    .execute();
  return rows.map((r) => ({
    name: r.name,
    kind: r.kind,
    parentName: r.parent_name,
    keyUri: r.key_uri,
    certificateSerial: r.certificate_serial,
    ocspKeyUri: r.ocsp_key_uri,
    ocspCertificateSerial: r.ocsp_certificate_serial,
    createdAt: r.created_at,
    certificateDer: r.own_der ?? new Uint8Array(),
    ocspCertificateDer: r.ocsp_der ?? null,
  }));
}
