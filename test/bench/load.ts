/**
 * `npm run bench:load` — the whole service under a mixed load on loopback for a fixed time: OCSP
 * (most of the requests), the public status page, the registration desks' API, and batch issuance
 * running all the while. Reports throughput, p50/p99/max and status counts per endpoint, the
 * batch issuance rate, the server's RSS at the start and end of the window (and its peak) and its
 * event-loop delay; checks the targets "5xx = 0" and "OCSP p99 < 20 ms while a batch runs" (exit
 * 1 when one fails). Beside it, the same OCSP mix with no other load, against our server and
 * against `openssl ocsp -index` as the peer.
 *
 *   npm run bench:load
 *   BENCH_SECONDS=600 npm run bench:load                 (the 10-minute figure for memory)
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:load
 *
 * Environment (defaults): BENCH_SECONDS (60) the measured window, after BENCH_WARMUP_SECONDS (5)
 * of the same load unrecorded; BENCH_USERS (8) closed-loop virtual users; BENCH_MIX
 * ("ocspPost=44,ocspGet=28,ocspNonce=8,statusPage=8,deskRead=8,deskWrite=4") the weights by which
 * each user draws its next request; BENCH_BATCH_SIZE (500) and BENCH_BATCHES_IN_FLIGHT (2);
 * BENCH_CERTS (600) the certificates issued before the run; BENCH_PEER_SECONDS (10) each
 * OCSP-only run; BENCH_BATCH_WORKER=1 (with BENCH_DATABASE_URL) starts serve with
 * EIMZA_BATCH_WORKERS=0 and a separate `eimza batch worker` process for the batches;
 * BENCH_CPU_PROF=DIR runs the server under node --cpu-prof; BENCH_KEEP=1 keeps the
 * temporary directory (server log included); BENCH_MAX_MINUTES (SECONDS/60 + 20) a watchdog.
 *
 * 1. Population, in-process before the server starts (a fresh data directory: software key store,
 *    PGlite, or PostgreSQL in a private schema `bench_load_…` when BENCH_DATABASE_URL is set, both
 *    it and its `_jobs` schema dropped at the end): a P-256 hierarchy (`ca init`), four offices
 *    with a clerk and a supervisor each, a personalisation-centre token; BENCH_CERTS certificates
 *    (signature and authentication) for BENCH_CERTS/3 holders, 10% suspended and 10% revoked for
 *    four reasons.
 * 2. `eimza serve --port 0` as a child process (stderr to the log file). Warm-up: every OCSP
 *    request once through ocsp-client.ts and every answer checked (status, serial, reason,
 *    nextUpdate ≥ 20 min; nonce echoed; GET too), and one batch of 200 items, whose rate sizes
 *    the pool of CSRs made before the window (load-csrs.ts, one process per core): no key is
 *    made while the load runs.
 * 3. OCSP alone: load-client.ts in mode `ocsp`, the same users drawing only the OCSP kinds.
 * 4. The mixed run: load-client.ts in mode `mixed`. Meanwhile this process reads the server's
 *    VmRSS from /proc every second and its /metrics every 2 s (event-loop delay, V8 heap used,
 *    external memory, and on PGlite the database thread's WebAssembly memory and heap).
 * 5. The peer: `openssl ocsp -index … -port …` (own P-256 CA and delegated responder, an index.txt
 *    with the same serials and statuses), checked like ours, then loaded by the same client in
 *    mode `ocsp`. openssl binds every interface, so it and its client run in a private network
 *    namespace with only loopback (unshare -n; root); without one the peer is left out.
 *
 * The load generator is one thread (node:http, keep-alive): in the mixed run it needs 5-15% of a
 * core (printed), so the server has a core to itself (PGlite runs on the server's own thread;
 * PostgreSQL, when used, shares the other core with the generator).
 * Status-page requests come from 4096 loopback addresses (127.1.x.y), 50 each, as citizens do from
 * many: the page's per-address limit (60 a minute) is not what is measured.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/context.js';
import type { Serial } from '../../src/domain/serial.js';
import { addOffice, addOperator } from '../../src/ra/principals.js';
import { dropSchema } from '../../src/store/database.js';
import { octetString } from '../../src/x509/der-writer.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { decodePemOrDer, pemEncode } from '../../src/x509/pem.js';
import { removeDir, tempDir } from '../helpers/env.js';
import type { LatencySummary, LoadClientConfig, LoadMix, LoadResult, RouteResult } from './load-client.js';
import { p256CsrDer } from './load-csrs.js';
import { runPool } from './pool.js';
import { opensslFiles, type IndexEntry } from './openssl-peer.js';
import { closeNamespace, killEverything, launch, privateNamespace, runToEnd, stop, waitForOutput, type Namespace } from './processes.js';

// ---- settings ------------------------------------------------------------------------------------

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

const SECONDS = envInt('BENCH_SECONDS', 60, 5, 24 * 3600);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 5, 0, 600);
const USERS = envInt('BENCH_USERS', 8, 1, 1000);
const BATCH_SIZE = envInt('BENCH_BATCH_SIZE', 500, 1, 1000);
const BATCHES_IN_FLIGHT = envInt('BENCH_BATCHES_IN_FLIGHT', 2, 0, 20);
const CERTS = envInt('BENCH_CERTS', 600, 30, 1_000_000);
const PEER_SECONDS = envInt('BENCH_PEER_SECONDS', 10, 0, 600);
const MAX_MINUTES = envInt('BENCH_MAX_MINUTES', Math.ceil(SECONDS / 60) + 20, 1, 10_000);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
const KEEP = process.env.BENCH_KEEP === '1';
const pgUrl = process.env.BENCH_DATABASE_URL || null;
/** Batches worked by a separate `eimza batch worker` (serve with EIMZA_BATCH_WORKERS=0); PostgreSQL only. */
const BATCH_WORKER = process.env.BENCH_BATCH_WORKER === '1';
if (BATCH_WORKER && !pgUrl) throw new Error('BENCH_BATCH_WORKER=1 needs BENCH_DATABASE_URL (a batch worker of its own needs PostgreSQL)');

