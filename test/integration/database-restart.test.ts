import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pemEncode } from '../../src/x509/pem.js';
import { runCli, startServe } from '../helpers/cli.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { openssl, removeDir, tempDir, testDatabaseKind } from '../helpers/env.js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { postgresBinaries, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';

/**
 * PostgreSQL restarted under load (issue 7): a server process on a PostgreSQL of the test's own,
 * with OCSP, public lookups and batch issuance running, while the database is stopped and started
 * again. While it is down every request is answered at once — a pre-signed OCSP answer from
 * memory, or 503 (databaseUnavailable, OCSP tryLater) — and never 500 or a hang; afterwards the
 * same process serves again by itself, every batch accepted before or after completes, nothing
 * committed is missing, and status changes reach its OCSP cache again (LISTEN re-established).
 * Runs in the PostgreSQL pass (it needs PostgreSQL's binaries; it starts its own server).
 */
const bin = postgresBinaries();
const run = testDatabaseKind === 'postgres' && bin ? describe : describe.skip;
if (testDatabaseKind === 'postgres' && !bin) console.warn('database-restart: skipped, no PostgreSQL binaries in /usr/lib/postgresql');

const dir = tempDir();
const dataDir = path.join(dir, 'data');
let database: PrivatePostgres;
let env: NodeJS.ProcessEnv;
let server: Awaited<ReturnType<typeof startServe>>;
let batchToken: string;
const certs: { serial: string; pem: string }[] = [];
const eimza = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], env);

interface Outcome {
  kind: 'ocsp-cached' | 'ocsp-nonce' | 'lookup' | 'batch';
  phase: 'before' | 'down' | 'after';
  status: number; // 0: no HTTP answer at all
  ms: number;
  detail: string;
}

