import type { Transaction } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';
import { inTransaction } from './transaction.js';

/**
 * Group commit: callers submit one item each; items that arrive while a transaction is in flight
 * are written together in the next one. Under load a commit (and the audit-chain lock) is paid
 * once per batch instead of once per certificate; an idle caller waits for no one.
 *
 * `work` returns one outcome per item: a value, or an Error for that item alone (the others still
 * commit). If the whole transaction fails, each item is retried in a transaction of its own, so one
 * bad item never takes its neighbours down with it.
 */
export class GroupCommit<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly work: (tx: Transaction<Database>, items: I[]) => Promise<(O | Error)[]>,
    private readonly maxBatch = 200,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // One turn of the event loop first: callers whose work is about to submit (already
        // scheduled) join this batch instead of each paying a commit of their own.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const outcomes = await inTransaction(this.db, ({ tx }) => this.work(tx, batch.map((b) => b.item)));
          batch.forEach((b, i) => settle(b, outcomes[i]));
        } catch (e) {
          if (batch.length === 1) {
            batch[0]!.reject(e);
            continue;
          }
          for (const b of batch) {
            try {
              const [outcome] = await inTransaction(this.db, ({ tx }) => this.work(tx, [b.item]));
              settle(b, outcome);
            } catch (single) {
              b.reject(single);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}

function settle<O>(b: { resolve: (o: O) => void; reject: (e: unknown) => void }, outcome: O | Error | undefined): void {
  if (outcome instanceof Error) b.reject(outcome);
  else b.resolve(outcome as O);
}