const DEFAULT_MIX: LoadMix = { ocspPost: 44, ocspGet: 28, ocspNonce: 8, statusPage: 8, deskRead: 8, deskWrite: 4 };
const MIX: LoadMix = { ...DEFAULT_MIX };
for (const part of (process.env.BENCH_MIX ?? '').split(',').filter(Boolean)) {
  const [k, v] = part.split('=');
  if (!k || !(k in DEFAULT_MIX) || !(Number(v) >= 0)) throw new Error(`BENCH_MIX: ${part}? (keys ${Object.keys(DEFAULT_MIX).join(', ')})`);
  MIX[k as keyof LoadMix] = Number(v);
}
/** The OCSP-only runs draw the three OCSP kinds by the same relative weights. */
const OCSP_MIX: LoadMix = { ocspPost: MIX.ocspPost, ocspGet: MIX.ocspGet, ocspNonce: MIX.ocspNonce, statusPage: 0, deskRead: 0, deskWrite: 0 };
const NONCE_REQUESTS = 2000;
const TARGET_P99_MS = 20;
/** X-Road wants nextUpdate at least 20 minutes ahead. */
const MIN_AHEAD_MS = 20 * 60_000;

const ROOT = path.resolve(import.meta.dirname, '../..');
const EIMZA = path.join(ROOT, 'cli/eimza.js');
const CLIENT = path.join(ROOT, 'test/bench/load-client.ts');
const WARM_CLIENT = path.join(ROOT, 'test/bench/ocsp-client.ts');
const CSR_MAKER = path.join(ROOT, 'test/bench/load-csrs.ts');
const HOST = '127.0.0.1';
const loadAtStart = os.loadavg()[0]!.toFixed(2);

function phase(text: string): void {
  process.stderr.write(`-- ${text}\n`);
}

class BenchRefused extends Error {}

// ---- child processes (test/bench/processes.ts) ---------------------------------------------------

let workToRemove: string | null = null;

process.on('exit', () => {
  killEverything();
  if (workToRemove) removeDir(workToRemove);
});
/** The PostgreSQL schema of this run, dropped however the run ends (main's finally, or a signal). */
let schemaToDrop: string | null = null;

