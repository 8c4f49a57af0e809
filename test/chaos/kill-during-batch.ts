/**
 * Chaos: `kill -9` of the server (which also runs the batch workers) at random moments while it
 * issues 10,000 certificates in ten batches, then restarts it each time. Afterwards every batch
 * is complete, every certificate signed is in the database, no item got two live certificates,
 * and `eimza audit verify` passes. Prints the counts.
 *
 *   npm run chaos:kill            (PostgreSQL at CHAOS_DATABASE_URL, default the local server)
 *   CHAOS_ITEMS=2000 CHAOS_KILLS=3 npm run chaos:kill
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pemEncode } from '../../src/x509/pem.js';
import { makeP256Csr } from '../helpers/fast-csr.js';

const ITEMS = Number(process.env.CHAOS_ITEMS ?? 10_000);
const KILLS = Number(process.env.CHAOS_KILLS ?? 6);
const BASE_URL = process.env.CHAOS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLI = path.resolve('cli/eimza.js');

const dir = mkdtempSync(path.join(os.tmpdir(), 'eimza-chaos-'));
const dataDir = path.join(dir, 'data');
const schema = `chaos_${randomBytes(4).toString('hex')}`;
const url = new URL(BASE_URL);
url.searchParams.set('options', `-c search_path=${schema}`);
const env = { ...process.env, DATABASE_URL: url.toString(), EIMZA_KEYSTORE: 'software', EIMZA_KEYSTORE_PASSPHRASE: 'chaos' };

function eimza(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`eimza ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function startServer(): Promise<{ child: ChildProcess; base: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /health\s+(http:\/\/\S+)\/health/.exec(out);
      if (m) resolve({ child, base: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', () => {});
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

async function api(base: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: { id?: string; state?: string } | null }> {
  const r = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: r.status, body: (await r.json().catch(() => null)) as { id?: string; state?: string } | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  try {
    eimza('ca', 'init', '--root-algorithm', 'ec-p256', '--algorithm', 'ec-p256');
    writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ ca: { reservationGraceSeconds: 5 } }));
    eimza('office', 'add', '--code', 'HQ', '--kind', 'hq', '--name', 'HQ');
    const token = /token=(\S+)/.exec(eimza('operator', 'add', '--name', 'personalisation centre', '--office', 'HQ', '--role', 'personalisation-centre'))![1]!;

    let server = await startServer();
    const batchIds: string[] = [];
    const started = Date.now();
    for (let b = 0; b * 1000 < ITEMS; b++) {
      const items = Array.from({ length: Math.min(1000, ITEMS - b * 1000) }, (_, i) => ({
        id: `card-${b}-${i}`,
        profile: i % 2 ? 'authentication' : 'signature',
        holder: { fin: finFor(b * 1000 + i), givenName: 'Aysel', surname: 'Məmmədova' },
        csr: pemEncode('CERTIFICATE REQUEST', makeP256Csr('card')),
      }));
      for (;;) {
        const r = await api(server.base, token, 'POST', '/api/v1/batches', { id: `chaos-${b}`, items }).catch(() => ({ status: 0, body: null }));
        if (r.status === 202) {
          batchIds.push(r.body!.id!);
          break;
        }
        await sleep(500);
      }
    }
    console.log(`submitted ${ITEMS} items in ${batchIds.length} batches`);

    for (let k = 0; k < KILLS; k++) {
      await sleep(1500 + Math.random() * 3500);
      server.child.kill('SIGKILL');
      await new Promise((r) => server.child.once('exit', r));
      const done = await admin.query(`select count(*) filter (where state <> 'queued') as n from ${schema}.batch_item`);
      console.log(`kill -9 #${k + 1}: ${done.rows[0].n}/${ITEMS} items answered`);
      server = await startServer();
    }

    for (;;) {
      const states = await Promise.all(batchIds.map((id) => api(server.base, token, 'GET', `/api/v1/batches/${id}`).catch(() => ({ status: 0, body: null }))));
      if (states.every((s) => s.body?.state === 'done')) break;
      await sleep(1000);
    }
    const seconds = (Date.now() - started) / 1000;
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));

    const q = async (text: string) => (await admin.query(text)).rows[0];
    const items = await q(`select count(*) filter (where state = 'issued') as issued, count(*) filter (where state = 'failed') as failed, count(distinct serial) as serials from ${schema}.batch_item`);
    const live = await q(`select count(*) as n from ${schema}.certificate where batch like 'batch:%' and status in ('active', 'suspended')`);
    const revokedReservations = await q(`select count(*) as n from ${schema}.certificate where batch like 'batch:%' and status = 'revoked' and revocation_reason = 'superseded'`);
    const unresolved = await q(`select count(*) as n from ${schema}.certificate where status = 'reserved'`);
    const twice = await q(`select count(*) as n from (select spki_sha256 from ${schema}.certificate where batch like 'batch:%' and status in ('active','suspended') group by spki_sha256 having count(*) > 1) t`);
    const mismatched = await q(`select count(*) as n from ${schema}.batch_item i join ${schema}.certificate c on c.serial = i.serial where c.status not in ('active','suspended')`);
    const audit = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, 'audit', 'verify'], { env, encoding: 'utf8' });
    console.log(
      JSON.stringify(
        {
          items: ITEMS,
          kills: KILLS,
          seconds: Math.round(seconds),
          issued: Number(items.issued),
          failed: Number(items.failed),
          distinctSerials: Number(items.serials),
          liveBatchCertificates: Number(live.n),
          reservationsRevokedByReconciler: Number(revokedReservations.n),
          unresolvedReservations: Number(unresolved.n),
          keysWithTwoLiveCertificates: Number(twice.n),
          itemsPointingAtDeadCertificates: Number(mismatched.n),
          auditVerify: audit.status === 0 ? 'ok' : `exit ${audit.status}: ${audit.stdout}${audit.stderr}`,
        },
        null,
        2,
      ),
    );
    const ok =
      Number(items.issued) === ITEMS && Number(items.serials) === ITEMS && Number(live.n) === ITEMS && Number(twice.n) === 0 && Number(mismatched.n) === 0 && audit.status === 0;
    if (!ok) {
      console.error('CHAOS CHECK FAILED');
      process.exitCode = 1;
    } else console.log('every item issued once, every signed certificate recorded, audit chain intact');
  } finally {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.query(`drop schema if exists ${schema}_jobs cascade`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Distinct valid FINs (7 characters of 0-9 and A-Z without I and O). */
function finFor(n: number): string {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  let s = '';
  for (let i = 0, v = n + 34 ** 6; i < 7; i++, v = Math.floor(v / 34)) s = alphabet[v % 34] + s;
  return s;
}

await main();
