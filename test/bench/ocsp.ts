/**
 * `npm run bench:ocsp` — the OCSP responder under load, as X-Road security servers ask it (RFC
 * 5019: one SHA-1 CertID, no nonce, POST), against `openssl ocsp` on the same kind of population
 * and against a bare node:http server that answers every POST with fixed bytes (the runtime's
 * ceiling). The load generator is wrk, one thread (one core for wrk, one for the server).
 *
 *   npm run bench:ocsp -- [--certs 10000] [--seconds 10] [--connections 16,64] [--concurrency 32]
 *                         [--max-minutes 30] [--cpu-prof DIR] [--keep]
 *
 * 1. Population: a fresh data directory (software key store, PGlite, or PostgreSQL through
 *    BENCH_DATABASE_URL), a P-256 CA hierarchy, N end-entity certificates (profile authentication)
 *    issued in-process, every tenth revoked (keyCompromise). Then `eimza serve` as a child process.
 * 2. OpenSSL: its own P-256 CA and delegated responder (OCSPSigning), and an index.txt with the
 *    same serials and statuses; `openssl ocsp -index … -nmin 60`, single-process, and `-multi 2`
 *    as a second row when it works.
 * 3. Every responder is first asked every request once (warm-up) and every answer is checked with
 *    inspectOcspResponse (good, or revoked/keyCompromise, for the right serial, nextUpdate ≥ 20
 *    minutes ahead): OpenSSL's before anything is measured, ours before ours is; a wrong answer
 *    stops the benchmark (exit 1) before any figure is printed.
 * 4. wrk -t1 --latency for each connection count, for a fixed duration; one table (req/s, p50,
 *    p99, errors, and the server's CPU time per request from /proc, steadier than req/s when
 *    other work shares the machine), then the targets: ours ≥ 2× openssl's req/s, our p99 ≤
 *    openssl's, ours ≥ 70% of the bare server's req/s.
 *
 * `openssl ocsp` (3.0) answers HTTP/1.0, one connection at a time, and never recovers from a
 * connection that is closed before it answered (it loops on read() = 0): ocsp-wrk.lua skips wrk's
 * start-up probe connection, and openssl is started afresh for each run (wrk closes such
 * connections when it stops). A run with no answers, timeouts or socket errors is reported so.
 *
 * Network: traffic only on 127.0.0.1. `openssl ocsp` binds every interface, so it runs in a
 * private network namespace that has nothing but loopback (unshare -n, entered with nsenter), and
 * its wrk and warm-up client run in the same namespace. Our server and the bare server run the
 * same way, each in a namespace of its own; with BENCH_DATABASE_URL (a database outside) they run
 * on the machine's loopback instead, bound to 127.0.0.1. The table says which.
 *
 * Bounds: each wrk run is killed 20 s after its duration, every client and server start has a
 * timeout, and the whole run stops (children killed) after --max-minutes. Children are killed at
 * the end, on failure, on SIGINT/SIGTERM, and (setpriv --pdeathsig) when this process dies; the
 * processes left in a namespace of ours (openssl -multi's workers) are found by namespace and
 * killed by pid.
 *
 * Helpers: test/bench/ocsp-wrk.lua (wrk script), ocsp-client.ts (warm-up client), ocsp-bare.ts
 * (bare server). --cpu-prof DIR runs the server child with node --cpu-prof (one .cpuprofile).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/context.js';
import type { Serial } from '../../src/domain/serial.js';
import { dropSchema } from '../../src/store/database.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { removeDir, tempDir } from '../helpers/env.js';
import { runPool } from './pool.js';
import { opensslFiles, type IndexEntry, type OpensslFiles } from './openssl-peer.js';
import { closeNamespace, killEverything, launch, pidsIn, privateNamespace, runToEnd, stop, waitForOutput, type Namespace } from './processes.js';

const { values } = parseArgs({
  options: {
    certs: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16,64' },
    concurrency: { type: 'string', default: '32' },
    'max-minutes': { type: 'string', default: '30' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const CERTS = Number(values.certs);
const SECONDS = Number(values.seconds);
const CONNECTIONS = values.connections.split(',').map(Number);
const CONCURRENCY = Number(values.concurrency);
const MAX_MINUTES = Number(values['max-minutes']);
if (!Number.isSafeInteger(CERTS) || CERTS < 10) throw new Error('--certs must be an integer ≥ 10');
if (!Number.isInteger(SECONDS) || SECONDS < 1 || SECONDS > 300) throw new Error('--seconds must be an integer from 1 to 300');
if (CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1 || c > 1000)) throw new Error('--connections must be a list of integers from 1 to 1000');
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) throw new Error('--concurrency must be a positive integer');
if (!(MAX_MINUTES > 0)) throw new Error('--max-minutes must be positive');
const CPU_PROF_DIR = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : null;
const pgUrl = process.env.BENCH_DATABASE_URL;

const ROOT = path.resolve(import.meta.dirname, '../..');
const WRK_SCRIPT = path.join(ROOT, 'test/bench/ocsp-wrk.lua');
const CLIENT = path.join(ROOT, 'test/bench/ocsp-client.ts');
const BARE = path.join(ROOT, 'test/bench/ocsp-bare.ts');
const EIMZA = path.join(ROOT, 'cli/eimza.js');
const HOST = '127.0.0.1';
/** X-Road wants nextUpdate at least 20 minutes ahead. */
const MIN_AHEAD_MS = 20 * 60_000;
const MINUTE_MS = 60_000;

