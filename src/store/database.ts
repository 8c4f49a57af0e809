import { mkdirSync } from 'node:fs';
import {
  CompiledQuery,
  Kysely,
  type Transaction,
  PGliteAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Dialect,
  sql,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
} from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';
import { migrations } from '../../migrations/index.js';
import { CaError } from '../errors.js';
import { databaseUnavailable, isDatabaseUnavailable } from './pg-errors.js';
import { PGliteThread, PGliteThreadDriver } from './pglite-thread.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export type DatabaseTarget =
  | { kind: 'pglite'; directory: string | null /* null = in memory */ }
  | { kind: 'postgres'; url: string; schema?: string; poolSize?: number };

/**
 * PGlite is one connection (one session, on its own thread: pglite-thread.ts). Given to every
 * caller at once, two concurrent transactions would interleave on it; this mutex makes callers
 * take turns (a query or a whole transaction at a time), as a pool of size one would.
 */
class SerializedDriver implements Driver {
  private queue: Promise<void> = Promise.resolve();
  private readonly releases = new Map<DatabaseConnection, () => void>();

  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = this.queue;
    this.queue = previous.then(() => turn);
    await previous;
    const connection = await this.inner.acquireConnection();
    this.releases.set(connection, release);
    return connection;
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection);
    const release = this.releases.get(connection);
    this.releases.delete(connection);
    release?.();
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** Postgres SQL and introspection over the embedded database's thread, one caller at a time. */
class EmbeddedDialect implements Dialect {
  constructor(private readonly thread: PGliteThread) {}
  createAdapter() {
    return new PGliteAdapter();
  }
  createDriver(): Driver {
    return new SerializedDriver(new PGliteThreadDriver(this.thread));
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** Opens the database and brings its schema up to date. */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  const db = target.kind === 'pglite' ? await openPglite(target.directory) : await openPostgres(target);
  await migrateToLatest(db);
  return db;
}

/** The PGlite behind an embedded Db: multi-statement SQL (a job queue's own schema) needs exec(). */
const embedded = new WeakMap<Db, PGliteThread>();

/**
 * SQL given as text (for a library that speaks SQL itself, such as the job queue): with values
 * through the normal query path; without, possibly several statements (simple protocol; exec()
 * on PGlite, in this Db's turn on its one connection).
 */
export async function executeRaw(db: Db | Transaction<Database>, text: string, values: readonly unknown[] = []): Promise<{ rows: unknown[] }> {
  const thread = embedded.get(db as Db);
  if (thread && values.length === 0) {
    return db.connection().execute(async () => ({ rows: (await thread.exec(text)).rows }));
  }
  const result = await db.executeQuery(CompiledQuery.raw(text, [...values]));
  return { rows: result.rows as unknown[] };
}

/** Memory of the embedded database's thread, bytes; null for PostgreSQL. */
export async function embeddedDatabaseMemory(db: Db): Promise<{ webAssembly: number; heap: number } | null> {
  return (await embedded.get(db)?.memory()) ?? null;
}

async function openPglite(directory: string | null): Promise<Db> {
  let thread: PGliteThread;
  try {
    if (directory) mkdirSync(directory, { recursive: true });
    thread = await PGliteThread.open(directory);
  } catch (cause) {
    throw new CaError('internal', `cannot open the embedded database${directory ? ` in ${directory}` : ''}`, {
      code: 'embeddedDatabaseFailed',
      cause,
    });
  }
  const db = new Kysely<Database>({ dialect: new EmbeddedDialect(thread) });
  embedded.set(db, thread);
  return db;
}

/**
 * How long a request waits for a connection before it is told the database is unavailable. With
 * the server down a connect is refused at once; this bounds the other cases (a full pool, a
 * server that accepts but does not answer) so that callers fail fast rather than queue forever.
 */
const CONNECT_TIMEOUT_MS = 3000;

async function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<Db> {
  if (target.schema) await translateUnavailable(() => ensureSchema(target.url, target.schema!));
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Each connection looks in its own schema first: how test suites share one server.
    ...(target.schema ? { options: `-c search_path=${quoteIdent(target.schema)}` } : {}),
  });
  // A connection the server closes (a restart) emits 'error': on an idle one through the pool, on
  // one in use (between a transaction's statements) on the client itself. Unheard, either would
  // crash the process. The pool drops a broken connection; the query that meets it fails (503).
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new UnavailableTranslatingDialect({ pool }) });
}

async function translateUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isDatabaseUnavailable(error) ? databaseUnavailable(error) : error;
  }
}

/**
 * Every way a caller meets the server (a connection, a query, BEGIN/COMMIT/ROLLBACK) turns
 * "the server is gone" into one CaError (HTTP 503, `databaseUnavailable`), so routes, the OCSP
 * responder and background jobs tell an outage from a bug without knowing pg's error shapes.
 * Statement errors (constraint violations, serialization failures) pass through unchanged.
 */
class UnavailableTranslatingDriver implements Driver {
  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return translateUnavailable(() => this.inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await translateUnavailable(() => this.inner.acquireConnection());
    const wrapped: WrappedConnection = {
      executeQuery: (query) => translateUnavailable(() => connection.executeQuery(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
      // Kysely hands this object back to release and to the transaction calls: keep the inner one reachable.
      [INNER]: connection,
    };
    return wrapped;
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(innerOf(connection));
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return translateUnavailable(() => this.inner.beginTransaction(innerOf(connection), settings));
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return translateUnavailable(() => this.inner.commitTransaction(innerOf(connection)));
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return translateUnavailable(() => this.inner.rollbackTransaction(innerOf(connection)));
  }
  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translateUnavailable(() => this.inner.savepoint!(innerOf(connection), name, compile));
  }
  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translateUnavailable(() => this.inner.rollbackToSavepoint!(innerOf(connection), name, compile));
  }
  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return translateUnavailable(() => this.inner.releaseSavepoint!(innerOf(connection), name, compile));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

const INNER = Symbol('inner connection');
type WrappedConnection = DatabaseConnection & { [INNER]: DatabaseConnection };
function innerOf(connection: DatabaseConnection): DatabaseConnection {
  return (connection as Partial<WrappedConnection>)[INNER] ?? connection;
}

class UnavailableTranslatingDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new UnavailableTranslatingDriver(super.createDriver());
  }
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema if not exists ${quoteIdent(schema)}`);
  } finally {
    await client.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new CaError('malformed', `invalid schema name ${name}`);
  return `"${name}"`;
}

export async function migrateToLatest(db: Db, onProgress?: (name: string) => void): Promise<void> {
  // Kysely looks for its own bookkeeping tables in `public` unless told otherwise; keep them in
  // the schema the connection works in (search_path), so schemas on one server stay apart.
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema ?? undefined;
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) if (r.status === 'Success') onProgress?.(r.migrationName);
    if (!error) return;
    // Kysely's introspection reads the whole catalogue: another schema dropped at that moment on a
    // shared server (invalid_schema_name) is not our failure; look again.
    const otherSchemaVanished = (error as { code?: unknown }).code === '3F000' && attempt < 5;
    if (!otherSchemaVanished) throw new CaError('internal', 'database migration failed', { code: 'migrationFailed', cause: error });
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
