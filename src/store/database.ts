import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  Kysely,
  type Transaction,
  PGliteDialect,
  PostgresDialect,
  sql,
  type DatabaseConnection,
  type Driver,
  type TransactionSettings,
} from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';
import { migrations } from '../../migrations/index.js';
import { CaError } from '../errors.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export type DatabaseTarget =
  | { kind: 'pglite'; directory: string | null /* null = in memory */ }
  | { kind: 'postgres'; url: string; schema?: string; poolSize?: number };

/**
 * PGlite is one connection. Kysely's PGlite driver hands that connection to every caller at
 * once, so two concurrent transactions would interleave on it; this mutex makes callers take
 * turns (a query or a whole transaction at a time), as a pool of size one would.
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

class SerializedPGliteDialect extends PGliteDialect {
  override createDriver(): Driver {
    return new SerializedDriver(super.createDriver());
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
const embedded = new WeakMap<Db, PGlite>();

/**
 * SQL given as text (for a library that speaks SQL itself, such as the job queue): with values
 * through the normal query path; without, possibly several statements (simple protocol; exec()
 * on PGlite, in this Db's turn on its one connection).
 */
export async function executeRaw(db: Db | Transaction<Database>, text: string, values: readonly unknown[] = []): Promise<{ rows: unknown[] }> {
  const pglite = embedded.get(db as Db);
  if (pglite && values.length === 0) {
    return db.connection().execute(async () => {
      const results = await pglite.exec(text);
      return { rows: results[results.length - 1]?.rows ?? [] };
    });
  }
  const result = await db.executeQuery(CompiledQuery.raw(text, [...values]));
  return { rows: result.rows as unknown[] };
}

async function openPglite(directory: string | null): Promise<Db> {
  let pglite: PGlite;
  try {
    if (directory) mkdirSync(directory, { recursive: true });
    pglite = directory ? await PGlite.create(directory) : await PGlite.create();
  } catch (cause) {
    throw new CaError('internal', `cannot open the embedded database${directory ? ` in ${directory}` : ''}`, {
      code: 'databaseUnavailable',
      cause,
    });
  }
  const db = new Kysely<Database>({ dialect: new SerializedPGliteDialect({ pglite }) });
  embedded.set(db, pglite);
  return db;
}

async function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<Db> {
  if (target.schema) await ensureSchema(target.url, target.schema);
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    // Each connection looks in its own schema first: how test suites share one server.
    ...(target.schema ? { options: `-c search_path=${quoteIdent(target.schema)}` } : {}),
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