const tty = process.stderr.isTTY;
/** Other work on the machine skews req/s; the 1-minute load average when we began says how much. */
const loadAtStart = os.loadavg()[0]!.toFixed(2);
function progressDone(): void {
  if (tty) process.stderr.write('\r\x1b[K');
}
function phase(text: string): void {
  progressDone();
  process.stderr.write(`-- ${text}\n`);
}

class BenchRefused extends Error {}

// ---- child processes -----------------------------------------------------------------------------

const MACHINE_LOOPBACK: Namespace = { label: 'loopback', nsPath: null, nsId: null, holder: null };

/** The temporary folder, removed at exit however the run ends (unless --keep). */
let workToRemove: string | null = null;

process.on('exit', () => {
  killEverything();
  if (workToRemove) removeDir(workToRemove);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping every child\n`);
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench:ocsp still running after --max-minutes ${MAX_MINUTES}: stopped\n`);
  process.exit(2);
}, MAX_MINUTES * MINUTE_MS);
watchdog.unref();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---- tools and machine ---------------------------------------------------------------------------

function commandOutput(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return null;
  return `${r.stdout}${r.stderr}`.trim();
}

function ensureWrk(): void {
  if (commandOutput('wrk', ['-v']) !== null) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write('wrk is not installed (Debian package `wrk`): install it with `apt-get install -y wrk`, or run as root to have it installed\n');
    process.exit(1);
  }
  phase('wrk is missing: apt-get install -y wrk');
  let r = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    r = spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  }
  if (r.status !== 0 || commandOutput('wrk', ['-v']) === null) {
    process.stderr.write('could not install wrk (apt-get install -y wrk failed)\n');
    process.exit(1);
  }
}

function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const openssl = commandOutput('openssl', ['version']) ?? 'no openssl';
  const wrk = /wrk [^\s]+/.exec(commandOutput('wrk', ['-v']) ?? '')?.[0] ?? 'wrk ?';
  return `nproc ${os.availableParallelism()} (${cpu}), node ${process.version}, ${openssl}, ${wrk}; load average at start ${loadAtStart}`;
}

// ---- population ----------------------------------------------------------------------------------

interface Population {
  serials: Serial[];
  revoked: boolean[];
  notAfter: Date[];
  revokedAt: (Date | null)[];
  caNameDer: Uint8Array;
  caSpki: Uint8Array;
  issueSeconds: number;
  revokeSeconds: number;
}

const isRevoked = (i: number): boolean => i % 10 === 0;

