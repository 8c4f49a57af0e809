import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { isCaError } from '../../src/errors.js';
import { embeddedDatabaseMemory, executeRaw, openDatabase, type Db } from '../../src/store/database.js';
import { inTransaction } from '../../src/store/transaction.js';
import { PGliteThread } from '../../src/store/pglite-thread.js';
import { removeDir, tempDir, testDatabaseKind } from '../helpers/env.js';

/**
 * The embedded database runs on a worker thread of its own (src/store/pglite-thread.ts): what
 * crosses the thread boundary must arrive as PGlite gave it (values, errors with their fields and
 * causes), transactions must still be one caller's at a time, and an idle thread must not keep a
 * finished process alive (every CLI command would hang).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The embedded database only: nothing here depends on the pass, so the PostgreSQL pass skips it.
const run = testDatabaseKind === 'pglite' ? describe : describe.skip;

run('the embedded database on its own thread', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDatabase({ kind: 'pglite', directory: null });
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
  });

  it('returns values as PGlite types them: bytea, timestamptz, bigint, json, arrays, null', async () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const when = new Date('2026-12-01T10:11:12.345Z');
    const { rows } = await sql<{ b: Uint8Array; t: Date; n: string; j: { a: number[] }; arr: string[]; nothing: null }>`
      select ${bytes}::bytea as b, ${when}::timestamptz as t, 9007199254740993::int8 as n,
             '{"a":[1,2]}'::jsonb as j, array['x','y'] as arr, null as nothing`.execute(db);
    const row = rows[0]!;
    expect(row.b).toBeInstanceOf(Uint8Array);
    expect([...row.b]).toEqual([...bytes]);
    expect(row.b.byteLength).toBe(row.b.buffer.byteLength); // its own buffer, not a view on a bigger one
    // A Date of the main realm (structured clone), not of jest's sandbox: no instanceof here.
    expect(Object.prototype.toString.call(row.t)).toBe('[object Date]');
    expect(row.t.toISOString()).toBe(when.toISOString());
    expect(String(row.n)).toBe('9007199254740993');
    expect(row.j).toEqual({ a: [1, 2] });
    expect(row.arr).toEqual(['x', 'y']);
    expect(row.nothing).toBeNull();
  });

  it('passes a statement error on with its SQLSTATE and constraint, and the store translates it', async () => {
    await executeRaw(db, 'create table thread_probe (id int primary key, v text not null); insert into thread_probe values (1, $$one$$)');
    const direct = await sql`insert into thread_probe values (1, 'again')`.execute(db).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(Error);
    expect(direct).toMatchObject({ code: '23505', constraint: 'thread_probe_pkey', table: 'thread_probe' });
    const translated = await inTransaction(db, async ({ tx }) => {
      await sql`insert into thread_probe values (2, 'two')`.execute(tx);
      await sql`insert into thread_probe values (1, 'again')`.execute(tx);
    }).catch((e: unknown) => e);
    expect(isCaError(translated) && translated.code).toBe('duplicate');
    // The failed transaction was rolled back as a whole: row 2 is not there, the connection is usable.
    const { rows } = await sql<{ id: number }>`select id from thread_probe order by id`.execute(db);
    expect(rows.map((r) => r.id)).toEqual([1]);
  });

  it('runs concurrent transactions one at a time on the one connection', async () => {
    await executeRaw(db, 'create table thread_counter (n int not null); insert into thread_counter values (0)');
    // Read-then-write in each: interleaved on one session, increments would be lost.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        inTransaction(db, async ({ tx }) => {
          const { rows } = await sql<{ n: number }>`select n from thread_counter`.execute(tx);
          await new Promise((r) => setImmediate(r));
          await sql`update thread_counter set n = ${rows[0]!.n + 1}`.execute(tx);
        }),
      ),
    );
    const { rows } = await sql<{ n: number }>`select n from thread_counter`.execute(db);
    expect(rows[0]!.n).toBe(20);
  });

  it('reports its memory: PGlite’s WebAssembly memory and the thread’s heap', async () => {
    const memory = await embeddedDatabaseMemory(db);
    expect(memory!.webAssembly).toBeGreaterThan(64 * 2 ** 20);
    expect(memory!.heap).toBeGreaterThan(0);
  });
});

run('the embedded database thread’s lifetime', () => {
  it('fails every call with embeddedDatabaseFailed once the thread is gone, pending ones included', async () => {
    const thread = await PGliteThread.open(null);
    const slow = thread.query('select pg_sleep(2)', []);
    // What a crash of the thread looks like from here: it ends while a query is running.
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(slow).rejects.toMatchObject({ code: 'embeddedDatabaseFailed' });
    await expect(thread.query('select 1', [])).rejects.toMatchObject({ code: 'embeddedDatabaseFailed' });
  }, 60_000);

  it('does not keep a process alive once its work is done, and does keep it while a query runs', async () => {
    // A script that opens the database, runs a query and returns without closing it.
    const script = `
      const { PGliteThread } = await import(${JSON.stringify(path.join(ROOT, 'src/store/pglite-thread.ts'))});
      const thread = await PGliteThread.open(null);
      thread.query('select pg_sleep(0.5), 42 as answer', []).then((r) => console.log('answer', r.rows[0].answer));
    `;
    const dir = tempDir();
    const file = path.join(dir, 'open-and-return.mts');
    writeFileSync(file, script);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('answer 42');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    removeDir(dir);
  }, 60_000);
});