async function dropRunSchemas(): Promise<void> {
  const schema = schemaToDrop;
  schemaToDrop = null;
  if (!schema || !pgUrl) return;
  for (const s of [schema, `${schema}_jobs`]) await dropSchema(pgUrl, s).catch((e: unknown) => process.stderr.write(`could not drop schema ${s}: ${String(e)}\n`));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping every child\n`);
    killEverything();
    const exit = () => process.exit(130);
    setTimeout(exit, 10_000).unref();
    void dropRunSchemas().finally(exit);
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`\nbench:load still running after ${MAX_MINUTES} minutes (BENCH_MAX_MINUTES): stopped\n`);
  process.exit(2);
}, MAX_MINUTES * 60_000);
watchdog.unref();

/**
 * What `cli/eimza.js` will run: its esbuild bundle when that is newer than every source (the rule
 * of cli/eimza.js, repeated here only to say so in the report), else the sources through tsx.
 */
function serverCode(): string {
  const bundle = path.join(ROOT, 'node_modules/.cache/eimza/eimza.mjs');
  if (process.env.EIMZA_FROM_SOURCES || !existsSync(bundle)) return 'sources through tsx';
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const f = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(f) : e.name.endsWith('.ts') ? statSync(f).mtimeMs : 0);
    }, 0);
  const built = statSync(bundle).mtimeMs;
  return ['src', 'cli', 'hsm', 'migrations'].every((d) => newest(path.join(ROOT, d)) < built) ? 'the esbuild bundle' : 'sources through tsx (the bundle is older)';
}

// ---- /proc ---------------------------------------------------------------------------------------

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds (user + system) of a process, with its reaped children's (openssl -multi does not run here). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM of a process, MiB. */
function memory(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

// ---- population ----------------------------------------------------------------------------------

type Status = 'active' | 'suspended' | 'revoked';
const REASONS = ['keyCompromise', 'cessationOfOperation', 'affiliationChanged', 'superseded'] as const;

interface Population {
  serials: Serial[];
  status: Status[];
  reason: (string | null)[];
  revokedAt: (Date | null)[];
  notAfter: Date[];
  fins: string[];
  caNameDer: Uint8Array;
  caSpki: Uint8Array;
  desks: { office: string; clerk: string; supervisor: string }[];
  personalisationToken: string;
  seconds: number;
}

function finFor(n: number): string {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  let s = '';
  for (let i = 0, v = n + 34 ** 6; i < 7; i++, v = Math.floor(v / 34)) s = alphabet[v % 34] + s;
  return s;
}

const statusOf = (i: number): Status => (i % 10 === 3 ? 'suspended' : i % 10 === 7 ? 'revoked' : 'active');

async function populate(dataDir: string, env: Record<string, string>): Promise<Population> {
  const started = performance.now();
  phase(`population: CA hierarchy, offices and operators, ${CERTS} certificates`);
  const csrs = Array.from({ length: CERTS }, () => p256CsrDer());
  const app = await openContext(loadConfig(dataDir, env));
  try {
    await runOperation(operationContext(app, 'bench', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' }), 'ca.init', {});
    const offices = [
      { code: 'AZP-BAKU-01', kind: 'post-office' as const, name: 'Azərpoçt Bakı 1' },
      { code: 'AZP-GANJA-01', kind: 'post-office' as const, name: 'Azərpoçt Gəncə 1' },
      { code: 'ASAN-1', kind: 'asan' as const, name: 'ASAN xidmət №1' },
      { code: 'ASAN-2', kind: 'asan' as const, name: 'ASAN xidmət №2' },
      { code: 'HQ', kind: 'hq' as const, name: 'e-imza headquarters' },
    ];
    for (const o of offices) await addOffice(app.ra, { ...o, region: 'Bakı', actor: 'bench' });
    const token = async (name: string, officeCode: string, role: string) => (await addOperator(app.ra, { name, officeCode, role, actor: 'bench' })).token;
    const desks = [];
    for (const o of offices.filter((x) => x.kind !== 'hq')) {
      desks.push({ office: o.code, clerk: await token(`clerk ${o.code}`, o.code, 'clerk'), supervisor: await token(`supervisor ${o.code}`, o.code, 'supervisor') });
    }
    const personalisationToken = await token('ID-card personalisation centre', 'HQ', 'personalisation-centre');

    const serials: Serial[] = new Array(CERTS);
    const notAfter: Date[] = new Array(CERTS);
    const fins = Array.from({ length: Math.ceil(CERTS / 3) }, (_, i) => finFor(i));
    await runPool(
      CERTS,
      8,
      async (i) => {
        const issued = await issueCertificate(app.ca, {
          profile: i % 2 ? 'authentication' : 'signature',
          csr: csrs[i]!,
          holder: { fin: fins[Math.floor(i / 3)]!, givenName: 'Bench', surname: 'Mark' },
          keyOnSecureDevice: true,
          actor: 'bench',
        });
        serials[i] = issued.serial;
        notAfter[i] = inspectCertificate(issued.der).notAfter;
      },
      'issuing',
    );
    const status = serials.map((_, i) => statusOf(i));
    const reason: (string | null)[] = status.map((s, i) => (s === 'revoked' ? REASONS[Math.floor(i / 10) % REASONS.length]! : s === 'suspended' ? 'certificateHold' : null));
    const revokedAt: (Date | null)[] = new Array(CERTS).fill(null);
    const changes = serials.map((_, i) => i).filter((i) => status[i] !== 'active');
    await runPool(
      changes.length,
      4,
      async (k) => {
        const i = changes[k]!;
        const record =
          status[i] === 'suspended'
            ? await changeCertificateStatus(app.ca, 'suspend', { serial: serials[i]!, actor: 'bench' })
            : await changeCertificateStatus(app.ca, 'revoke', { serial: serials[i]!, actor: 'bench', reason: reason[i]! });
        revokedAt[i] = record.revokedAt;
      },
      'status changes',
    );
    const ca = await app.ca.cas.get('eimza');
    return {
      serials,
      status,
      reason,
      revokedAt,
      notAfter,
      fins,
      caNameDer: ca.certificate.subjectNameDer,
      caSpki: ca.certificate.subjectPublicKeySpki,
      desks,
      personalisationToken,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await app.close();
  }
}

/** Length-prefixed DER requests (ocsp-wrk.lua's format): one SHA-1 CertID each, with a fresh nonce or without. */
function writeRequests(file: string, p: Population, caNameDer: Uint8Array, caSpki: Uint8Array, nonce: boolean): void {
  const parts: Buffer[] = [];
  const count = nonce ? NONCE_REQUESTS : p.serials.length;
  for (let i = 0; i < count; i++) {
    const serial = p.serials[i % p.serials.length]!;
    const der = buildOcspRequest([buildCertId('sha1', caNameDer, caSpki, serial)], nonce ? octetString(randomBytes(16)) : undefined);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(der.length);
    parts.push(prefix, Buffer.from(der));
  }
  writeFileSync(file, Buffer.concat(parts));
}

function readRequests(file: string): Buffer[] {
  const data = readFileSync(file);
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; pos += 2 + data.readUInt16BE(pos)) out.push(data.subarray(pos + 2, pos + 2 + data.readUInt16BE(pos)));
  return out;
}

// ---- the OpenSSL responder's index (files: openssl-peer.ts) -------------------------------------

/** Our population as index.txt lists it; openssl wants a hold instruction with certificateHold. */
function indexEntries(p: Population): IndexEntry[] {
  return p.serials.map((serial, i) => ({
    serial,
    notAfter: p.notAfter[i]!,
    revoked: p.status[i] === 'active' ? null : { at: p.revokedAt[i]!, reason: p.status[i] === 'suspended' ? 'certificateHold,holdInstructionNone' : p.reason[i]! },
  }));
}

// ---- answers -------------------------------------------------------------------------------------

interface Answer {
  status: number;
  body: Buffer;
}

/** Every request of the file once through ocsp-client.ts (in `where`); the answers in order. */
async function askAll(where: Namespace | null, url: string, requestsFile: string, outFile: string, opts: { limit?: number; concurrency?: number } = {}): Promise<Answer[]> {
  const args = ['--import', 'tsx', WARM_CLIENT, url, requestsFile, outFile, '--concurrency', String(opts.concurrency ?? 4)];
  if (opts.limit !== undefined) args.push('--limit', String(opts.limit));
  const r = await runToEnd(where, process.execPath, args, 200_000, { stderrTail: 20_000 });
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

/** The answers to requests for serials p.serials[i % n] (nonces: the request's, to be echoed); the problems found. */
function checkAnswers(answers: Answer[], p: Population, nonces: (Uint8Array | null)[] | null): string[] {
  const problems: string[] = [];
  const now = Date.now();
  answers.forEach((a, k) => {
    const i = k % p.serials.length;
    const serial = p.serials[i]!;
    const fail = (what: string) => problems.push(`#${k} ${serial}: ${what}`);
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
    if (r.certId.serial !== serial) return fail(`answers for ${r.certId.serial}`);
    const expected = p.status[i];
    if (expected === 'active' && r.status.kind !== 'good') return fail(`${r.status.kind}, expected good`);
    if (expected !== 'active') {
      if (r.status.kind !== 'revoked') return fail(`${r.status.kind}, expected revoked`);
      if (r.status.reason !== p.reason[i]) return fail(`revoked for ${r.status.reason}, expected ${p.reason[i]}`);
    }
    if (!r.nextUpdate || r.nextUpdate.getTime() - now < MIN_AHEAD_MS) return fail(`nextUpdate ${r.nextUpdate?.toISOString() ?? 'absent'}, less than 20 minutes ahead`);
    const nonce = nonces?.[k];
    if (nonce && !(info.nonce && Buffer.from(info.nonce).equals(Buffer.from(nonce)))) return fail('the nonce is not echoed');
  });
  return problems;
}

/** The nonce (extnValue contents) of each request of a nonce file, to compare with the answers' echo. */
function noncesOf(file: string): Uint8Array[] {
  // buildOcspRequest puts the extension last: ... OID 1.3.6.1.5.5.7.48.1.2, OCTET STRING { OCTET STRING (16) }.
  return readRequests(file).map((der) => der.subarray(der.length - 18));
}

