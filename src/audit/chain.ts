import { createHash } from 'node:crypto';

/**
 * The audit log is a hash chain: each event's hash covers its own content and the previous
 * event's hash, so changing or removing any row breaks every hash after it.
 *   hash_n = SHA-256( hash_{n-1} || canonical-JSON(event_n) ),  hash_0's predecessor = 32 zero bytes
 */
export interface AuditEventContent {
  seq: string;
  occurredAt: Date;
  actor: string;
  action: string;
  caName: string | null;
  serial: string | null;
  details: unknown;
}

export interface ChainedAuditEvent extends AuditEventContent {
  prevHash: Uint8Array;
  hash: Uint8Array;
}

export const GENESIS_HASH = new Uint8Array(32);

export function hashEvent(prevHash: Uint8Array, e: AuditEventContent): Uint8Array {
  const content = canonicalJson({
    seq: e.seq,
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    action: e.action,
    caName: e.caName,
    serial: e.serial,
    details: e.details ?? null,
  });
  return createHash('sha256').update(prevHash).update(content, 'utf8').digest();
}

/** JSON with object keys sorted at every level: what jsonb hands back must hash the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export type ChainVerdict =
  | { ok: true; count: number; headHash: string | null }
  | { ok: false; count: number; firstBadSeq: string; problem: string };

/**
 * Walks events in seq order. Sequence numbers are assigned without gaps under a lock, so a gap
 * is a removed row; a hash mismatch is an altered row (or the row after a removed one).
 */
export class ChainVerifier {
  private expectedSeq = 1n;
  private prevHash: Uint8Array = GENESIS_HASH;
  private count = 0;
  private failure: Extract<ChainVerdict, { ok: false }> | null = null;

  add(e: ChainedAuditEvent): boolean {
    if (this.failure) return false;
    const seq = BigInt(e.seq);
    if (seq !== this.expectedSeq) {
      return this.fail(this.expectedSeq.toString(), `event ${this.expectedSeq} is missing (next is ${seq})`);
    }
    if (!bytesEqual(e.prevHash, this.prevHash)) {
      return this.fail(e.seq, `event ${e.seq} does not link to event ${seq - 1n}`);
    }
    if (!bytesEqual(hashEvent(e.prevHash, e), e.hash)) {
      return this.fail(e.seq, `event ${e.seq} was altered (its hash does not match its content)`);
    }
    this.prevHash = e.hash;
    this.expectedSeq = seq + 1n;
    this.count++;
    return true;
  }

  verdict(): ChainVerdict {
    if (this.failure) return this.failure;
    return { ok: true, count: this.count, headHash: this.count ? Buffer.from(this.prevHash).toString('hex') : null };
  }

  private fail(firstBadSeq: string, problem: string): false {
    this.failure = { ok: false, count: this.count, firstBadSeq, problem };
    return false;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}
