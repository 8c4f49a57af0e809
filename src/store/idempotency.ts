import type { Executor } from './transaction.js';

export interface IdempotentRequest {
  fingerprint: Uint8Array;
  state: 'started' | 'done';
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
}

/** Starts a request under its key; false when the key already exists (see findIdempotentRequest). */
export async function startIdempotentRequest(db: Executor, principal: string, key: string, fingerprint: Uint8Array, at: Date): Promise<boolean> {
  const row = await db
    .insertInto('idempotent_request')
    .values({ principal, key, fingerprint, state: 'started', response_status: null, response_body: null, created_at: at })
    .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

/** Takes over a request left `started` before `staleBefore` (its process died); false if someone else did. */
export async function restartIdempotentRequest(db: Executor, principal: string, key: string, at: Date, staleBefore: Date): Promise<boolean> {
  const r = await db
    .updateTable('idempotent_request')
    .set({ created_at: at })
    .where('principal', '=', principal)
    .where('key', '=', key)
    .where('state', '=', 'started')
    .where('created_at', '<', staleBefore)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function findIdempotentRequest(db: Executor, principal: string, key: string): Promise<IdempotentRequest | null> {
  const row = await db.selectFrom('idempotent_request').selectAll().where('principal', '=', principal).where('key', '=', key).executeTakeFirst();
  return row
    ? { fingerprint: row.fingerprint, state: row.state, responseStatus: row.response_status, responseBody: row.response_body, createdAt: row.created_at }
    : null;
}

export async function finishIdempotentRequest(db: Executor, principal: string, key: string, status: number, body: unknown): Promise<void> {
  await db
    .updateTable('idempotent_request')
    .set({ state: 'done', response_status: status, response_body: JSON.stringify(body ?? null) })
    .where('principal', '=', principal)
    .where('key', '=', key)
    .execute();
}

export async function forgetIdempotentRequest(db: Executor, principal: string, key: string): Promise<void> {
  await db.deleteFrom('idempotent_request').where('principal', '=', principal).where('key', '=', key).where('state', '=', 'started').execute();
}

export async function purgeIdempotentRequests(db: Executor, before: Date): Promise<number> {
  const r = await db.deleteFrom('idempotent_request').where('created_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
