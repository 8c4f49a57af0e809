import type { Clock } from '../clock.js';
import { insertAuditRows, lockAuditHead, readAuditLog, type AuditRow } from '../store/audit.js';
import type { Executor } from '../store/transaction.js';
import { ChainVerifier, GENESIS_HASH, hashEvent, type ChainVerdict } from './chain.js';

export interface AuditEventInput {
  actor: string;
  action: string;
  caName?: string | null;
  serial?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Appends events to the chain inside the caller's transaction (the same transaction as the
 * change they describe). Call it last in the transaction: it holds the chain lock until commit.
 */
export async function appendAudit(tx: Executor, clock: Clock, events: AuditEventInput[]): Promise<void> {
  if (events.length === 0) return;
  const head = await lockAuditHead(tx);
  let prevHash = head.hash ?? GENESIS_HASH;
  let seq = head.seq;
  const occurredAt = clock.now();
  const rows: AuditRow[] = events.map((e) => {
    seq += 1n;
    const content = {
      seq: seq.toString(),
      occurredAt,
      actor: e.actor,
      action: e.action,
      caName: e.caName ?? null,
      serial: e.serial ?? null,
      details: e.details ?? {},
    };
    const hash = hashEvent(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
  await insertAuditRows(tx, rows);
}

export async function verifyAuditLog(db: Executor, onProgress?: (checked: number) => void): Promise<ChainVerdict> {
  const verifier = new ChainVerifier();
  let n = 0;
  for await (const row of readAuditLog(db)) {
    if (!verifier.add(row)) break;
    if (++n % 10000 === 0) onProgress?.(n);
  }
  return verifier.verdict();
}
