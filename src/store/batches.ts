import { sql } from 'kysely';
import type { Executor } from './transaction.js';

export interface BatchRecord {
  id: string;
  principal: string;
  clientId: string;
  itemCount: number;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface BatchItemInput {
  seq: number;
  itemId: string;
  profile: string;
  holder: unknown;
  csr: string;
  cardNumber: string | null;
}

export interface BatchItemRecord extends BatchItemInput {
  state: 'queued' | 'issued' | 'failed';
  serial: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export async function insertBatch(db: Executor, b: BatchRecord, items: BatchItemInput[]): Promise<void> {
  await db
    .insertInto('batch')
    .values({ id: b.id, principal: b.principal, client_id: b.clientId, item_count: b.itemCount, created_at: b.createdAt, finished_at: null })
    .execute();
  for (let i = 0; i < items.length; i += 200) {
    await db
      .insertInto('batch_item')
      .values(
        items.slice(i, i + 200).map((it) => ({
          batch_id: b.id,
          seq: it.seq,
          item_id: it.itemId,
          profile: it.profile,
          holder: JSON.stringify(it.holder),
          csr: it.csr,
          card_number: it.cardNumber,
          state: 'queued' as const,
          serial: null,
          error_code: null,
          error_message: null,
          finished_at: null,
        })),
      )
      .execute();
  }
}

export async function findBatchByClientId(db: Executor, principal: string, clientId: string): Promise<BatchRecord | null> {
  const r = await db.selectFrom('batch').selectAll().where('principal', '=', principal).where('client_id', '=', clientId).executeTakeFirst();
  return r ? toBatch(r) : null;
}

export async function findBatch(db: Executor, id: string): Promise<BatchRecord | null> {
  const r = await db.selectFrom('batch').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toBatch(r) : null;
}

export async function listBatchItems(db: Executor, batchId: string, f: { fromSeq?: number; toSeq?: number; state?: BatchItemRecord['state'] } = {}): Promise<BatchItemRecord[]> {
  let q = db.selectFrom('batch_item').selectAll().where('batch_id', '=', batchId).orderBy('seq');
  if (f.fromSeq !== undefined) q = q.where('seq', '>=', f.fromSeq);
  if (f.toSeq !== undefined) q = q.where('seq', '<', f.toSeq);
  if (f.state) q = q.where('state', '=', f.state);
  return (await q.execute()).map((r) => ({
    seq: r.seq,
    itemId: r.item_id,
    profile: r.profile,
    holder: r.holder,
    csr: r.csr,
    cardNumber: r.card_number,
    state: r.state,
    serial: r.serial,
    errorCode: r.error_code,
    errorMessage: r.error_message,
  }));
}

/** Takes an item for `until`, unless it is answered or another worker's lease still runs. */
export async function claimBatchItem(db: Executor, batchId: string, seq: number, now: Date, until: Date): Promise<boolean> {
  const r = await db
    .updateTable('batch_item')
    .set({ claimed_until: until })
    .where('batch_id', '=', batchId)
    .where('seq', '=', seq)
    .where('state', '=', 'queued')
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function finishBatchItem(
  db: Executor,
  batchId: string,
  seq: number,
  outcome: { serial: string } | { errorCode: string; errorMessage: string },
  at: Date,
): Promise<void> {
  await db
    .updateTable('batch_item')
    .set('serial' in outcome
      ? { state: 'issued', serial: outcome.serial, finished_at: at }
      : { state: 'failed', error_code: outcome.errorCode, error_message: outcome.errorMessage.slice(0, 500), finished_at: at })
    .where('batch_id', '=', batchId)
    .where('seq', '=', seq)
    .where('state', '=', 'queued')
    .execute();
}

export async function batchCounts(db: Executor, batchId: string): Promise<{ queued: number; issued: number; failed: number }> {
  const rows = await db.selectFrom('batch_item').select(['state', sql<string>`count(*)`.as('n')]).where('batch_id', '=', batchId).groupBy('state').execute();
  const counts = { queued: 0, issued: 0, failed: 0 };
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}

/** Items of every batch still waiting for a certificate: the bulk-issuance queue depth (partial index batch_item_queued). */
export async function countQueuedBatchItems(db: Executor): Promise<number> {
  const r = await db.selectFrom('batch_item').select(sql<string>`count(*)`.as('n')).where('state', '=', 'queued').executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function markBatchFinished(db: Executor, batchId: string, at: Date): Promise<void> {
  await db.updateTable('batch').set({ finished_at: at }).where('id', '=', batchId).where('finished_at', 'is', null).execute();
}

/** The certificate a batch already made for a key (a worker that died after signing, before recording the item). */
export async function findCertificateOfBatchKey(db: Executor, batchTag: string, spkiSha256: Uint8Array): Promise<string | null> {
  const r = await db
    .selectFrom('certificate')
    .select('serial')
    .where('spki_sha256', '=', spkiSha256)
    .where('batch', '=', batchTag)
    .where('status', 'in', ['active', 'suspended', 'revoked'])
    .executeTakeFirst();
  return r?.serial ?? null;
}

function toBatch(r: { id: string; principal: string; client_id: string; item_count: number; created_at: Date; finished_at: Date | null }): BatchRecord {
  return { id: r.id, principal: r.principal, clientId: r.client_id, itemCount: r.item_count, createdAt: r.created_at, finishedAt: r.finished_at };
}
