/**
 * The load generator of `npm run bench:load` (test/bench/load.ts): a child process, so that it can
 * run in the network namespace of the responder it loads (nsenter, for `openssl ocsp`) and so that
 * its CPU is its own process's, not the orchestrator's. One thread, node:http with keep-alive
 * agents (the lightest client the runtime has; fetch costs several times the CPU per request).
 *
 *   node --import tsx test/bench/load-client.ts CONFIG_JSON RESULT_JSON
 *
 * Closed loop: `users` virtual users, each sending its next request as soon as the previous one
 * is answered (no think time), each time drawing the kind of request by the weights of `mix`. In
 * mode `ocsp` only the three OCSP kinds are drawn (by their relative weights); in mode `mixed`
 * batch issuance also runs, beside the users, from the first second to the end: `batch.inFlight`
 * batches are kept submitted, each polled every `batch.pollMs` until it is done, then replaced.
 *
 * stdout carries the protocol the orchestrator reads: `window-start <epoch ms>` after
 * `warmupSeconds` (requests before it are not recorded), `window-end <epoch ms>` after `seconds`
 * more, then `done` once RESULT_JSON is written. Requests are recorded by when they were sent.
 */
import http from 'node:http';
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { p256CsrDer } from './load-csrs.js';

export interface LoadMix {
  ocspPost: number;
  ocspGet: number;
  ocspNonce: number;
  statusPage: number;
  deskRead: number;
  deskWrite: number;
}

export interface LoadClientConfig {
  mode: 'mixed' | 'ocsp';
  /** http://127.0.0.1:PORT */
  base: string;
  /** POST path of OCSP ('/ocsp'), and the prefix of GET's base64 ('/ocsp/' ours, '/' openssl's). */
  ocspPostPath: string;
  ocspGetPrefix: string;
  /** Length-prefixed DER requests (as ocsp-wrk.lua reads): without nonce, and with one. */
  ocspPlainFile: string;
  ocspNonceFile: string;
  warmupSeconds: number;
  seconds: number;
  users: number;
  mix: LoadMix;
  /** mixed mode only: */
  serials?: string[];
  fins?: string[];
  desks?: { office: string; clerk: string; supervisor: string }[];
  personalisationToken?: string;
  csrFiles?: string[];
  batch?: { size: number; inFlight: number; pollMs: number };
  /** Status-page requests come from `count` addresses 127.1.x.y, `perAddress` requests each. */
  statusSources?: { count: number; perAddress: number };
  /** A random number for ids that must not repeat across runs on one database. */
  runId: string;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RouteResult extends LatencySummary {
  cls: string;
  route: string;
  rps: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  other: number;
  net: number;
  /** The first few 5xx and network errors: status, path, body start. */
  errors: string[];
}

export interface LoadResult {
  mode: LoadClientConfig['mode'];
  windowSeconds: number;
  routes: RouteResult[];
  classes: RouteResult[];
  total: RouteResult;
  ocsp: {
    all: LatencySummary;
    duringBatch: LatencySummary;
    withoutBatch: LatencySummary;
    /** p99 of OCSP per minute of the window (the last minute may be partial). */
    perMinute: (LatencySummary & { minute: number })[];
  };
  batch: {
    submitted: number;
    done: number;
    issuedInWindow: number;
    failedItems: number;
    /** Seconds of the window during which at least one batch was running. */
    coveredSeconds: number;
  } | null;
  /** Counted in the window. */
  desk: { flowsCompleted: number; certificatesIssued: number; suspended: number } | null;
  csr: { used: number; madeDuringRun: number };
  notes: string[];
}

// ---- measurement ---------------------------------------------------------------------------------

class Grow {
  data = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = v;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }
}

function summarize(values: Float64Array): LatencySummary {
  if (values.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]! };
}

interface Route {
  cls: string;
  route: string;
  lat: Grow;
  /** epoch ms at which each recorded request was sent (OCSP only: for the batch windows). */
  at: Grow | null;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  other: number;
  net: number;
  errors: string[];
}

const routes = new Map<string, Route>();
function route(cls: string, name: string): Route {
  const key = `${cls}\u0000${name}`;
  let r = routes.get(key);
  if (!r) {
    r = { cls, route: name, lat: new Grow(), at: cls === 'OCSP' ? new Grow() : null, s2xx: 0, s4xx: 0, s5xx: 0, other: 0, net: 0, errors: [] };
    routes.set(key, r);
  }
  return r;
}

