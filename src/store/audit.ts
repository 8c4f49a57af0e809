import { sql, type Selectable } from 'kysely';
import type { AuditEventTable } from './schema.js';
import type { Executor } from './transaction.js';

/** Any constant works; it names the one lock that orders audit appends (pg_advisory_xact_lock). */
const AUDIT_CHAIN_LOCK = 0x65_69_6d_7a_61; // "eimza"

export interface AuditRow {
  seq: string;
  occurredAt: Date;
  actor: string;
  action: string;
  caName: string | null;
  serial: string | null;
  details: unknown;
  prevHash: Uint8Array;
  hash: Uint8Array;
}

/**
 * The chain lock alone, until the end of the transaction (re-entrant: taking it again in the same
 * transaction is free). Every status change holds it, so it also orders status_seq.
 */
export async function lockAuditChain(tx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`.execute(tx);
}

/**
 * Takes the chain lock for the rest of the transaction and returns the current head. Callers
 * append right after, so the lock is held only for the insert and the commit.
 */
export async function lockAuditHead(tx: Executor): Promise<{ seq: bigint; hash: Uint8Array | null }> {
  await lockAuditChain(tx);
  const head = await tx
    .selectFrom('audit_event')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return head ? { seq: BigInt(head.seq), hash: head.hash } : { seq: 0n, hash: null };
}

export async function insertAuditRows(tx: Executor, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insertInto('audit_event')
    .values(
      rows.map((r) => ({
        seq: r.seq,
        occurred_at: r.occurredAt,
        actor: r.actor,
        action: r.action,
        ca_name: r.caName,
        serial: r.serial,
        details: JSON.stringify(r.details ?? null),
        prev_hash: r.prevHash,
        hash: r.hash,
      })),
    )
    .execute();
}

/** Reads the log in seq order, a page at a time, so verifying a large log stays in bounded memory. */
export async function* readAuditLog(db: Executor, pageSize = 5000): AsyncGenerator<AuditRow> {
  let after = '0';
  for (;;) {
    const rows = await db
      .selectFrom('audit_event')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of rows) yield toAuditRow(r);
    if (rows.length < pageSize) return;
    after = String(rows[rows.length - 1]!.seq);
  }
}

export async function listAuditForSerial(db: Executor, serial: string): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  const rows = await db.selectFrom('audit_event').selectAll().where('serial', '=', serial).orderBy('seq').execute();
  for (const r of rows) out.push(toAuditRow(r));
  return out;
}

/** A page of the log for readers (auditors): after a sequence number, optionally for one serial or action prefix. */
export async function listAuditEvents(db: Executor, f: { afterSeq: string; limit: number; serial?: string; actionPrefix?: string }): Promise<AuditRow[]> {
  let q = db.selectFrom('audit_event').selectAll().where('seq', '>', f.afterSeq).orderBy('seq').limit(f.limit);
  if (f.serial) q = q.where('serial', '=', f.serial);
  if (f.actionPrefix) q = q.where('action', 'like', `${f.actionPrefix.replace(/[%_\\]/g, '\\$&')}%`);
  const rows = await q.execute();
  return rows.map(toAuditRow);
}

function toAuditRow(r: Selectable<AuditEventTable>): AuditRow {
  return {
    seq: String(r.seq),
    occurredAt: r.occurred_at,
    actor: r.actor,
    action: r.action,
    caName: r.ca_name,
    serial: r.serial,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