run('PostgreSQL restarted under load', () => {
  beforeAll(async () => {
    database = await startPrivatePostgres(bin!);
    env = { EIMZA_KEYSTORE: 'software', DATABASE_URL: database.url };
    expect((await eimza('ca', 'init', '--root-algorithm', 'ec-p256', '--algorithm', 'ec-p256')).code).toBe(0);
    expect((await eimza('ca', 'export', '--out', dir)).code).toBe(0);
    // A signature whose certificate could not be stored (the database went away between the two)
    // leaves a reservation; the reconciler settles it after this grace, and the item is issued anew.
    writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ ca: { reservationGraceSeconds: 5 } }));
    expect((await eimza('office', 'add', '--code', 'HQ', '--kind', 'hq', '--name', 'HQ')).code).toBe(0);
    batchToken = /token=(\S+)/.exec((await eimza('operator', 'add', '--name', 'personalisation centre', '--office', 'HQ', '--role', 'personalisation-centre')).stdout)![1]!;
    writeFileSync(path.join(dir, 'holder.json'), JSON.stringify(CITIZEN));
    for (const name of ['a', 'b']) {
      const { csrPath } = await opensslCsr(dir, name);
      const out = path.join(dir, `${name}.pem`);
      const r = await eimza('cert', 'issue', '--profile', name === 'a' ? 'signature' : 'authentication', '--csr', csrPath, '--holder', path.join(dir, 'holder.json'), '--out', out);
      expect(r.code).toBe(0);
      certs.push({ serial: r.stdout.trim(), pem: out });
    }
    server = await startServe(['--data-dir', dataDir, 'serve', '--port', '0'], env);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    database?.destroy();
    removeDir(dir);
  });

  async function ocspRequest(pem: string, nonce: boolean): Promise<Buffer> {
    const out = path.join(dir, `${path.basename(pem)}.${nonce ? 'nonce' : 'plain'}.req`);
    const r = await openssl(['ocsp', '-issuer', path.join(dir, 'eimza.pem'), '-cert', pem, ...(nonce ? [] : ['-no_nonce']), '-reqout', out]);
    expect(r.code).toBe(0);
    return readFileSync(out);
  }

  /** Via openssl as an independent client: the status line for `pem`, after checking the signature. */
  async function ocspStatus(pem: string): Promise<string> {
    const r = await openssl(['ocsp', '-issuer', path.join(dir, 'eimza.pem'), '-cert', pem, '-url', `${server.url}/ocsp`, '-CAfile', path.join(dir, 'root.pem'), '-no_nonce']);
    expect(r.stdout + r.stderr).toContain('Response verify OK');
    return (r.stdout.split('\n').find((l) => l.startsWith(`${pem}:`)) ?? '').slice(pem.length + 1).trim();
  }

  function batchItems(tag: string, n: number) {
    return Array.from({ length: n }, (_, i) => ({
      id: `${tag}-${i}`,
      profile: i % 2 ? 'authentication' : 'signature',
      holder: { fin: finFor(tag, i), givenName: 'Aysel', surname: 'Məmmədova' },
      csr: pemEncode('CERTIFICATE REQUEST', makeP256Csr('card')),
    }));
  }

  it('answers at once while the database is down, recovers by itself, and loses nothing committed', async () => {
    const requests = {
      cached: await ocspRequest(certs[0]!.pem, false),
      nonce: await ocspRequest(certs[1]!.pem, true),
    };
    const post = (body: Buffer) => fetch(`${server.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(body) });
    // Warm: the pre-signed answer of the first certificate is now in this node's memory.
    expect((await post(requests.cached)).status).toBe(200);

    let phase: Outcome['phase'] = 'before';
    let running = true;
    const outcomes: Outcome[] = [];
    const accepted: string[] = [];
    const timed = async (kind: Outcome['kind'], call: () => Promise<Response>, read: (r: Response) => Promise<string>): Promise<void> => {
      const at = phase;
      const started = performance.now();
      let status = 0;
      let detail = '';
      try {
        const r = await call();
        status = r.status;
        detail = await read(r);
      } catch (e) {
        detail = e instanceof Error ? e.message : String(e);
      }
      outcomes.push({ kind, phase: at === phase ? at : 'down', status, ms: performance.now() - started, detail });
    };
    const ocspBody = async (r: Response) => Buffer.from(await r.arrayBuffer()).toString('hex').slice(0, 10);
    const problemCode = async (r: Response) => {
      const body = (await r.json().catch(() => ({}))) as { code?: string; id?: string };
      return body.code ?? body.id ?? '';
    };
    const loops = [
      (async () => {
        while (running) await timed('ocsp-cached', () => post(requests.cached), ocspBody);
      })(),
      (async () => {
        while (running) await timed('ocsp-nonce', () => post(requests.nonce), ocspBody);
      })(),
      (async () => {
        while (running) await timed('lookup', () => fetch(`${server.url}/api/v1/certificates/${certs[1]!.serial}`), problemCode);
      })(),
      (async () => {
        for (let n = 0; running; n++) {
          const id = `restart-${n}`;
          await timed(
            'batch',
            () =>
              fetch(`${server.url}/api/v1/batches`, {
                method: 'POST',
                headers: { authorization: `Bearer ${batchToken}`, 'content-type': 'application/json' },
                body: JSON.stringify({ id, items: batchItems(id, 20) }),
              }),
            async (r) => {
              const code = await problemCode(r);
              if (r.status === 202) accepted.push(id);
              return code;
            },
          );
          await sleep(300);
        }
      })(),
    ];

    await sleep(1500);
    const waitForDown = sleep(0);
    phase = 'down';
    database.stop();
    await waitForDown;
    await sleep(3000);
    database.start();
    const restartedAt = performance.now();
    phase = 'after';
    // Recovery by itself: the same process becomes ready again without being touched.
    let readiness = '';
    const readyAt = await waitFor(async () => {
      const r = await fetch(`${server.url}/health/ready`);
      readiness = await r.text();
      return r.status === 200;
    }, 30_000);
    const readyAfterMs = performance.now() - restartedAt;
    if (!readyAt) console.log(readiness, server.output().slice(-4000));
    expect(readyAt).toBe(true);
    await sleep(1500);
    running = false;
    await Promise.all(loops);
    expect(server.child.exitCode).toBeNull();

    const during = outcomes.filter((o) => o.phase === 'down');
    const after = outcomes.filter((o) => o.phase === 'after');
    const count = (list: Outcome[], status: number) => list.filter((o) => o.status === status).length;
    console.log(
      `database-restart: ${outcomes.length} requests; while down ${during.length} (${count(during, 200)} × 200 from memory, ${count(during, 503)} × 503), ` +
        `slowest answer while down ${Math.round(Math.max(...during.map((o) => o.ms)))} ms; ready again ${Math.round(readyAfterMs)} ms after its start; ${accepted.length} batches accepted`,
    );
    // Never a 500, never a dropped connection, before, during or after.
    expect(outcomes.filter((o) => o.status === 0 || (o.status >= 500 && o.status !== 503))).toEqual([]);
    // While down: the pre-signed answer from memory, everything else 503 with its reason.
    expect(during.filter((o) => o.kind === 'ocsp-cached').every((o) => o.status === 200)).toBe(true);
    expect(during.filter((o) => o.kind === 'ocsp-cached').length).toBeGreaterThan(0);
    const refused = during.filter((o) => o.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) {
      // OCSP: a tryLater OCSPResponse (30 03 0a 01 03); the API: problem+json databaseUnavailable.
      expect(o.kind.startsWith('ocsp') ? o.detail : o.detail).toBe(o.kind.startsWith('ocsp') ? '30030a0103' : 'databaseUnavailable');
    }
    for (const o of during) expect(o.status === 200 || o.status === 202 || o.status === 503).toBe(true);
    // Fail fast: nothing waited for the database to come back (it was away for 3 s).
    expect(Math.max(...during.map((o) => o.ms))).toBeLessThan(2500);
    // Serving again: every kind of request succeeds after the restart.
    for (const kind of ['ocsp-cached', 'ocsp-nonce', 'lookup', 'batch'] as const) {
      expect(after.filter((o) => o.kind === kind).some((o) => o.status === 200 || o.status === 202)).toBe(true);
    }

    // Nothing committed is lost: every batch accepted (before, during or after) completes, each item
    // with its own certificate, all of them in the database.
    expect(accepted.length).toBeGreaterThan(0);
    const done = await waitFor(async () => {
      for (const id of accepted) {
        const r = await fetch(`${server.url}/api/v1/batches/${id}`, { headers: { authorization: `Bearer ${batchToken}` } });
        if (((await r.json()) as { state?: string }).state !== 'done') return false;
      }
      return true;
    }, 90_000);
    if (!done) {
      for (const id of accepted) {
        const r = await fetch(`${server.url}/api/v1/batches/${id}`, { headers: { authorization: `Bearer ${batchToken}` } });
        console.log(id, JSON.stringify(await r.json()).slice(0, 300));
      }
      console.log(server.output().slice(-3000));
    }
    expect(done).toBe(true);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const items = await admin.query<{ issued: string; all: string; serials: string; stored: string }>(
        `select count(*) filter (where i.state = 'issued') as issued, count(*) as all, count(distinct i.serial) as serials,
                count(c.serial) filter (where c.status = 'active' and c.der is not null) as stored
           from batch_item i join batch b on b.id = i.batch_id left join certificate c on c.serial = i.serial
          where b.client_id = any($1)`,
        [accepted],
      );
      const row = items.rows[0]!;
      expect(Number(row.all)).toBe(accepted.length * 20);
      expect(Number(row.issued)).toBe(accepted.length * 20);
      expect(Number(row.serials)).toBe(accepted.length * 20);
      expect(Number(row.stored)).toBe(accepted.length * 20);
    } finally {
      await admin.end();
    }
    const audit = await eimza('audit', 'verify');
    expect(audit.code).toBe(0);

    // Cache invalidation works again: a change made by another process reaches this node's OCSP.
    expect(await ocspStatus(certs[0]!.pem)).toBe('good');
    expect((await eimza('cert', 'suspend', certs[0]!.serial)).code).toBe(0);
    expect(await waitFor(async () => (await ocspStatus(certs[0]!.pem)) === 'revoked', 5_000)).toBe(true);
  }, 240_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > until) return false;
    await sleep(250);
  }
}

/** Distinct valid FINs per batch tag and index (7 characters of 0-9 and A-Z without I and O). */
function finFor(tag: string, i: number): string {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  let v = (Number(/\d+$/.exec(tag)?.[0] ?? 0) * 100 + i + 34 ** 6) % 34 ** 7;
  let s = '';
  for (let k = 0; k < 7; k++, v = Math.floor(v / 34)) s = alphabet[v % 34] + s;
  return s;
}