async function populate(dataDir: string, env: Record<string, string>): Promise<Population> {
  phase(`preparing ${CERTS} P-256 CSRs`);
  const csrs = Array.from({ length: CERTS }, (_, i) => makeP256Csr(`bench ocsp ${i}`));
  const config = loadConfig(dataDir, env);
  if (config.database.kind === 'postgres') config.database.poolSize = CONCURRENCY;
  const app = await openContext(config);
  try {
    await runOperation(operationContext(app, 'bench', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' }), 'ca.init', {});
    const serials: Serial[] = new Array(CERTS);
    const notAfter: Date[] = new Array(CERTS);
    const revokedAt: (Date | null)[] = new Array(CERTS).fill(null);
    phase(`issuing ${CERTS} certificates (profile authentication, concurrency ${CONCURRENCY})`);
    const issueSeconds = await runPool(
      CERTS,
      CONCURRENCY,
      async (i) => {
        const issued = await issueCertificate(app.ca, {
          profile: 'authentication',
          csr: csrs[i]!,
          holder: { fin: '5ZX2K7Q', givenName: 'Bench', surname: 'Mark' },
          actor: 'bench',
        });
        serials[i] = issued.serial;
        notAfter[i] = inspectCertificate(issued.der).notAfter;
      },
      'issuing',
    );
    const toRevoke = serials.map((_, i) => i).filter(isRevoked);
    phase(`revoking ${toRevoke.length} of them (keyCompromise)`);
    const revokeSeconds = await runPool(
      toRevoke.length,
      4,
      async (k) => {
        const i = toRevoke[k]!;
        const record = await changeCertificateStatus(app.ca, 'revoke', { serial: serials[i]!, actor: 'bench', reason: 'keyCompromise' });
        revokedAt[i] = record.revokedAt;
      },
      'revoking',
    );
    const ca = await app.ca.cas.get('eimza');
    return {
      serials,
      revoked: serials.map((_, i) => isRevoked(i)),
      notAfter,
      revokedAt,
      caNameDer: ca.certificate.subjectNameDer,
      caSpki: ca.certificate.subjectPublicKeySpki,
      issueSeconds,
      revokeSeconds,
    };
  } finally {
    await app.close();
  }
}

/** DER requests one after another, each after its length in two bytes (ocsp-wrk.lua reads these). */
function writeRequests(file: string, population: Population, caNameDer: Uint8Array, caSpki: Uint8Array): void {
  const parts: Buffer[] = [];
  for (const serial of population.serials) {
    const der = buildOcspRequest([buildCertId('sha1', caNameDer, caSpki, serial)]);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(der.length);
    parts.push(prefix, Buffer.from(der));
  }
  writeFileSync(file, Buffer.concat(parts));
}

// ---- the OpenSSL responder's index (files: openssl-peer.ts) -------------------------------------

/** Our population as index.txt lists it: revoked ones keyCompromise. */
function indexEntries(population: Population): IndexEntry[] {
  return population.serials.map((serial, i) => ({
    serial,
    notAfter: population.notAfter[i]!,
    revoked: population.revoked[i] ? { at: population.revokedAt[i]!, reason: 'keyCompromise' } : null,
  }));
}

// ---- warm-up and checks --------------------------------------------------------------------------

interface Answer {
  status: number;
  body: Buffer;
}

async function askAll(
  where: Namespace,
  url: string,
  requestsFile: string,
  outFile: string,
  opts: { limit?: number; waitMs?: number; concurrency?: number; requestTimeoutMs?: number } = {},
): Promise<Answer[]> {
  const args = ['--import', 'tsx', CLIENT, url, requestsFile, outFile, '--concurrency', String(opts.concurrency ?? 4), '--wait-ms', String(opts.waitMs ?? 15_000)];
  args.push('--request-timeout-ms', String(opts.requestTimeoutMs ?? 10_000));
  if (opts.limit !== undefined) args.push('--limit', String(opts.limit));
  const r = await runToEnd(where, process.execPath, args, 200_000);
  if (r.code !== 0) throw new Error(`warm-up client failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.slice(-2000)}`);
  const data = readFileSync(outFile);
  const answers: Answer[] = [];
  for (let pos = 0; pos < data.length; ) {
    const status = data.readUInt16BE(pos);
    const length = data.readUInt32BE(pos + 2);
    answers.push({ status, body: data.subarray(pos + 6, pos + 6 + length) });
    pos += 6 + length;
  }
  return answers;
}

/** Probe after a run: does the responder still answer one request (within 3 s)? */
async function stillAnswers(where: Namespace, url: string, requestsFile: string, outFile: string): Promise<boolean> {
  try {
    const [a] = await askAll(where, url, requestsFile, outFile, { limit: 1, waitMs: 3000, concurrency: 1, requestTimeoutMs: 3000 });
    return a?.status === 200;
  } catch {
    return false;
  }
}

/** Every answer against the population; returns the problems found (none: all right). */
function checkAnswers(answers: Answer[], population: Population): string[] {
  const problems: string[] = [];
  const now = Date.now();
  if (answers.length !== population.serials.length) problems.push(`${answers.length} answers for ${population.serials.length} requests`);
  answers.forEach((a, i) => {
    const serial = population.serials[i]!;
    const fail = (what: string) => problems.push(`#${i} ${serial}: ${what}`);
    if (a.status !== 200) return fail(a.status === 0 ? `no answer (${a.body.toString()})` : `HTTP ${a.status}`);
    let info;
    try {
      info = inspectOcspResponse(new Uint8Array(a.body));
    } catch (e) {
      return fail(`unreadable OCSPResponse: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (info.status !== 'successful') return fail(`status ${info.status}`);
    const r = info.responses?.[0];
    if (!r || info.responses!.length !== 1) return fail(`${info.responses?.length ?? 0} SingleResponses`);
    if (r.certId.serial !== serial || r.certId.hash !== 'sha1') return fail(`answers for ${r.certId.hash} ${r.certId.serial}`);
    if (population.revoked[i]) {
      if (r.status.kind !== 'revoked') return fail(`${r.status.kind}, expected revoked`);
      if (r.status.reason !== 'keyCompromise') return fail(`revoked for ${r.status.reason}, expected keyCompromise`);
    } else if (r.status.kind !== 'good') {
      return fail(`${r.status.kind}, expected good`);
    }
    if (!r.nextUpdate || r.nextUpdate.getTime() - now < MIN_AHEAD_MS) return fail(`nextUpdate ${r.nextUpdate?.toISOString() ?? 'absent'}, less than 20 minutes ahead`);
    if (r.thisUpdate.getTime() > now + 5000) return fail(`thisUpdate ${r.thisUpdate.toISOString()} in the future`);
  });
  return problems;
}

function refuseOnProblems(who: string, problems: string[]): void {
  if (problems.length === 0) return;
  throw new BenchRefused(`${who} answered wrongly (${problems.length} problems), no figures reported:\n  ${problems.slice(0, 8).join('\n  ')}`);
}

// ---- wrk -----------------------------------------------------------------------------------------

interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socket: { connect: number; read: number; write: number; timeout: number };
  errors: number;
  /** CPU time of the server (all its processes) per answered request, µs: steadier than req/s on a shared machine. */
  cpuUsPerRequest: number;
  /** wrk did not end by itself and was killed, or exited non-zero. */
  failed: string | null;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

function parseWrk(text: string): Omit<WrkResult, 'failed' | 'cpuUsPerRequest'> {
  const latency = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const s = { connect: Number(socket?.[1] ?? 0), read: Number(socket?.[2] ?? 0), write: Number(socket?.[3] ?? 0), timeout: Number(socket?.[4] ?? 0) };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN),
    requests: Number(/(\d+) requests in /.exec(text)?.[1] ?? NaN),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    non2xx,
    socket: s,
    errors: non2xx + s.connect + s.read + s.write + s.timeout,
  };
}

/** clock ticks per second of /proc/PID/stat (USER_HZ) */
const CLOCK_TICKS = Number(commandOutput('getconf', ['CLK_TCK'])) || 100;

/**
 * CPU seconds used so far by a server process and its children: its own utime+stime, its reaped
 * children's (cutime+cstime: openssl -multi's workers that were replaced), and its live children's.
 */
function cpuSeconds(pid: number): number {
  const fields = (p: number | string): string[] | null => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  // After "pid (comm) ": state ppid … utime(11) stime(12) cutime(13) cstime(14).
  const own = fields(pid);
  if (!own) return NaN;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = fields(entry);
    if (f && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** serverPid: the launched child's pid, which is the server's own (setpriv and nsenter exec it). */
async function runWrk(where: Namespace, url: string, requestsFile: string, connections: number, serverPid: number | undefined): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--timeout', '2s', '--latency', '-s', WRK_SCRIPT, url, '--', requestsFile];
  const cpuBefore = serverPid ? cpuSeconds(serverPid) : NaN;
  const r = await runToEnd(where, 'wrk', args, SECONDS * 1000 + 20_000);
  const cpuAfter = serverPid ? cpuSeconds(serverPid) : NaN;
  const parsed = parseWrk(r.stdout);
  const cpuUsPerRequest = parsed.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / parsed.requests : NaN;
  const failed = r.timedOut ? `wrk did not finish within ${SECONDS + 20} s and was killed` : r.code !== 0 ? `wrk exited ${r.code}: ${r.stderr.trim().slice(-300)}` : null;
  if (!failed && !Number.isFinite(parsed.rps)) return { ...parsed, cpuUsPerRequest, failed: `unreadable wrk output: ${r.stdout.slice(-500)}` };
  return { ...parsed, cpuUsPerRequest, failed };
}

// ---- the runs ------------------------------------------------------------------------------------

interface Row {
  responder: string;
  network: string;
  connections: number;
  result: WrkResult | null;
  notes: string[];
}

const rows: Row[] = [];
const notes: string[] = [];

function record(responder: string, where: Namespace, connections: number, result: WrkResult | null, rowNotes: string[] = []): Row {
  const row: Row = { responder, network: where.label, connections, result, notes: rowNotes };
  if (result?.failed) row.notes.push(result.failed);
  else if (result && result.requests === 0) row.notes.push('no request answered: the responder stopped answering');
  else if (result && result.socket.timeout > 0) row.notes.push(`${result.socket.timeout} requests timed out (> 2 s)`);
  rows.push(row);
  const r = result;
  phase(`${responder} c${connections}: ${r ? `${r.rps.toFixed(0)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, server CPU ${r.cpuUsPerRequest.toFixed(0)} µs/req, errors ${r.errors}` : 'not run'}${row.notes.length ? ` (${row.notes.join('; ')})` : ''}`);
  return row;
}

function usable(r: WrkResult | null | undefined): r is WrkResult {
  return !!r && !r.failed && r.requests > 0 && Number.isFinite(r.rps);
}

async function benchOurs(where: Namespace, dataDir: string, env: NodeJS.ProcessEnv, requestsFile: string, work: string, population: Population): Promise<number> {
  const port = where.nsPath ? 8080 : await freePort();
  const nodeArgs = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : [];
  phase(`starting eimza serve (${where.label})${CPU_PROF_DIR ? ` with --cpu-prof into ${CPU_PROF_DIR}` : ''}`);
  const server = launch(where, process.execPath, [...nodeArgs, EIMZA, '--data-dir', dataDir, 'serve', '--host', HOST, '--port', String(port)], { env });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  try {
    const [, base] = await waitForOutput(server, /health\s+(http:\/\/\S+)\/health/, 120_000, 'eimza serve');
    const url = `${base}/ocsp`;
    phase(`warm-up: ${population.serials.length} requests to ${url}`);
    const started = performance.now();
    const answers = await askAll(where, url, requestsFile, path.join(work, 'answers-eimza.bin'), { concurrency: 8 });
    const warmSeconds = (performance.now() - started) / 1000;
    refuseOnProblems('e-imza', checkAnswers(answers, population));
    const lengths = answers.map((a) => a.body.length);
    const mean = Math.round(lengths.reduce((a, b) => a + b, 0) / lengths.length);
    const good = answers.find((_, i) => !population.revoked[i])!.body.length;
    const revoked = answers.find((_, i) => population.revoked[i])!.body.length;
    notes.push(`e-imza answers: ${good} bytes good, ${revoked} bytes revoked, mean ${mean}; all ${answers.length} warm-up answers checked (warm-up ${warmSeconds.toFixed(1)} s, from the database)`);
    for (const c of CONNECTIONS) {
      const result = await runWrk(where, url, requestsFile, c, server.pid);
      const alive = await stillAnswers(where, url, requestsFile, path.join(work, 'probe-eimza.bin'));
      record('e-imza (eimza serve)', where, c, result, alive ? [] : ['did not answer after the run']);
    }
    return mean;
  } catch (e) {
    if (log) process.stderr.write(`eimza serve log (end):\n${log.slice(-3000)}\n`);
    throw e;
  } finally {
    await stop(server);
  }
}

async function benchBare(where: Namespace, length: number, requestsFile: string, work: string): Promise<void> {
  const port = where.nsPath ? 8081 : await freePort();
  const server = launch(where, process.execPath, ['--import', 'tsx', BARE, String(port), String(length)]);
  try {
    await waitForOutput(server, /listening/, 30_000, 'bare node:http server');
    const url = `http://${HOST}:${port}/ocsp`;
    const answers = await askAll(where, url, requestsFile, path.join(work, 'answers-bare.bin'), { concurrency: 8 });
    const wrong = answers.filter((a) => a.status !== 200 || a.body.length !== length).length;
    if (wrong > 0) throw new Error(`the bare server answered ${wrong} warm-up requests wrongly`);
    for (const c of CONNECTIONS) {
      const result = await runWrk(where, url, requestsFile, c, server.pid);
      const alive = await stillAnswers(where, url, requestsFile, path.join(work, 'probe-bare.bin'));
      record(`bare node:http (${length} B)`, where, c, result, alive ? [] : ['did not answer after the run']);
    }
  } finally {
    await stop(server);
  }
}

/** One `openssl ocsp` responder in `where`; its output goes to a log file (a line per request). */
function startOpenssl(where: Namespace, files: OpensslFiles, extra: string[], port: number, logFile: string): ChildProcess {
  const logFd = openSync(logFile, 'w');
  try {
    return launch(
      where,
      'openssl',
      ['ocsp', '-index', files.index, '-CA', files.caPem, '-rsigner', files.respPem, '-rkey', files.respKey, '-port', String(port), '-ignore_err', '-nmin', '60', ...extra],
      { stdout: logFd, stderr: logFd },
    );
  } finally {
    closeSync(logFd);
  }
}

/** Stops an openssl responder and whatever it forked (-multi's workers are not our children). */
async function stopOpenssl(server: ChildProcess, where: Namespace): Promise<void> {
  await stop(server, 3000);
  for (const pid of pidsIn(where)) {
    if (pid === where.holder?.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

interface OpensslMode {
  label: string;
  extra: string[];
  /** -multi: a row only if it works here; the single-process responder must work. */
  optional: boolean;
  works?: boolean;
}

/**
 * Before anything is measured: every request once to this mode's responder, every answer checked
 * (wrong answers refuse the whole benchmark; an optional mode that answers nothing is left out).
 */
async function checkOpenssl(mode: OpensslMode, files: OpensslFiles, requestsFile: string, work: string, population: Population): Promise<void> {
  const where = await privateNamespace(MAX_MINUTES, mode.label);
  const port = 8090;
  const server = startOpenssl(where, files, mode.extra, port, path.join(work, `openssl-check${mode.extra.join('')}.log`));
  try {
    phase(`${mode.label}: warm-up and check, ${population.serials.length} requests`);
    let answers: Answer[];
    try {
      answers = await askAll(where, `http://${HOST}:${port}/ocsp`, requestsFile, path.join(work, 'answers-openssl.bin'), { concurrency: 4 });
    } catch (e) {
      if (!mode.optional) throw e;
      notes.push(`${mode.label}: does not work here (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); no row`);
      mode.works = false;
      return;
    }
    if (mode.optional && answers.every((a) => a.status === 0)) {
      notes.push(`${mode.label}: answered none of the warm-up requests; no row`);
      mode.works = false;
      return;
    }
    refuseOnProblems(mode.label, checkAnswers(answers, population));
    const mean = Math.round(answers.reduce((n, a) => n + a.body.length, 0) / answers.length);
    notes.push(`${mode.label}: answers mean ${mean} bytes; all ${answers.length} warm-up answers checked`);
    mode.works = true;
  } finally {
    await stopOpenssl(server, where);
    closeNamespace(where);
  }
}

/** `openssl ocsp` started afresh for each run: once a client has closed on it, it answers no more. */
async function benchOpenssl(mode: OpensslMode, files: OpensslFiles, requestsFile: string, work: string): Promise<void> {
  if (!mode.works) return;
  const where = await privateNamespace(MAX_MINUTES, mode.label);
  try {
    let port = 8090;
    for (const c of CONNECTIONS) {
      port++;
      const server = startOpenssl(where, files, mode.extra, port, path.join(work, `openssl${mode.extra.join('')}-c${c}.log`));
      const url = `http://${HOST}:${port}/ocsp`;
      const probe = path.join(work, 'probe-openssl.bin');
      try {
        // Ready when it answers one request (it does not say when it listens).
        const [first] = await askAll(where, url, requestsFile, probe, { limit: 1, waitMs: 15_000, concurrency: 1, requestTimeoutMs: 5000 }).catch(() => []);
        if (first?.status !== 200) {
          record(mode.label, where, c, null, ['did not answer before the run']);
          continue;
        }
        const result = await runWrk(where, url, requestsFile, c, server.pid);
        const alive = await stillAnswers(where, url, requestsFile, probe);
        record(mode.label, where, c, result, alive ? [] : ['stopped answering after the run']);
      } finally {
        await stopOpenssl(server, where);
      }
    }
  } finally {
    closeNamespace(where);
  }
}

// ---- report --------------------------------------------------------------------------------------

function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)}s` : ms >= 10 ? `${ms.toFixed(1)}ms` : `${ms.toFixed(2)}ms`;
}

function printTable(): void {
  const header = ['responder', 'network', 'conns', 'req/s', 'p50', 'p99', 'server CPU/req', 'errors'];
  const body = rows.map((r) => {
    const x = r.result;
    const errors = x ? `${x.errors}${x.errors ? ` (non-2xx ${x.non2xx}, connect ${x.socket.connect}, read ${x.socket.read}, write ${x.socket.write}, timeout ${x.socket.timeout})` : ''}` : '-';
    const cpu = x && Number.isFinite(x.cpuUsPerRequest) ? `${x.cpuUsPerRequest.toFixed(0)} µs` : '-';
    return [r.responder, r.network, String(r.connections), x ? x.rps.toFixed(0) : '-', x ? fmtMs(x.p50Ms) : '-', x ? fmtMs(x.p99Ms) : '-', cpu, errors];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const r of rows) for (const n of r.notes) console.log(`  ! ${r.responder} c${r.connections}: ${n}`);
}

function printTargets(): boolean {
  const find = (prefix: string, c: number) => rows.find((r) => r.responder.startsWith(prefix) && r.connections === c)?.result;
  let allMet = true;
  const verdict = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'NOT MET');
  for (const c of CONNECTIONS) {
    const ours = find('e-imza', c);
    const ossl = find('openssl ocsp (single', c);
    const multi = find('openssl ocsp -multi', c);
    const bare = find('bare', c);
    const lines: string[] = [];
    if (!usable(ours)) {
      lines.push('e-imza: no usable run');
      allMet = false;
    } else {
      const oursOk = ours.errors === 0;
      if (!oursOk) lines.push(`e-imza had ${ours.errors} errors`);
      if (usable(ossl)) {
        const ratio = ours.rps / ossl.rps;
        const met = ratio >= 2;
        const p99met = ours.p99Ms <= ossl.p99Ms;
        allMet &&= met && p99met && oursOk;
        lines.push(`ours / openssl req/s = ${ratio.toFixed(2)}× (target ≥ 2×: ${verdict(met)})`);
        lines.push(`our p99 ${fmtMs(ours.p99Ms)} vs openssl p99 ${fmtMs(ossl.p99Ms)} (target ≤: ${verdict(p99met)})`);
      } else {
        allMet = false;
        lines.push(`ours / openssl: ${verdict(null)} (openssl gave no usable run)`);
      }
      if (usable(multi)) lines.push(`(ours / openssl -multi 2 req/s = ${(ours.rps / multi.rps).toFixed(2)}×, p99 ${fmtMs(ours.p99Ms)} vs ${fmtMs(multi.p99Ms)})`);
      if (usable(bare)) {
        const share = ours.rps / bare.rps;
        const met = share >= 0.7;
        allMet &&= met;
        lines.push(`ours / bare node:http req/s = ${(share * 100).toFixed(0)}% (target ≥ 70%: ${verdict(met)})`);
      } else {
        allMet = false;
        lines.push(`ours / bare: ${verdict(null)} (no usable bare run)`);
      }
    }
    console.log(`${c} connections:`);
    for (const l of lines) console.log(`  ${l}`);
  }
  console.log(allMet ? 'all targets met' : 'some targets NOT met (or not measurable)');
  return allMet;
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  ensureWrk();
  for (const tool of ['openssl', 'ip', 'unshare', 'nsenter']) {
    if (spawnSync('which', [tool], { stdio: 'ignore' }).status !== 0) throw new Error(`${tool} is needed`);
  }
  if (CPU_PROF_DIR) mkdirSync(CPU_PROF_DIR, { recursive: true });
  const work = tempDir('eimza-bench-ocsp-');
  if (!values.keep) workToRemove = work;
  const dataDir = path.join(work, 'data');
  mkdirSync(dataDir);
  let schema: string | null = null;
  try {
    const env: Record<string, string> = { EIMZA_KEYSTORE: 'software', EIMZA_KEYSTORE_PASSPHRASE: 'bench' };
    if (pgUrl) {
      schema = `bench_ocsp_${randomBytes(4).toString('hex')}`;
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`create schema ${schema}`);
      await client.end();
      const u = new URL(pgUrl);
      u.searchParams.set('options', `-c search_path=${schema}`);
      env.DATABASE_URL = u.toString();
    }
    const population = await populate(dataDir, env);
    const revokedCount = population.revoked.filter(Boolean).length;

    const oursRequests = path.join(work, 'requests-eimza.bin');
    writeRequests(oursRequests, population, population.caNameDer, population.caSpki);
    const files = opensslFiles(path.join(work, 'openssl'), indexEntries(population));
    const opensslCa = inspectCertificate(decodePemOrDer(readFileSync(files.caPem, 'utf8'), 'CERTIFICATE'));
    const opensslRequests = path.join(work, 'requests-openssl.bin');
    writeRequests(opensslRequests, population, opensslCa.subjectNameDer, opensslCa.subjectPublicKeySpki);

    let canNamespace = true;
    try {
      closeNamespace(await privateNamespace(MAX_MINUTES, 'check'));
    } catch (e) {
      canNamespace = false;
      notes.push(`no private network namespace (${e instanceof Error ? e.message.split('\n')[0] : String(e)}; needs root): openssl ocsp, which binds every interface, is not run`);
    }
    // Our server and the bare one run alike: each in a namespace of its own, unless the database
    // is outside (BENCH_DATABASE_URL), which a namespace with only loopback cannot reach.
    const sameAsOpenssl = canNamespace && !pgUrl;

    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!pgUrl) delete childEnv.DATABASE_URL;
    delete childEnv.EIMZA_PORT;
    delete childEnv.EIMZA_HOST;
    delete childEnv.EIMZA_CONFIG;

    // OpenSSL's answers are checked before anything is measured, ours before ours are measured:
    // no figure is printed unless every responder answered right.
    const opensslModes: OpensslMode[] = [
      { label: 'openssl ocsp (single process)', extra: [], optional: false },
      { label: 'openssl ocsp -multi 2', extra: ['-multi', '2'], optional: true },
    ];
    if (canNamespace) for (const mode of opensslModes) await checkOpenssl(mode, files, opensslRequests, work, population);

    const oursNet = sameAsOpenssl ? await privateNamespace(MAX_MINUTES, 'e-imza') : MACHINE_LOOPBACK;
    let length: number;
    try {
      length = await benchOurs(oursNet, dataDir, childEnv, oursRequests, work, population);
    } finally {
      closeNamespace(oursNet);
    }
    const bareNet = sameAsOpenssl ? await privateNamespace(MAX_MINUTES, 'bare') : MACHINE_LOOPBACK;
    try {
      await benchBare(bareNet, length, oursRequests, work);
    } finally {
      closeNamespace(bareNet);
    }
    if (canNamespace) for (const mode of opensslModes) await benchOpenssl(mode, files, opensslRequests, work);

    console.log();
    console.log(`bench:ocsp — machine: ${machine()}`);
    console.log(
      `population: ${CERTS} certificates (profile authentication, P-256 keys, P-256 CA), ${revokedCount} revoked keyCompromise; database ${pgUrl ? 'postgres' : 'pglite'}; ` +
        `issued in ${population.issueSeconds.toFixed(1)} s (${(CERTS / population.issueSeconds).toFixed(0)} certs/s), revoked in ${population.revokeSeconds.toFixed(1)} s`,
    );
    console.log(
      `load: wrk -t1, ${SECONDS} s per run, POST /ocsp, one SHA-1 CertID without nonce per request, cycling through all ${CERTS} serials; ` +
        `network: netns = a private network namespace with only lo (127.0.0.1), loopback = the machine's 127.0.0.1`,
    );
    console.log('openssl ocsp answers HTTP/1.0 and closes the connection after every answer, so wrk reconnects for each of its requests; ours and the bare server keep connections alive');
    if (rows.some((r) => r.responder.startsWith('openssl') && r.notes.some((n) => n.startsWith('stopped answering')))) {
      console.log(
        'openssl ocsp 3.0 never recovers from a connection closed before it answered (it loops on read() = 0 with a stat of index.txt, 100% CPU, accepting nothing): ' +
          "wrk closes such connections when a run ends, so openssl is started afresh for each run, and ocsp-wrk.lua skips wrk's start-up probe connection, which would stall it before the first request",
      );
    }
    for (const n of notes) console.log(`note: ${n}`);
    console.log();
    printTable();
    console.log();
    printTargets();
    if (CPU_PROF_DIR) console.log(`CPU profile of eimza serve: ${readdirSync(CPU_PROF_DIR).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(CPU_PROF_DIR, f)).join(', ')}`);
    if (values.keep) console.log(`kept: ${work}`);
    return 0;
  } finally {
    killEverything();
    if (schema && pgUrl) await dropSchema(pgUrl, schema).catch((e: unknown) => process.stderr.write(`could not drop schema ${schema}: ${String(e)}\n`));
    if (workToRemove) removeDir(workToRemove);
    workToRemove = null;
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  progressDone();
  if (e instanceof BenchRefused) process.stderr.write(`\n${e.message}\n`);
  else process.stderr.write(`\nbench:ocsp failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
