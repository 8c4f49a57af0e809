import { randomUUID } from 'node:crypto';
import type { Executor } from './transaction.js';

/** Finds or creates the holder with this identity; returns its stable id. */
export async function upsertHolder(
  db: Executor,
  h: { identityKey: string; kind: string; displayName: string; at: Date },
): Promise<string> {
  const row = await db
    .insertInto('holder')
    .values({ id: randomUUID(), identity_key: h.identityKey, kind: h.kind, display_name: h.displayName, created_at: h.at })
    .onConflict((oc) => oc.column('identity_key').doUpdateSet({ display_name: h.displayName }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