function refuseOnProblems(who: string, problems: string[]): void {
  if (problems.length === 0) return;
  throw new BenchRefused(`${who} answered wrongly (${problems.length} problems), no figures reported:\n  ${problems.slice(0, 8).join('\n  ')}`);
}

// ---- the load client -----------------------------------------------------------------------------

interface ClientRun {
  result: LoadResult;
  /** Load generator CPU over the window, seconds. */
  clientCpu: number;
  /** The responder's CPU over the window, seconds. */
  serverCpu: number;
  /** The batch worker's CPU over the window, seconds (NaN without one). */
  workerCpu: number;
  samples: Sample[];
  windowStartRss: number;
  windowEndRss: number;
}

interface Sample {
  /** seconds since the window started */
  t: number;
  rss: number;
  heapUsed: number | null;
  /** V8 heap committed (heap total), MiB. */
  heapTotal: number | null;
  /** process.memoryUsage().external of the server's main thread, MiB (ArrayBuffers). */
  external: number | null;
  /** The embedded database thread (PGlite), MiB: its WebAssembly memory and its V8 heap used; null on PostgreSQL. */
  dbWasm: number | null;
  dbHeap: number | null;
  loopP99: number | null;
  loopMax: number | null;
}

/** First and last value of a memory figure over the samples that have it, "a → b". */
function range(samples: Sample[], key: 'heapUsed' | 'external' | 'dbWasm' | 'dbHeap'): string {
  const values = samples.map((s) => s[key]).filter((v): v is number => v !== null);
  return values.length ? `${values[0]!.toFixed(0)} → ${values[values.length - 1]!.toFixed(0)}` : '-';
}

/** /metrics, the few gauges we read (prom-client resets the event-loop histogram at each scrape). */
async function scrape(base: string): Promise<Omit<Sample, 't' | 'rss'>> {
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const g = (name: string, labels = '(?:\\{[^}]*\\})?') => {
      const m = new RegExp(`^${name}${labels} ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    const mib = (v: number | null) => (v === null ? null : v / 2 ** 20);
    const msOf = (v: number | null) => (v === null ? null : v * 1000);
    return {
      heapUsed: mib(g('nodejs_heap_size_used_bytes')),
      heapTotal: mib(g('nodejs_heap_size_total_bytes')),
      external: mib(g('nodejs_external_memory_bytes')),
      dbWasm: mib(g('eimza_embedded_database_memory_bytes', '\\{area="webassembly"\\}')),
      dbHeap: mib(g('eimza_embedded_database_memory_bytes', '\\{area="heap"\\}')),
      loopP99: msOf(g('nodejs_eventloop_lag_p99_seconds')),
      loopMax: msOf(g('nodejs_eventloop_lag_max_seconds')),
    };
  } catch {
    return { heapUsed: null, heapTotal: null, external: null, dbWasm: null, dbHeap: null, loopP99: null, loopMax: null };
  }
}

async function runClient(
  where: Namespace | null,
  config: LoadClientConfig,
  work: string,
  name: string,
  server: { pid: number | undefined; metricsBase: string | null; workerPid?: number | undefined },
): Promise<ClientRun> {
  const configFile = path.join(work, `client-${name}.json`);
  const resultFile = path.join(work, `result-${name}.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const child = launch(where, process.execPath, ['--import', 'tsx', CLIENT, configFile, resultFile]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)));
  const samples: Sample[] = [];
  let windowStart = 0;
  let inWindow = false;
  let clientCpu0 = NaN;
  let serverCpu0 = NaN;
  let clientCpu = NaN;
  let serverCpu = NaN;
  let windowStartRss = NaN;
  let windowEndRss = NaN;
  let workerCpu0 = NaN;
  let workerCpu = NaN;
  let sampling: NodeJS.Timeout | null = null;
  let scraping: NodeJS.Timeout | null = null;
  let lastScrape: Awaited<ReturnType<typeof scrape>> = { heapUsed: null, heapTotal: null, external: null, dbWasm: null, dbHeap: null, loopP99: null, loopMax: null };
  const sample = () => samples.push({ t: (Date.now() - windowStart) / 1000, rss: memory(server.pid).rss, ...lastScrape });
  const done = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (;;) {
        const nl = out.indexOf('\n');
        if (nl < 0) break;
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('window-start')) {
          windowStart = Date.now();
          inWindow = true;
          clientCpu0 = cpuSeconds(child.pid);
          serverCpu0 = cpuSeconds(server.pid);
          workerCpu0 = cpuSeconds(server.workerPid);
          windowStartRss = memory(server.pid).rss;
          if (server.metricsBase) {
            const base = server.metricsBase;
            void scrape(base); // resets the event-loop histogram: what follows is the window's
            scraping = setInterval(() => void scrape(base).then((s) => (lastScrape = s)), 2000);
          }
          sampling = setInterval(() => {
            if (inWindow) sample();
          }, 1000);
        } else if (line.startsWith('window-end')) {
          inWindow = false;
          clientCpu = cpuSeconds(child.pid) - clientCpu0;
          serverCpu = cpuSeconds(server.pid) - serverCpu0;
          workerCpu = cpuSeconds(server.workerPid) - workerCpu0;
          windowEndRss = memory(server.pid).rss;
          if (sampling) clearInterval(sampling);
          if (scraping) clearInterval(scraping);
        }
      }
    });
    child.once('exit', (code) => {
      if (sampling) clearInterval(sampling);
      if (scraping) clearInterval(scraping);
      if (code === 0) resolve();
      else reject(new Error(`load client ${name} exited ${code}: ${stderr.slice(-3000)}`));
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), (config.warmupSeconds + config.seconds + 240) * 1000);
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
  return { result: JSON.parse(readFileSync(resultFile, 'utf8')) as LoadResult, clientCpu, serverCpu, workerCpu, samples, windowStartRss, windowEndRss };
}

// ---- the server ----------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  base: string;
  logFile: string;
}

async function startServer(dataDir: string, env: NodeJS.ProcessEnv, logFile: string): Promise<Server> {
  const nodeArgs = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : [];
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = launch(null, process.execPath, [...nodeArgs, EIMZA, '--data-dir', dataDir, 'serve', '--host', HOST, '--port', '0'], { env, stderr: logFd });
  } finally {
    closeSync(logFd);
  }
  const [, base] = await waitForOutput(child, /health\s+(http:\/\/\S+)\/health/, 120_000, 'eimza serve');
  child.stdout!.resume();
  return { child, base: base!, logFile };
}

