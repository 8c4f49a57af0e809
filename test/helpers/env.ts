import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { dropSchema } from '../../src/store/database.js';

export const execFileAsync = promisify(execFile);

/** Which database this run of the suite uses: `npm test` runs it once for each. */
export const testDatabaseKind: 'pglite' | 'postgres' = process.env.EIMZA_TEST_DB === 'postgres' ? 'postgres' : 'pglite';

export function tempDir(prefix = 'eimza-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A database of the suite's own: PGlite in the data directory, or a fresh schema on the shared
 * PostgreSQL server (TEST_DATABASE_URL), reachable through a URL that sets its search_path.
 */
export interface TestDatabase {
  /** DATABASE_URL to hand to the service, or undefined for the embedded default. */
  url: string | undefined;
  schema: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDatabaseKind === 'pglite') return { url: undefined, schema: undefined, drop: async () => {} };
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('EIMZA_TEST_DB=postgres needs TEST_DATABASE_URL');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create schema "${schema}"`);
  await client.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // The job queue (pg-boss) keeps its tables in `<schema>_jobs`. Those are dropped after the whole
  // run (test/run.sh): dropping its many tables while another suite's migrator introspects the
  // catalogue makes that introspection fail ("schema … does not exist").
  return { url: url.toString(), schema, drop: () => dropSchema(base, schema) };
}

export async function openssl(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
