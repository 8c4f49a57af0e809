import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pemEncode } from '../../src/x509/pem.js';
import { runCli, startServe } from '../helpers/cli.js';
import { createTestDatabase, openssl, removeDir, tempDir, testDatabaseKind, type TestDatabase } from '../helpers/env.js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { writeFileSync } from 'node:fs';

/**
 * API/OCSP nodes without batch work (EIMZA_BATCH_WORKERS=0) and `eimza batch worker` in a process
 * of its own (PostgreSQL): a batch accepted by the node waits until a worker runs, then the worker
 * issues it, and the node's OCSP answers for what the worker signed.
 */
const run = testDatabaseKind === 'postgres' ? describe : describe.skip;

const dir = tempDir();
const dataDir = path.join(dir, 'data');
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
let server: Awaited<ReturnType<typeof startServe>>;
let worker: ChildProcess | undefined;
let token: string;
const eimza = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], env);

run('batch worker in a process of its own', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    env = { EIMZA_KEYSTORE: 'software', DATABASE_URL: database.url! };
    expect((await eimza('ca', 'init', '--root-algorithm', 'ec-p256', '--algorithm', 'ec-p256')).code).toBe(0);
    expect((await eimza('ca', 'export', '--out', dir)).code).toBe(0);
    expect((await eimza('office', 'add', '--code', 'HQ', '--kind', 'hq', '--name', 'HQ')).code).toBe(0);
    token = /token=(\S+)/.exec((await eimza('operator', 'add', '--name', 'personalisation centre', '--office', 'HQ', '--role', 'personalisation-centre')).stdout)![1]!;
    server = await startServe(['--data-dir', dataDir, 'serve', '--port', '0'], { ...env, EIMZA_BATCH_WORKERS: '0' });
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    await database?.drop();
    removeDir(dir);
  });

  const batchState = async (id: string) => {
    const r = await fetch(`${server.url}/api/v1/batches/${id}`, { headers: { authorization: `Bearer ${token}` } });
    return (await r.json()) as { state: string; issued: number; items: { id: string; serial?: string }[] };
  };

  it('leaves batches to the workers: queued until one runs, then issued', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({
      id: `card-${i}`,
      profile: 'authentication',
      holder: { fin: `5BC${String(i).padStart(3, '0')}K`, givenName: 'Aysel', surname: 'Məmmədova' },
      csr: pemEncode('CERTIFICATE REQUEST', makeP256Csr('card')),
    }));
    const submitted = await fetch(`${server.url}/api/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'worker-1', items }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // The node itself does not work it: still nothing issued after several of its polling intervals.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await batchState(id)).toMatchObject({ state: 'running', issued: 0 });

    const bad = await eimza('batch', 'worker', '--concurrency', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^eimza: error \[invalidArgument\]/);
    worker = spawn(process.execPath, [path.resolve('cli/eimza.js'), '--data-dir', dataDir, 'batch', 'worker', '--concurrency', '2'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    let state = await batchState(id);
    for (let i = 0; i < 240 && state.state !== 'done'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = await batchState(id);
    }
    expect(out).toContain('e-imza batch worker running');
    expect(state).toMatchObject({ state: 'done', issued: 10 });

    // What the worker signed, the node's OCSP answers for (openssl as the client).
    const shown = await eimza('cert', 'show', state.items[0]!.serial!, '--pem');
    expect(shown.code).toBe(0);
    const certPath = path.join(dir, 'card-0.pem');
    writeFileSync(certPath, shown.stdout);
    const r = await openssl(['ocsp', '-issuer', path.join(dir, 'eimza.pem'), '-cert', certPath, '-url', `${server.url}/ocsp`, '-CAfile', path.join(dir, 'root.pem'), '-no_nonce']);
    expect(r.stdout + r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${certPath}: good`);

    // SIGTERM: the worker stops cleanly.
    const exited = new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('refuses to run beside the embedded database', async () => {
    const r = await runCli(['--data-dir', path.join(dir, 'embedded'), 'batch', 'worker'], { EIMZA_KEYSTORE: 'software', DATABASE_URL: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^eimza: error \[workerNeedsPostgres\]/);
  });
});