// ---- the run's clock -----------------------------------------------------------------------------

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadClientConfig;
const resultFile = process.argv[3];
if (!resultFile) throw new Error('usage: load-client.ts CONFIG_JSON RESULT_JSON');
const base = new URL(config.base);
if (base.protocol !== 'http:' || base.hostname !== '127.0.0.1') throw new Error(`only http://127.0.0.1 is loaded, not ${config.base}`);
const port = Number(base.port);

const startedAt = performance.now();
const windowStart = startedAt + config.warmupSeconds * 1000;
const windowEnd = windowStart + config.seconds * 1000;
let stopping = false;
const notes: string[] = [];
const recording = (t: number) => t >= windowStart && t < windowEnd;
const epoch = (t: number) => performance.timeOrigin + t;

// ---- HTTP ----------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: config.users + 8 });

interface Reply {
  status: number;
  body: Buffer;
  error: string | null;
}

function call(
  r: Route,
  method: 'GET' | 'POST',
  path: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string; agent?: http.Agent; timeoutMs?: number; keepBody?: boolean } = {},
): Promise<Reply> {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const headers: Record<string, string | number> = { ...opts.headers };
  if (body) headers['content-length'] = body.length;
  const sent = performance.now();
  return new Promise<Reply>((resolve) => {
    let settled = false;
    const finish = (reply: Reply) => {
      if (settled) return;
      settled = true;
      if (recording(sent)) {
        r.lat.push(performance.now() - sent);
        r.at?.push(epoch(sent));
        const s = reply.status;
        if (reply.error) r.net++;
        else if (s >= 200 && s < 300) r.s2xx++;
        else if (s >= 400 && s < 500) r.s4xx++;
        else if (s >= 500) r.s5xx++;
        else r.other++;
        if ((reply.error || s >= 500) && r.errors.length < 5) r.errors.push(`${reply.error ?? s} ${method} ${path.slice(0, 80)} ${reply.body.subarray(0, 200).toString()}`);
      }
      resolve(reply);
    };
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: opts.agent ?? agent, timeout: opts.timeoutMs ?? 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        const keep = opts.keepBody !== false || (res.statusCode ?? 0) >= 400;
        res.on('data', (chunk: Buffer) => {
          if (keep) chunks.push(chunk);
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), error: null }));
        res.on('error', (e) => finish({ status: 0, body: Buffer.alloc(0), error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => finish({ status: 0, body: Buffer.alloc(0), error: e.message }));
    req.end(body);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the replies are read field by field, as a client would
function json(reply: Reply): any {
  try {
    return JSON.parse(reply.body.toString('utf8'));
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- OCSP ----------------------------------------------------------------------------------------

function readRequests(file: string): Buffer[] {
  const data = readFileSync(file);
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; ) {
    const length = data.readUInt16BE(pos);
    out.push(data.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  if (out.length === 0) throw new Error(`no requests in ${file}`);
  return out;
}

const plain = readRequests(config.ocspPlainFile);
const withNonce = readRequests(config.ocspNonceFile);
const getPaths = plain.map((der) => `${config.ocspGetPrefix}${encodeURIComponent(der.toString('base64'))}`);
const OCSP_HEADERS = { 'content-type': 'application/ocsp-request' };
const ocspPost = route('OCSP', `POST ${config.ocspPostPath}`);
const ocspGet = route('OCSP', `GET ${config.ocspGetPrefix}{base64}`);
const ocspNonce = route('OCSP', `POST ${config.ocspPostPath} (nonce)`);
let nextPlain = 0;
let nextGet = 0;
let nextNonce = 0;

async function ocsp(kind: 'post' | 'get' | 'nonce'): Promise<void> {
  if (kind === 'post') await call(ocspPost, 'POST', config.ocspPostPath, { headers: OCSP_HEADERS, body: plain[nextPlain++ % plain.length]!, keepBody: false });
  else if (kind === 'get') await call(ocspGet, 'GET', getPaths[nextGet++ % getPaths.length]!, { keepBody: false });
  else await call(ocspNonce, 'POST', config.ocspPostPath, { headers: OCSP_HEADERS, body: withNonce[nextNonce++ % withNonce.length]!, keepBody: false });
}

// ---- CSRs ----------------------------------------------------------------------------------------

const csrPool: string[] = [];
for (const f of config.csrFiles ?? []) for (const line of readFileSync(f, 'utf8').split('\n')) if (line) csrPool.push(line);
let csrUsed = 0;
let csrMade = 0;

function nextCsrPem(): string {
  let b64 = csrPool.pop();
  if (b64 === undefined) {
    // The pool was sized from a batch rate measured before the run; running out is reported.
    if (csrMade === 0) notes.push(`the CSR pool (${csrUsed}) ran out at ${((performance.now() - windowStart) / 1000).toFixed(0)} s of the window: the rest were made during the run, in the load generator's thread`);
    b64 = Buffer.from(p256CsrDer()).toString('base64');
    csrMade++;
  }
  csrUsed++;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

// ---- FINs ----------------------------------------------------------------------------------------

const FIN_ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
/** Distinct valid FINs (7 characters of 0-9 and A-Z without I and O) from a random start. */
let finCounter = randomInt(2 ** 32);
function freshFin(): string {
  let v = 34 ** 6 + (finCounter++ % (32 * 34 ** 6));
  let s = '';
  for (let i = 0; i < 7; i++, v = Math.floor(v / 34)) s = FIN_ALPHABET[v % 34] + s;
  return s;
}

// ---- status page ---------------------------------------------------------------------------------

const statusRoute = route('status page', 'GET /certificates/{serial}');
const statusSources = config.statusSources ?? { count: 4096, perAddress: 50 };
interface SourceAgent {
  agent: http.Agent;
  used: number;
  inFlight: number;
}
let statusAgent: SourceAgent | null = null;
let statusAddress = 0;
let nextStatusSerial = 0;

/**
 * The status page limits each client address (60 a minute): citizens come from many, so these
 * requests do too, `perAddress` from each of 127.1.x.y in turn (each address is used again only
 * after all others, minutes later). The limit itself is not what this benchmark measures. An
 * address's agent is closed once its last request is answered.
 */
async function statusPage(): Promise<void> {
  if (!statusAgent || statusAgent.used >= statusSources.perAddress) {
    if (statusAgent && statusAgent.inFlight === 0) statusAgent.agent.destroy();
    statusAddress = (statusAddress % statusSources.count) + 1;
    const localAddress = `127.1.${statusAddress >> 8}.${statusAddress & 255}`;
    statusAgent = { agent: new http.Agent({ keepAlive: true, maxSockets: 4, localAddress } as http.AgentOptions), used: 0, inFlight: 0 };
  }
  const source = statusAgent;
  source.used++;
  source.inFlight++;
  const serials = config.serials!;
  const serial = serials[nextStatusSerial++ % serials.length]!;
  await call(statusRoute, 'GET', `/certificates/${serial}`, { agent: source.agent, headers: { accept: 'text/html', 'accept-language': 'az' }, keepBody: false });
  source.inFlight--;
  if (source !== statusAgent && source.inFlight === 0) source.agent.destroy();
}

function closeStatusAgent(): void {
  statusAgent?.agent.destroy();
  statusAgent = null;
}

// ---- desks ---------------------------------------------------------------------------------------

interface DeskFlow {
  desk: { office: string; clerk: string; supervisor: string };
  step: number;
  id: string | null;
  fin: string;
  amount: string;
  serials: string[];
  lastId: string | null;
  reads: number;
  handovers: number;
}

const deskRoutes = {
  create: route('desk writes', 'POST /api/v1/applications'),
  payment: route('desk writes', 'POST /api/v1/applications/{id}/payment'),
  approve: route('desk writes', 'POST /api/v1/applications/{id}/approve'),
  issue: route('desk writes', 'POST /api/v1/applications/{id}/certificates'),
  handover: route('desk writes', 'POST /api/v1/applications/{id}/handover'),
  suspend: route('desk writes', 'POST /api/v1/holders/{fin}/certificates/{serial}/suspend'),
  list: route('desk reads', 'GET /api/v1/applications?limit=20'),
  get: route('desk reads', 'GET /api/v1/applications/{id}'),
  holder: route('desk reads', 'GET /api/v1/holders/{fin}/certificates'),
  statistics: route('desk reads', 'GET /api/v1/statistics'),
  certificate: route('desk reads', 'GET /api/v1/certificates/{serial}'),
};
const CARD_TYPES = ['signature', 'authentication', 'encryption'] as const;
let flowsCompleted = 0;
let deskCertificates = 0;
let deskSuspended = 0;
let createdApplications = 0;

const jsonHeaders = (token: string | null, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...extra,
});

/** One step of a clerk's card application: take, payment, approve (supervisor), three certificates, handover, and for one in four a suspension. */
async function deskWrite(f: DeskFlow): Promise<void> {
  const restart = () => {
    f.step = 0;
    f.id = null;
    f.serials = [];
  };
  const { clerk, supervisor } = f.desk;
  if (f.step === 0) {
    f.fin = freshFin();
    const n = ++createdApplications;
    const body = {
      applicant: {
        kind: 'citizen',
        fin: f.fin,
        givenName: 'Leyla',
        surname: 'Əliyeva',
        birthDate: '1990-05-17',
        email: 'leyla@example.az',
        phone: '+994501234567',
        idDocument: { type: 'id-card', number: `AA${String(n).padStart(7, '0').slice(-7)}` },
      },
      product: 'card',
      validityYears: 3,
    };
    const r = await call(deskRoutes.create, 'POST', '/api/v1/applications', {
      headers: jsonHeaders(clerk, { 'idempotency-key': `load-${config.runId}-${n}` }),
      body: JSON.stringify(body),
    });
    const b = json(r);
    if (r.status !== 201 || typeof b?.id !== 'string') return restart();
    f.id = b.id as string;
    f.lastId = f.id;
    f.amount = String(b.tariff?.amount ?? '0');
    f.step = 1;
    return;
  }
  const app = `/api/v1/applications/${f.id}`;
  if (f.step === 1) {
    const r = await call(deskRoutes.payment, 'POST', `${app}/payment`, { headers: jsonHeaders(clerk), body: JSON.stringify({ amount: f.amount, receipt: `KASSA-${f.id!.slice(0, 8)}`, method: 'cash' }) });
    if (r.status !== 200) return restart();
    f.step = 2;
  } else if (f.step === 2) {
    const r = await call(deskRoutes.approve, 'POST', `${app}/approve`, { headers: jsonHeaders(supervisor), body: '{}' });
    if (r.status !== 200) return restart();
    f.step = 3;
  } else if (f.step <= 5) {
    const r = await call(deskRoutes.issue, 'POST', `${app}/certificates`, { headers: jsonHeaders(clerk), body: JSON.stringify({ type: CARD_TYPES[f.step - 3], csr: nextCsrPem() }) });
    const b = json(r);
    if (r.status !== 201 || typeof b?.serial !== 'string') return restart();
    f.serials.push(b.serial as string);
    if (recording(performance.now())) deskCertificates++;
    f.step++;
  } else if (f.step === 6) {
    const r = await call(deskRoutes.handover, 'POST', `${app}/handover`, { headers: jsonHeaders(clerk), body: '{}' });
    if (r.status !== 200) return restart();
    if (recording(performance.now())) flowsCompleted++;
    if (++f.handovers % 4 === 0) f.step = 7;
    else restart();
  } else {
    // The holder comes back: the card is lost, the signature certificate is suspended by FIN.
    const r = await call(deskRoutes.suspend, 'POST', `/api/v1/holders/${f.fin}/certificates/${f.serials[0]}/suspend`, {
      headers: jsonHeaders(clerk),
      body: JSON.stringify({ comment: 'card lost; load benchmark' }),
    });
    if (r.status === 200 && recording(performance.now())) deskSuspended++;
    restart();
  }
}

/** The reads of a desk in turn: its list, one application, a holder's certificates, statistics (supervisor), a public status. */
async function deskRead(f: DeskFlow): Promise<void> {
  const { clerk, supervisor } = f.desk;
  const which = f.reads++ % 5;
  if (which === 0) await call(deskRoutes.list, 'GET', '/api/v1/applications?limit=20', { headers: jsonHeaders(clerk), keepBody: false });
  else if (which === 1 && f.lastId) await call(deskRoutes.get, 'GET', `/api/v1/applications/${f.lastId}`, { headers: jsonHeaders(clerk), keepBody: false });
  else if (which <= 2) {
    const fins = config.fins!;
    await call(deskRoutes.holder, 'GET', `/api/v1/holders/${fins[randomInt(fins.length)]}/certificates`, { headers: jsonHeaders(clerk), keepBody: false });
  } else if (which === 3) await call(deskRoutes.statistics, 'GET', '/api/v1/statistics', { headers: jsonHeaders(supervisor), keepBody: false });
  else {
    const serials = config.serials!;
    await call(deskRoutes.certificate, 'GET', `/api/v1/certificates/${serials[randomInt(serials.length)]}`, { keepBody: false });
  }
}

// ---- batches -------------------------------------------------------------------------------------

interface Batch {
  id: string;
  sentAt: number;
  finishedAt: number | null;
  issued: number;
  failed: number;
  done: boolean;
}

const batches: Batch[] = [];
const batchSubmit = route('batches', 'POST /api/v1/batches');
const batchPoll = route('batches', 'GET /api/v1/batches/{id}');
let batchesStopped = false;

async function submitBatch(k: number): Promise<Batch | null> {
  const { size } = config.batch!;
  const items = Array.from({ length: size }, (_, i) => ({
    id: `card-${i}`,
    profile: i % 2 ? 'authentication' : 'signature',
    holder: { fin: freshFin(), givenName: 'Aysel', surname: 'Məmmədova' },
    csr: nextCsrPem(),
  }));
  const body = JSON.stringify({ id: `load-${config.runId}-${k}`, items });
  const sentAt = Date.now();
  const r = await call(batchSubmit, 'POST', '/api/v1/batches', { headers: jsonHeaders(config.personalisationToken!), body, timeoutMs: 120_000 });
  const b = json(r);
  if (r.status !== 202 || typeof b?.id !== 'string') return null;
  return { id: b.id as string, sentAt, finishedAt: null, issued: 0, failed: 0, done: false };
}

async function pollBatch(b: Batch): Promise<void> {
  const r = await call(batchPoll, 'GET', `/api/v1/batches/${b.id}`, { headers: jsonHeaders(config.personalisationToken!), timeoutMs: 60_000 });
  const v = json(r);
  if (r.status !== 200 || !v) return;
  b.issued = Math.max(b.issued, Number(v.issued));
  b.failed = Math.max(b.failed, Number(v.failed));
  if (v.state === 'done' && !b.done) {
    b.done = true;
    const finished = typeof v.finishedAt === 'string' ? Date.parse(v.finishedAt) : NaN;
    b.finishedAt = Number.isFinite(finished) ? Math.min(finished, Date.now()) : Date.now();
  }
}

async function batchLoop(): Promise<void> {
  const { inFlight, pollMs } = config.batch!;
  let k = 0;
  while (!batchesStopped) {
    while (batches.filter((b) => !b.done).length < inFlight && !batchesStopped) {
      const b = await submitBatch(k++);
      if (b) batches.push(b);
      else await sleep(1000);
    }
    await sleep(pollMs);
    for (const b of batches) if (!b.done && !batchesStopped) await pollBatch(b);
  }
}

/** Certificates issued by every batch so far, asking each one that is not done. */
async function issuedSoFar(): Promise<number> {
  await Promise.all(batches.filter((b) => !b.done).map((b) => pollBatch(b)));
  return batches.reduce((n, b) => n + b.issued, 0);
}

// ---- the users -----------------------------------------------------------------------------------

type Kind = keyof LoadMix;
const KINDS: Kind[] = config.mode === 'ocsp' ? ['ocspPost', 'ocspGet', 'ocspNonce'] : ['ocspPost', 'ocspGet', 'ocspNonce', 'statusPage', 'deskRead', 'deskWrite'];
const cumulative: number[] = [];
let totalWeight = 0;
for (const k of KINDS) cumulative.push((totalWeight += Math.max(0, config.mix[k])));
if (!(totalWeight > 0)) throw new Error('the mix has no weight');

function draw(): Kind {
  const x = Math.random() * totalWeight;
  for (let i = 0; i < KINDS.length; i++) if (x < cumulative[i]!) return KINDS[i]!;
  return KINDS[KINDS.length - 1]!;
}

async function user(u: number): Promise<void> {
  const desks = config.desks ?? [];
  const flow: DeskFlow = { desk: desks[u % Math.max(1, desks.length)]!, step: 0, id: null, fin: '', amount: '0', serials: [], lastId: null, reads: u, handovers: u };
  while (!stopping) {
    const kind = draw();
    if (kind === 'ocspPost') await ocsp('post');
    else if (kind === 'ocspGet') await ocsp('get');
    else if (kind === 'ocspNonce') await ocsp('nonce');
    else if (kind === 'statusPage') await statusPage();
    else if (kind === 'deskRead') await deskRead(flow);
    else await deskWrite(flow);
  }
}

// ---- run -----------------------------------------------------------------------------------------

const mixed = config.mode === 'mixed';
const batchRun = mixed && config.batch ? batchLoop() : Promise.resolve();
const users = Promise.all(Array.from({ length: config.users }, (_, u) => user(u)));

await sleep(Math.max(0, windowStart - performance.now()));
const issuedAtStart = mixed && config.batch ? await issuedSoFar() : 0;
process.stdout.write(`window-start ${Date.now()}\n`);
await sleep(Math.max(0, windowEnd - performance.now()));
process.stdout.write(`window-end ${Date.now()}\n`);
const windowEndEpoch = epoch(windowEnd);
const windowStartEpoch = epoch(windowStart);
stopping = true;
const issuedAtEnd = mixed && config.batch ? await issuedSoFar() : 0;
batchesStopped = true;
await users;
await batchRun;
agent.destroy();
closeStatusAgent();

// ---- results -------------------------------------------------------------------------------------

function concatLatencies(parts: Route[]): Float64Array {
  const lat = new Float64Array(parts.reduce((n, p) => n + p.lat.n, 0));
  let at = 0;
  for (const p of parts) {
    lat.set(p.lat.values(), at);
    at += p.lat.n;
  }
  return lat;
}

function routeResult(cls: string, name: string, parts: Route[]): RouteResult {
  const lat = concatLatencies(parts);
  const sum = (f: (p: Route) => number) => parts.reduce((n, p) => n + f(p), 0);
  return {
    cls,
    route: name,
    ...summarize(lat),
    rps: lat.length / config.seconds,
    s2xx: sum((p) => p.s2xx),
    s4xx: sum((p) => p.s4xx),
    s5xx: sum((p) => p.s5xx),
    other: sum((p) => p.other),
    net: sum((p) => p.net),
    errors: parts.flatMap((p) => p.errors).slice(0, 5),
  };
}

const all = [...routes.values()];
const classNames = [...new Set(all.map((r) => r.cls))];

/** The union of the batches' running times, as sorted disjoint [from, to) epoch intervals. */
function batchIntervals(): [number, number][] {
  const spans = batches.map((b): [number, number] => [b.sentAt, b.finishedAt ?? Infinity]).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}
const intervals = batchIntervals();
const inBatch = (t: number) => intervals.some(([from, to]) => t >= from && t < to);

const ocspRoutes = all.filter((r) => r.cls === 'OCSP');
const during = new Grow();
const without = new Grow();
const perMinute: Grow[] = [];
for (const r of ocspRoutes) {
  const lat = r.lat.values();
  const at = r.at!.values();
  for (let i = 0; i < lat.length; i++) {
    (inBatch(at[i]!) ? during : without).push(lat[i]!);
    const minute = Math.floor((at[i]! - windowStartEpoch) / 60_000);
    (perMinute[minute] ??= new Grow()).push(lat[i]!);
  }
}
const covered = intervals.reduce((s, [from, to]) => s + Math.max(0, Math.min(to, windowEndEpoch) - Math.max(from, windowStartEpoch)), 0) / 1000;

const result: LoadResult = {
  mode: config.mode,
  windowSeconds: config.seconds,
  routes: all.map((r) => routeResult(r.cls, r.route, [r])),
  classes: classNames.map((c) => routeResult(c, '(all)', all.filter((r) => r.cls === c))),
  total: routeResult('total', '(all)', all),
  ocsp: {
    all: summarize(concatLatencies(ocspRoutes)),
    duringBatch: summarize(during.values()),
    withoutBatch: summarize(without.values()),
    perMinute: Array.from({ length: perMinute.length }, (_, minute) => ({ minute, ...summarize(perMinute[minute]?.values() ?? new Float64Array()) })),
  },
  batch: mixed && config.batch
    ? {
        submitted: batches.length,
        done: batches.filter((b) => b.done).length,
        issuedInWindow: issuedAtEnd - issuedAtStart,
        failedItems: batches.reduce((n, b) => n + b.failed, 0),
        coveredSeconds: covered,
      }
    : null,
  desk: mixed ? { flowsCompleted, certificatesIssued: deskCertificates, suspended: deskSuspended } : null,
  csr: { used: csrUsed, madeDuringRun: csrMade },
  notes,
};
writeFileSync(resultFile, JSON.stringify(result));
process.stdout.write('done\n');