/** Error lines of the server's log (pino level ≥ 50), the first few messages. */
function logErrors(logFile: string): { count: number; first: string[] } {
  const first: string[] = [];
  let count = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!/"level":(5|6)\d/.test(line)) continue;
    count++;
    if (first.length < 3) first.push(line.slice(0, 400));
  }
  return { count, first };
}

/** One batch through the API, polled until done: the rate of an otherwise idle server. */
async function warmupBatch(base: string, token: string, size: number): Promise<{ rate: number; failed: number }> {
  const items = Array.from({ length: size }, (_, i) => ({
    id: `warm-${i}`,
    profile: i % 2 ? 'authentication' : 'signature',
    holder: { fin: finFor(1_000_000 + i), givenName: 'Aysel', surname: 'Məmmədova' },
    csr: pemEncode('CERTIFICATE REQUEST', p256CsrDer()),
  }));
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const started = performance.now();
  const r = await fetch(`${base}/api/v1/batches`, { method: 'POST', headers, body: JSON.stringify({ id: `warm-up-${randomBytes(4).toString('hex')}`, items }) });
  const body = (await r.json()) as { id?: string };
  if (r.status !== 202 || !body.id) throw new Error(`warm-up batch refused: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const v = (await (await fetch(`${base}/api/v1/batches/${body.id}`, { headers })).json()) as { state: string; issued: number; failed: number };
    if (v.state === 'done') return { rate: v.issued / ((performance.now() - started) / 1000), failed: v.failed };
    if (Date.now() > deadline) throw new Error('the warm-up batch did not finish in 5 minutes');
  }
}

/** CSRs made before the window, in one process per core. */
async function makeCsrs(work: string, count: number): Promise<string[]> {
  const procs = Math.max(1, Math.min(os.availableParallelism(), 4));
  const files: string[] = [];
  await Promise.all(
    Array.from({ length: procs }, async (_, k) => {
      const file = path.join(work, `csrs-${k}.txt`);
      files.push(file);
      const n = Math.ceil(count / procs);
      const r = await runToEnd(null, process.execPath, ['--import', 'tsx', CSR_MAKER, String(n), file], 30 * 60_000, { stderrTail: 20_000 });
      if (r.code !== 0) throw new Error(`load-csrs.ts failed: ${r.stderr.slice(-1000)}`);
    }),
  );
  return files;
}

// ---- report --------------------------------------------------------------------------------------

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : v >= 10 ? `${v.toFixed(1)}ms` : `${v.toFixed(2)}ms`;
}

function table(header: string[], rows: string[][], leftColumns = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function routeRows(result: LoadResult): string[][] {
  const row = (name: string, r: RouteResult) => [
    name,
    String(r.n),
    r.rps.toFixed(1),
    ms(r.p50),
    ms(r.p99),
    ms(r.max),
    String(r.s2xx),
    String(r.s4xx),
    String(r.s5xx),
    String(r.net),
  ];
  const rows: string[][] = [];
  for (const c of result.classes) {
    rows.push(row(c.cls, c));
    for (const r of result.routes.filter((x) => x.cls === c.cls && x.n > 0)) rows.push(row(`  ${r.route}`, r));
  }
  rows.push(row('total', result.total));
  return rows;
}

const ROUTE_HEADER = ['class / endpoint', 'requests', 'req/s', 'p50', 'p99', 'max', '2xx', '4xx', '5xx', 'net err'];

interface OcspRow {
  label: string;
  rps: number;
  s: LatencySummary;
  errors: number;
  cpuUsPerRequest: number;
}

function ocspRow(label: string, run: ClientRun): OcspRow {
  const c = run.result.classes.find((x) => x.cls === 'OCSP')!;
  return { label, rps: c.rps, s: c, errors: c.s4xx + c.s5xx + c.net + c.other, cpuUsPerRequest: (run.serverCpu * 1e6) / c.n };
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  for (const tool of ['openssl', 'ip', 'unshare', 'nsenter']) {
    if (spawnSync('which', [tool], { stdio: 'ignore' }).status !== 0) throw new Error(`${tool} is needed`);
  }
  if (CPU_PROF_DIR) mkdirSync(CPU_PROF_DIR, { recursive: true });
  const work = tempDir('eimza-bench-load-');
  if (!KEEP) workToRemove = work;
  const dataDir = path.join(work, 'data');
  mkdirSync(dataDir);
  const runId = randomBytes(4).toString('hex');
  let schema: string | null = null;
  const notes: string[] = [];
  try {
    const env: Record<string, string> = { EIMZA_KEYSTORE: 'software', EIMZA_KEYSTORE_PASSPHRASE: 'bench' };
    if (pgUrl) {
      schema = `bench_load_${runId}`;
      schemaToDrop = schema;
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`create schema ${schema}`);
      await client.end();
      const u = new URL(pgUrl);
      u.searchParams.set('options', `-c search_path=${schema}`);
      env.DATABASE_URL = u.toString();
    }
    const population = await populate(dataDir, env);
    const counts = { active: 0, suspended: 0, revoked: 0 };
    for (const s of population.status) counts[s]++;

    const oursPlain = path.join(work, 'ocsp-plain-eimza.bin');
    const oursNonce = path.join(work, 'ocsp-nonce-eimza.bin');
    writeRequests(oursPlain, population, population.caNameDer, population.caSpki, false);
    writeRequests(oursNonce, population, population.caNameDer, population.caSpki, true);

    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!pgUrl) delete childEnv.DATABASE_URL;
    for (const v of ['EIMZA_PORT', 'EIMZA_HOST', 'EIMZA_CONFIG', 'EIMZA_LOG_FILE', 'EIMZA_LOG_LEVEL']) delete childEnv[v];

    // ---- ours: warm-up and checks
    const logFile = path.join(work, 'serve.log');
    const code = serverCode();
    phase(`starting eimza serve (${code})`);
    const server = await startServer(dataDir, BATCH_WORKER ? { ...childEnv, EIMZA_BATCH_WORKERS: '0' } : childEnv, logFile);
    let worker: ChildProcess | null = null;
    if (BATCH_WORKER) {
      phase('starting eimza batch worker (serve has EIMZA_BATCH_WORKERS=0)');
      const logFd = openSync(path.join(work, 'batch-worker.log'), 'a');
      try {
        worker = launch(null, process.execPath, [EIMZA, '--data-dir', dataDir, 'batch', 'worker', '--concurrency', '2'], { env: childEnv, stderr: logFd });
      } finally {
        closeSync(logFd);
      }
      await waitForOutput(worker, /batch worker running/, 120_000, 'eimza batch worker');
      worker.stdout!.resume();
    }
    const serverRef = { pid: server.child.pid, metricsBase: server.base, workerPid: worker?.pid };
    let alone: ClientRun | null = null;
    let mixed: ClientRun;
    let batchWarm: { rate: number; failed: number };
    let csrCount: number;
    let hwmEnd: number;
    try {
      phase(`warm-up: every OCSP request once (${population.serials.length} without nonce, ${NONCE_REQUESTS} with), answers checked`);
      const url = `${server.base}/ocsp`;
      refuseOnProblems('e-imza', checkAnswers(await askAll(null, url, oursPlain, path.join(work, 'answers.bin'), { concurrency: 8 }), population, null));
      refuseOnProblems('e-imza (nonce)', checkAnswers(await askAll(null, url, oursNonce, path.join(work, 'answers-nonce.bin'), { concurrency: 8 }), population, noncesOf(oursNonce)));
      const gets: Answer[] = [];
      for (const der of readRequests(oursPlain).slice(0, 50)) {
        const r = await fetch(`${server.base}/ocsp/${encodeURIComponent(der.toString('base64'))}`);
        gets.push({ status: r.status, body: Buffer.from(await r.arrayBuffer()) });
      }
      refuseOnProblems('e-imza (GET)', checkAnswers(gets, population, null));

      phase('warm-up: one batch of 200 items');
      batchWarm = await warmupBatch(server.base, population.personalisationToken, 200);
      if (batchWarm.failed > 0) throw new BenchRefused(`the warm-up batch had ${batchWarm.failed} failed items`);
      const windowAll = WARMUP_SECONDS + SECONDS;
      csrCount = Math.min(
        1_000_000,
        BATCHES_IN_FLIGHT === 0 ? 0 : Math.ceil(batchWarm.rate * windowAll * 1.3) + BATCH_SIZE * (BATCHES_IN_FLIGHT + 1),
      ) + Math.ceil(windowAll * 30 * (MIX.deskWrite > 0 ? 1 : 0));
      phase(`making ${csrCount} CSRs for the run (the warm-up batch issued ${batchWarm.rate.toFixed(0)} certificates/s on an idle server)`);
      const csrFiles = await makeCsrs(work, csrCount);

      const common = {
        base: server.base,
        ocspPostPath: '/ocsp',
        ocspGetPrefix: '/ocsp/',
        ocspPlainFile: oursPlain,
        ocspNonceFile: oursNonce,
        users: USERS,
        runId,
      };
      if (PEER_SECONDS > 0) {
        phase(`OCSP alone: ${USERS} users, ${PEER_SECONDS} s`);
        alone = await runClient(null, { ...common, mode: 'ocsp', warmupSeconds: 2, seconds: PEER_SECONDS, mix: OCSP_MIX, runId: `${runId}a` }, work, 'alone', serverRef);
      }
      phase(`mixed load: ${USERS} users, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s; batches of ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight`);
      mixed = await runClient(
        null,
        {
          ...common,
          mode: 'mixed',
          warmupSeconds: WARMUP_SECONDS,
          seconds: SECONDS,
          mix: MIX,
          serials: population.serials,
          fins: population.fins,
          desks: population.desks,
          personalisationToken: population.personalisationToken,
          csrFiles,
          ...(BATCHES_IN_FLIGHT > 0 ? { batch: { size: BATCH_SIZE, inFlight: BATCHES_IN_FLIGHT, pollMs: 1000 } } : {}),
          statusSources: { count: 4096, perAddress: 50 },
        },
        work,
        'mixed',
        serverRef,
      );
      hwmEnd = memory(server.child.pid).hwm;
    } finally {
      if (worker) await stop(worker, 15_000);
      await stop(server.child, 15_000);
    }
    const serverLog = logErrors(logFile);

    // ---- the peer
    let peer: ClientRun | null = null;
    if (PEER_SECONDS > 0) {
      let ns: Namespace | null = null;
      try {
        ns = await privateNamespace(MAX_MINUTES);
      } catch (e) {
        notes.push(`no private network namespace (${e instanceof Error ? e.message.split('\n')[0] : String(e)}; needs root): openssl ocsp, which binds every interface, is not run`);
      }
      if (ns) {
        try {
          const files = opensslFiles(path.join(work, 'openssl'), indexEntries(population));
          const ca = inspectCertificate(decodePemOrDer(readFileSync(files.caPem, 'utf8'), 'CERTIFICATE'));
          const osslPlain = path.join(work, 'ocsp-plain-openssl.bin');
          const osslNonce = path.join(work, 'ocsp-nonce-openssl.bin');
          writeRequests(osslPlain, population, ca.subjectNameDer, ca.subjectPublicKeySpki, false);
          writeRequests(osslNonce, population, ca.subjectNameDer, ca.subjectPublicKeySpki, true);
          const port = 8090;
          const logFd = openSync(path.join(work, 'openssl.log'), 'w');
          let openssl: ChildProcess;
          try {
            openssl = launch(
              ns,
              'openssl',
              ['ocsp', '-index', files.index, '-CA', files.caPem, '-rsigner', files.respPem, '-rkey', files.respKey, '-port', String(port), '-ignore_err', '-nmin', '60'],
              { stdout: logFd, stderr: logFd },
            );
          } finally {
            closeSync(logFd);
          }
          try {
            phase('openssl ocsp: warm-up and check');
            const url = `http://${HOST}:${port}/ocsp`;
            refuseOnProblems('openssl ocsp', checkAnswers(await askAll(ns, url, osslPlain, path.join(work, 'answers-openssl.bin'), { concurrency: 4 }), population, null));
            refuseOnProblems('openssl ocsp (nonce)', checkAnswers(await askAll(ns, url, osslNonce, path.join(work, 'answers-openssl-nonce.bin'), { concurrency: 4, limit: 200 }), population, noncesOf(osslNonce)));
            phase(`openssl ocsp: ${USERS} users, ${PEER_SECONDS} s`);
            peer = await runClient(
              ns,
              {
                mode: 'ocsp',
                base: `http://${HOST}:${port}`,
                ocspPostPath: '/ocsp',
                ocspGetPrefix: '/',
                ocspPlainFile: osslPlain,
                ocspNonceFile: osslNonce,
                users: USERS,
                warmupSeconds: 2,
                seconds: PEER_SECONDS,
                mix: OCSP_MIX,
                runId: `${runId}o`,
              },
              work,
              'openssl',
              { pid: openssl.pid, metricsBase: null },
            );
          } finally {
            await stop(openssl, 3000);
          }
        } finally {
          closeNamespace(ns);
        }
      }
    }

    // ---- report
    const r = mixed.result;
    const cores = os.availableParallelism();
    console.log();
    console.log(`bench:load — machine: nproc ${cores} (${os.cpus()[0]?.model.trim() ?? 'CPU ?'}), node ${process.version}, ${execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim()}; load average at start ${loadAtStart}`);
    console.log(
      `population: ${CERTS} certificates (signature/authentication, P-256, P-256 CA) for ${population.fins.length} holders: ${counts.active} active, ${counts.suspended} suspended, ${counts.revoked} revoked (${REASONS.join(', ')}); ` +
        `4 offices with a clerk and a supervisor each; database ${pgUrl ? `postgres (schema ${schema})` : 'pglite'}; software key store; made in ${population.seconds.toFixed(0)} s; ` +
        `eimza serve ran ${code}`,
    );
    const mixText = Object.entries(MIX).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(
      `load: ${USERS} closed-loop virtual users (no think time), each drawing its next request by weight: ${mixText}; ` +
        `batches: ${BATCHES_IN_FLIGHT} in flight of ${BATCH_SIZE} items, polled every 1 s, a new one as soon as one is done; ` +
        `${WARMUP_SECONDS} s warm-up, then ${SECONDS} s measured; one load-generator process (node:http keep-alive, ≤ ${USERS + 8} connections)`,
    );
    console.log(
      `load generator CPU in the window: ${((mixed.clientCpu / SECONDS) * 100).toFixed(0)}% of one core; server CPU: ${((mixed.serverCpu / SECONDS) * 100).toFixed(0)}% of one core` +
        (BATCH_WORKER ? `; batches worked by a separate \`eimza batch worker --concurrency 2\` (serve with EIMZA_BATCH_WORKERS=0), its CPU ${((mixed.workerCpu / SECONDS) * 100).toFixed(0)}% of one core` : ''),
    );
    console.log();
    console.log(`mixed load, ${SECONDS} s:`);
    table(ROUTE_HEADER, routeRows(r));
    for (const route of [...r.routes].filter((x) => x.errors.length)) for (const e of route.errors) console.log(`  ! ${route.route}: ${e}`);
    console.log();
    if (r.batch) {
      console.log(
        `batch issuance: ${r.batch.submitted} batches submitted, ${r.batch.done} done; ${r.batch.issuedInWindow} certificates issued by batches in the window = ${(r.batch.issuedInWindow / SECONDS).toFixed(1)}/s ` +
          `(an idle server: ${batchWarm.rate.toFixed(1)}/s); ${r.batch.failedItems} items failed; a batch was running ${r.batch.coveredSeconds.toFixed(0)} of ${SECONDS} s`,
      );
      if (r.batch.failedItems > 0) console.log(`  ! ${r.batch.failedItems} batch items were answered with an error instead of a certificate`);
    }
    if (r.desk) console.log(`desks: ${r.desk.flowsCompleted} card applications from take to handover, ${r.desk.certificatesIssued} certificates issued, ${r.desk.suspended} suspended`);
    console.log(`CSRs: ${csrCount} made before the run, ${r.csr.used} used by the client (${r.csr.madeDuringRun} made during the run)`);
    for (const n of r.notes) console.log(`note: ${n}`);
    const o = r.ocsp;
    console.log(
      `OCSP while a batch runs: ${o.duringBatch.n} requests, p50 ${ms(o.duringBatch.p50)}, p99 ${ms(o.duringBatch.p99)}, max ${ms(o.duringBatch.max)}; ` +
        `with no batch running: ${o.withoutBatch.n} requests${o.withoutBatch.n ? `, p50 ${ms(o.withoutBatch.p50)}, p99 ${ms(o.withoutBatch.p99)}` : ''}`,
    );
    if (o.perMinute.length > 1) console.log(`OCSP p99 per minute: ${o.perMinute.map((m) => ms(m.p99)).join(' ')}`);
    const loop = mixed.samples.filter((s) => s.loopMax !== null);
    if (loop.length) {
      const p99s = loop.map((s) => s.loopP99!).sort((a, b) => a - b);
      const maxes = loop.map((s) => s.loopMax!).sort((a, b) => a - b);
      const over = maxes.filter((m) => m >= TARGET_P99_MS).length;
      console.log(
        `server event-loop delay (prom-client monitorEventLoopDelay, 10 ms resolution, per 2-s scrape of /metrics): median p99 ${ms(p99s[Math.floor(p99s.length / 2)])}, ` +
          `median max ${ms(maxes[Math.floor(maxes.length / 2)])}, worst max ${ms(maxes[maxes.length - 1])}; ${over} of ${maxes.length} scrapes saw a delay ≥ ${TARGET_P99_MS} ms`,
      );
    }
    const rssSamples = mixed.samples.map((s) => s.rss).filter(Number.isFinite);
    const peak = Math.max(mixed.windowStartRss, mixed.windowEndRss, ...rssSamples);
    const heap = mixed.samples.filter((s) => s.heapUsed !== null);
    console.log(
      `server RSS: start ${mixed.windowStartRss.toFixed(0)} MiB (after warm-up), end ${mixed.windowEndRss.toFixed(0)} MiB, peak in the window ${peak.toFixed(0)} MiB ` +
        `(VmHWM since start ${hwmEnd.toFixed(0)} MiB)${heap.length ? `; main thread V8 heap used ${range(heap, 'heapUsed')} MiB, external ${range(heap, 'external')} MiB` : ''}` +
        (heap.some((s) => s.dbWasm !== null) ? `; database thread (PGlite) WebAssembly memory ${range(heap, 'dbWasm')} MiB, V8 heap used ${range(heap, 'dbHeap')} MiB` : ''),
    );
    if (SECONDS >= 120) {
      const perMinute: string[] = [];
      for (let m = 0; m * 60 <= SECONDS; m++) {
        const s = mixed.samples.find((x) => x.t >= m * 60);
        if (s) perMinute.push(`${m}:${[s.rss, s.heapTotal, s.heapUsed, s.external, s.dbWasm, s.dbHeap].map((v) => (v === null ? '-' : v.toFixed(0))).join('/')}`);
      }
      perMinute.push(`end:${mixed.windowEndRss.toFixed(0)}`);
      console.log(`server RSS/V8 heap total/V8 heap used/external/database WebAssembly/database heap per minute (MiB): ${perMinute.join(' ')}`);
      // A least-squares slope over the second half of the window: growth that has not levelled off.
      const late = mixed.samples.filter((x) => x.t >= SECONDS / 2 && Number.isFinite(x.rss));
      if (late.length > 10) {
        const mt = late.reduce((a, x) => a + x.t, 0) / late.length;
        const mr = late.reduce((a, x) => a + x.rss, 0) / late.length;
        const slope = late.reduce((a, x) => a + (x.t - mt) * (x.rss - mr), 0) / late.reduce((a, x) => a + (x.t - mt) ** 2, 0);
        console.log(`server RSS trend over the second half of the window: ${slope >= 0 ? '+' : ''}${(slope * 60).toFixed(1)} MiB/min`);
      }
    }
    console.log(`server log: ${serverLog.count} error lines${serverLog.first.length ? `; first: ${serverLog.first.join(' | ')}` : ''}`);
    for (const n of notes) console.log(`note: ${n}`);

    console.log();
    const mixedOcsp = ocspRow('e-imza, in the mixed load', mixed);
    const rows: OcspRow[] = [];
    if (alone) rows.push(ocspRow('e-imza, OCSP alone', alone));
    rows.push({ ...mixedOcsp, cpuUsPerRequest: NaN });
    if (peer) rows.push(ocspRow('openssl ocsp -index (single process)', peer));
    console.log(`OCSP, the same client and request mix (POST ${MIX.ocspPost} : GET ${MIX.ocspGet} : POST with nonce ${MIX.ocspNonce}), ${USERS} users; OCSP-only runs ${PEER_SECONDS} s each:`);
    table(
      ['responder', 'req/s', 'p50', 'p99', 'max', 'errors', 'server CPU/req'],
      rows.map((x) => [x.label, x.rps.toFixed(0), ms(x.s.p50), ms(x.s.p99), ms(x.s.max), String(x.errors), Number.isFinite(x.cpuUsPerRequest) ? `${x.cpuUsPerRequest.toFixed(0)} µs` : '-']),
    );
    console.log('(openssl ocsp answers HTTP/1.0 and closes the connection after every answer, signing each answer live; ours keeps connections alive and answers from pre-signed responses, nonces signed live.');
    console.log(' In the mixed load the OCSP req/s is its share of the closed loop, not a capacity.)');
    if (alone && peer) {
      const a = ocspRow('', alone);
      const p = ocspRow('', peer);
      console.log(`ours alone / openssl: req/s ${(a.rps / p.rps).toFixed(2)}×, p99 ${ms(a.s.p99)} vs ${ms(p.s.p99)} (${(a.s.p99 / p.s.p99).toFixed(2)}×), server CPU per request ${(a.cpuUsPerRequest / p.cpuUsPerRequest).toFixed(2)}×`);
    }
    if (alone) {
      const a = ocspRow('', alone);
      console.log(`ours in the mixed load / alone: p50 ${ms(mixedOcsp.s.p50)} vs ${ms(a.s.p50)}, p99 ${ms(mixedOcsp.s.p99)} vs ${ms(a.s.p99)} (${(mixedOcsp.s.p99 / a.s.p99).toFixed(1)}×)`);
    }

    console.log();
    const fives = r.total.s5xx + (alone?.result.total.s5xx ?? 0);
    const net = r.total.net + (alone?.result.total.net ?? 0);
    // Batches must really have issued for most of the window, or the OCSP figure says nothing about them.
    const batchRan = !!r.batch && r.batch.coveredSeconds >= SECONDS * 0.9 && r.batch.issuedInWindow > 0 && o.duringBatch.n > 0;
    const targets = [
      { name: '5xx = 0', met: fives === 0, detail: `${fives} answers 5xx (mixed run and OCSP alone)` },
      { name: 'no network errors', met: net === 0, detail: `${net} requests without an answer (reset, refused, timed out after 15 s)` },
      {
        name: `OCSP p99 < ${TARGET_P99_MS} ms while a batch runs`,
        met: batchRan && o.duringBatch.p99 < TARGET_P99_MS,
        detail: batchRan ? `p99 ${ms(o.duringBatch.p99)} over ${o.duringBatch.n} requests` : 'batches did not run (and issue) for most of the window: not measured',
      },
    ];
    console.log('targets:');
    for (const t of targets) console.log(`  ${t.name}: ${t.met ? 'PASS' : 'FAIL'} (${t.detail})`);
    if (CPU_PROF_DIR) console.log(`CPU profile of eimza serve: ${readdirSync(CPU_PROF_DIR).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(CPU_PROF_DIR, f)).join(', ')}`);
    if (KEEP) console.log(`kept: ${work} (server log ${logFile})`);
    return targets.every((t) => t.met) ? 0 : 1;
  } finally {
    killEverything();
    await dropRunSchemas();
    if (workToRemove && existsSync(workToRemove)) removeDir(workToRemove);
    workToRemove = null;
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof BenchRefused) process.stderr.write(`\n${e.message}\n`);
  else process.stderr.write(`\nbench:load failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
