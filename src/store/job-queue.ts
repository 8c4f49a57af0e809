import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import { executeRaw, type Db } from './database.js';
import type { Executor } from './transaction.js';

/**
 * pg-boss 10 ends a job with `this.complete(…)` / `this.fail(…)` without awaiting them: with the
 * database away at that moment the rejection is unhandled and Node ends the process. Mark those
 * promises handled (the caller who awaits one still sees its rejection) and report through the
 * queue's 'error' event; the job stays active and runs again after its expiry, which our jobs allow.
 */
function guardUnawaitedCompletions(): void {
  const Manager = createRequire(import.meta.url)('pg-boss/src/manager.js') as { prototype: Record<string, unknown> };
  for (const name of ['complete', 'fail']) {
    const original = Manager.prototype[name] as ((...args: unknown[]) => Promise<unknown>) & { guarded?: true };
    if (original.guarded) continue;
    const guarded = function (this: { emit(event: string, e: unknown): void }, ...args: unknown[]): Promise<unknown> {
      const result = original.apply(this, args);
      result.catch((e: unknown) => this.emit('error', e));
      return result;
    };
    Manager.prototype[name] = Object.assign(guarded, { guarded: true as const });
  }
}
guardUnawaitedCompletions();

/**
 * Background work on a Postgres job queue (pg-boss), so several workers, processes or machines
 * share it and a job survives a crash (architecture.md "Scale-out"). pg-boss speaks SQL itself;
 * it reaches the database through the same Db (one connection on the embedded PGlite, taking
 * turns with everything else), and a job can be sent inside a caller's transaction, so it exists
 * exactly when the change that needs it does.
 */
export interface JobQueue {
  /** Queues a job; with `tx`, as part of that transaction. */
  send(name: string, data: object, options?: { tx?: Executor; retryLimit?: number; singletonKey?: string }): Promise<string | null>;
  work<T extends object>(name: string, options: { concurrency: number; pollingIntervalSeconds?: number }, handler: (data: T) => Promise<void>): Promise<void>;
  /** Jobs waiting or running, for metrics and tests. */
  pending(name: string): Promise<number>;
  stop(): Promise<void>;
}

export const JOB_QUEUES = ['batch-chunk'] as const;

export async function openJobQueue(db: Db, schema: string, onError: (e: unknown) => void): Promise<JobQueue> {
  const boss = new PgBoss({
    db: { executeSql: (text, values) => executeRaw(db, text, values ?? []) },
    schema,
    // The embedded database is one connection: keep maintenance and polling light.
    supervise: true,
    maintenanceIntervalSeconds: 120,
  });
  boss.on('error', onError);
  await boss.start();
  for (const name of JOB_QUEUES) {
    // A job whose worker died is taken up again after expireInSeconds; its items are leased one by
    // one (src/ra/batches.ts), so a slow but living worker and its successor never sign the same item.
    if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, retryLimit: 50, retryDelay: 10, retryBackoff: false, expireInSeconds: 120 });
  }
  return {
    async send(name, data, options = {}) {
      const { tx, ...rest } = options;
      return boss.send(name, data, { ...rest, ...(tx ? { db: { executeSql: (text: string, values: unknown[]) => executeRaw(tx, text, values ?? []) } } : {}) });
    },
    async work(name, options, handler) {
      for (let i = 0; i < options.concurrency; i++) {
        await boss.work<object>(name, { pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1, batchSize: 1 }, async (jobs) => {
          for (const job of jobs) await handler(job.data as never);
        });
      }
    },
    async pending(name) {
      return boss.getQueueSize(name);
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    },
  };
}
