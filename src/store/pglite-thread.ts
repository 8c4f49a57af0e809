import { Worker } from 'node:worker_threads';
import type { CompiledQuery, DatabaseConnection, Driver, QueryResult, TransactionSettings } from 'kysely';
import { CaError } from '../errors.js';

/**
 * The embedded PGlite, run on a worker thread of its own (pglite-worker.mjs) and reached by
 * messages. PGlite executes SQL as WebAssembly on whichever thread calls it: on the server's
 * thread every query of a batch was CPU the OCSP responder and the desks waited behind (measured:
 * the event loop was away 20 ms or more during 92% of a batch run). Off that thread a query is
 * I/O to the server, as with PostgreSQL, and uses the second core.
 */
export class PGliteThread {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  private nextId = 1;
  /** Set once the thread is gone: every later call fails with it. */
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => this.settle(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`the embedded database thread ended (exit code ${code})`)));
    // Idle, the thread must not keep a finished process alive; busy, it must (see call()).
    worker.unref();
  }

  /** Starts the thread and opens the database in `directory` (null: in memory). */
  static async open(directory: string | null): Promise<PGliteThread> {
    const worker = new Worker(workerScript(), { workerData: { directory } });
    let onMessage!: (m: { ready: true } | { ready: false; error: PlainError }) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const opened = await new Promise<{ ready: true } | { ready: false; error: unknown }>((resolve) => {
      onMessage = (m) => resolve(m.ready ? m : { ready: false, error: revive(m.error) });
      onError = (error) => resolve({ ready: false, error });
      onExit = (code) => resolve({ ready: false, error: new Error(`the embedded database thread ended (exit code ${code})`) });
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    });
    // Removed one by one: removeAllListeners() would also drop the Worker's own listeners, which
    // start its message port when a 'message' listener is added (the next one would hear nothing).
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    if (!opened.ready) {
      await worker.terminate();
      throw opened.error;
    }
    return new PGliteThread(worker);
  }

  query(sql: string, params: readonly unknown[]): Promise<RawResult> {
    return this.call({ op: 'query', sql, params }) as Promise<RawResult>;
  }

  /** Several statements in one text (simple protocol): the rows of the last. */
  exec(sql: string): Promise<RawResult> {
    return this.call({ op: 'exec', sql }) as Promise<RawResult>;
  }

  /** The thread's own memory: PGlite's WebAssembly memory and the thread's V8 heap, bytes. */
  memory(): Promise<{ webAssembly: number; heap: number }> {
    return this.call({ op: 'memory' }) as Promise<{ webAssembly: number; heap: number }>;
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await this.call({ op: 'close' });
    await this.worker.terminate();
  }

  private call(message: { op: 'query' | 'exec' | 'memory' | 'close'; sql?: string; params?: readonly unknown[] }): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(revive(reply.error));
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    this.failure = new CaError('internal', 'the embedded database stopped', { code: 'embeddedDatabaseFailed', cause });
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}

export interface RawResult {
  rows: unknown[];
  affectedRows: number | null;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: PlainError };

interface PlainError {
  name: string;
  message: string;
  stack?: string;
  cause?: PlainError;
  [field: string]: unknown;
}

/** The worker's error as an Error again, with its fields (code, constraint, path…) and cause chain. */
function revive(plain: PlainError): Error {
  const { name, message, stack, cause, ...fields } = plain;
  const error = Object.assign(new Error(message, cause ? { cause: revive(cause) } : undefined), fields);
  error.name = name;
  if (stack) error.stack = stack;
  return error;
}

/**
 * The worker's script: beside this module in the sources; beside the CLI bundle when running
 * from it (cli/build.mjs copies it there).
 */
function workerScript(): URL {
  return new URL('./pglite-worker.mjs', import.meta.url);
}

/**
 * Kysely's driver over the thread: one connection, as PGlite is one session. Transactions are
 * BEGIN/COMMIT/ROLLBACK on it; callers take turns through SerializedDriver (database.ts). No
 * savepoints (nothing here nests transactions): Kysely refuses them for this driver.
 */
export class PGliteThreadDriver implements Driver {
  private readonly connection: DatabaseConnection;

  constructor(private readonly thread: PGliteThread) {
    this.connection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        const { rows, affectedRows } = await thread.query(query.sql, query.parameters);
        return { rows: rows as R[], ...(affectedRows !== null ? { numAffectedRows: BigInt(affectedRows) } : {}) };
      },
      streamQuery: () => {
        throw new Error('streaming is not supported on the embedded database');
      },
    };
  }

  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }
  async releaseConnection(): Promise<void> {}

  async beginTransaction(_connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const mode = [
      settings.isolationLevel ? `isolation level ${settings.isolationLevel}` : '',
      settings.accessMode ? settings.accessMode : '',
    ].filter(Boolean);
    await this.thread.query(mode.length ? `start transaction ${mode.join(', ')}` : 'begin', []);
  }
  async commitTransaction(): Promise<void> {
    await this.thread.query('commit', []);
  }
  async rollbackTransaction(): Promise<void> {
    await this.thread.query('rollback', []);
  }
  async destroy(): Promise<void> {
    await this.thread.close();
  }
}
