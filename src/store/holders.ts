import { randomUUID } from 'node:crypto';
import type { Executor } from './transaction.js';

export interface HolderUpsert {
  identityKey: string;
  kind: string;
  displayName: string;
}

/** Finds or creates each holder by identity; returns identityKey -> stable id. */
export async function upsertHolders(db: Executor, holders: HolderUpsert[], at: Date): Promise<Map<string, string>> {
  // One row per identity: Postgres refuses to update the same row twice in one statement.
  // Sorted, so concurrent batches lock holder rows in one order and cannot deadlock.
  const unique = [...new Map(holders.map((h) => [h.identityKey, h])).values()].sort((a, b) => (a.identityKey < b.identityKey ? -1 : 1));
  if (unique.length === 0) return new Map();
  const rows = await db
    .insertInto('holder')
    .values(unique.map((h) => ({ id: randomUUID(), identity_key: h.identityKey, kind: h.kind, display_name: h.displayName, created_at: at })))
    .onConflict((oc) => oc.column('identity_key').doUpdateSet((eb) => ({ display_name: eb.ref('excluded.display_name') })))
    .returning(['id', 'identity_key'])
    .execute();
  return new Map(rows.map((r) => [r.identity_key, r.id]));
}
