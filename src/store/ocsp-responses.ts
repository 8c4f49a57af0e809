import { sql } from 'kysely';
import type { Serial } from '../domain/serial.js';
import type { Executor } from './transaction.js';

/** A pre-signed OCSP response: the signed ResponseData and its signature, per CertID hash. */
export interface StoredOcspResponse {
  serial: Serial;
  hash: string;
  caName: string;
  responseData: Uint8Array;
  signature: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The certificate's statusSeq the answer was signed for. */
  statusSeq: bigint;
}

export async function upsertOcspResponses(db: Executor, responses: StoredOcspResponse[]): Promise<void> {
  if (responses.length === 0) return;
  await db
    .insertInto('ocsp_response')
    .values(
      responses.map((r) => ({
        serial: r.serial,
        hash: r.hash,
        ca_name: r.caName,
        response_data: r.responseData,
        signature: r.signature,
        this_update: r.thisUpdate,
        next_update: r.nextUpdate,
        status_seq: r.statusSeq.toString(),
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['serial', 'hash'])
        .doUpdateSet({
          response_data: (eb) => eb.ref('excluded.response_data'),
          signature: (eb) => eb.ref('excluded.signature'),
          this_update: (eb) => eb.ref('excluded.this_update'),
          next_update: (eb) => eb.ref('excluded.next_update'),
          status_seq: (eb) => eb.ref('excluded.status_seq'),
        })
        // Never an answer for an older status over one for a newer.
        .where('ocsp_response.status_seq', '<=', (eb) => eb.ref('excluded.status_seq')),
    )
    .execute();
}

export async function findOcspResponse(db: Executor, serial: Serial, hash: string): Promise<StoredOcspResponse | undefined> {
  const row = await db.selectFrom('ocsp_response').selectAll().where('serial', '=', serial).where('hash', '=', hash).executeTakeFirst();
  return (
    row && {
      serial: row.serial as Serial,
      hash: row.hash,
      caName: row.ca_name,
      responseData: row.response_data,
      signature: row.signature,
      thisUpdate: row.this_update,
      nextUpdate: row.next_update,
      statusSeq: BigInt(row.status_seq),
    }
  );
}

/** Responses signed before `before`, oldest first: what the refresher re-signs next. */
export async function listStaleOcspResponses(db: Executor, before: Date, limit: number): Promise<{ serial: Serial; hash: string; caName: string }[]> {
  const rows = await db
    .selectFrom('ocsp_response')
    .select(['serial', 'hash', 'ca_name'])
    .where('this_update', '<', before)
    .orderBy('this_update')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ serial: r.serial as Serial, hash: r.hash, caName: r.ca_name }));
}

/** Responses of certificates expired before `before` are not refreshed any more. */
export async function deleteOcspResponsesExpiredBefore(db: Executor, before: Date): Promise<number> {
  const result = await sql`
    delete from ocsp_response o using certificate c
     where c.serial = o.serial and c.not_after < ${before}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** A CA's responder changed: its stored answers were signed by the old key and go (re-signed on demand). */
export async function deleteOcspResponsesOfCa(db: Executor, caName: string): Promise<number> {
  const r = await db.deleteFrom('ocsp_response').where('ca_name', '=', caName).executeTakeFirst();
  return Number(r.numDeletedRows);
}
