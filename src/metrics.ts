import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CaMetrics } from './ca/deps.js';
import type { StatusAction } from './domain/status.js';
import type { OcspResult } from './ocsp/responder.js';

/** What the gauges read at scrape time; wired by the composition root. */
export interface MetricSources {
  now(): Date;
  /** The newest CRL the publisher knows of, per CA and kind (the whole-CA scope). */
  crlPublications(): Iterable<{ caName: string; kind: 'full' | 'delta'; thisUpdate: Date }>;
  /** Holder e-mail waiting in the outbox. */
  queuedNotifications(): Promise<number>;
  /** Bulk-issuance items waiting for their certificate. */
  queuedBatchItems(): Promise<number>;
  /** The embedded database thread's memory (null on PostgreSQL). */
  embeddedDatabaseMemory(): Promise<{ webAssembly: number; heap: number } | null>;
}

export const OCSP_RESULTS: readonly OcspResult[] = ['good', 'revoked', 'unknown', 'mixed', 'malformed', 'unauthorized', 'tryLater', 'internalError'];
const OCSP_RESULT_INDEX = Object.fromEntries(OCSP_RESULTS.map((r, i) => [r, i])) as Record<OcspResult, number>;
/** Seconds: a pre-signed answer takes tens of microseconds, one signed live a few milliseconds. */
const OCSP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus metrics (GET /metrics), in a registry of its own per context (no
 * module-global registry). The CA core sees only CaMetrics; the OCSP hot path only adds to plain
 * numbers (ocspAnswered), which are handed to prom-client when scraped.
 */
export class ServiceMetrics implements CaMetrics {
  readonly registry = new Registry();
  private readonly issued: Counter<'ca' | 'profile'>;
  private readonly statusChanges: Counter<'action'>;
  private readonly hsmErrors: Counter<'operation'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly ocspCounts = new Float64Array(OCSP_RESULTS.length);
  private readonly ocspDuration: PlainHistogram;
  private processMetrics = false;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.issued = new Counter({ name: 'eimza_certificates_issued_total', help: 'Certificates issued (stored as active), by CA and profile', labelNames: ['ca', 'profile'], registers });
    this.statusChanges = new Counter({ name: 'eimza_certificate_status_changes_total', help: 'Committed status changes, by action', labelNames: ['action'], registers });
    this.hsmErrors = new Counter({ name: 'eimza_hsm_errors_total', help: 'Key store calls that failed with hsmUnavailable, by operation', labelNames: ['operation'], registers });
    this.httpRequests = new Counter({ name: 'eimza_http_requests_total', help: 'HTTP requests outside the OCSP fast path, by route template and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'eimza_http_request_duration_seconds', help: 'HTTP request duration outside the OCSP fast path', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS, registers });
    // Zero series from the start, so a rate() sees the first event.
    for (const action of ['suspend', 'restore', 'revoke'] as const) this.statusChanges.inc({ action }, 0);
    for (const operation of ['open', 'sign', 'generate'] as const) this.hsmErrors.inc({ operation }, 0);
    const counts = this.ocspCounts;
    const reported = new Float64Array(OCSP_RESULTS.length);
    new Counter({
      name: 'eimza_ocsp_requests_total',
      help: 'OCSP requests, by result: the certificate status answered, mixed (several), or the error status',
      labelNames: ['result'],
      registers,
      collect() {
        for (let i = 0; i < counts.length; i++) {
          this.inc({ result: OCSP_RESULTS[i]! }, counts[i]! - reported[i]!);
          reported[i] = counts[i]!;
        }
      },
    });
    this.ocspDuration = new PlainHistogram('eimza_ocsp_request_duration_seconds', 'OCSP request duration, from the request to the answer written', OCSP_BUCKETS, this.registry);
    new Gauge({
      name: 'eimza_crl_age_seconds',
      help: 'Seconds since thisUpdate of the newest CRL, per CA and kind',
      labelNames: ['ca', 'kind'],
      registers,
      collect() {
        this.reset();
        const now = sources.now().getTime();
        for (const p of sources.crlPublications()) this.set({ ca: p.caName, kind: p.kind }, Math.max(0, (now - p.thisUpdate.getTime()) / 1000));
      },
    });
    new Gauge({
      name: 'eimza_notifications_queued',
      help: 'Holder notifications queued in the outbox (not yet sent or given up)',
      registers,
      async collect() {
        // A scrape while the database is down still shows everything else; this one is NaN then.
        this.set(await sources.queuedNotifications().catch(() => Number.NaN));
      },
    });
    new Gauge({
      name: 'eimza_batch_items_queued',
      help: 'Bulk-issuance items (POST /api/v1/batches, all nodes) waiting for their certificate',
      registers,
      async collect() {
        this.set(await sources.queuedBatchItems().catch(() => Number.NaN));
      },
    });
    new Gauge({
      name: 'eimza_embedded_database_memory_bytes',
      help: "The embedded database's thread (PGlite): its WebAssembly memory and its JavaScript heap; absent on PostgreSQL",
      labelNames: ['area'],
      registers,
      async collect() {
        const memory = await sources.embeddedDatabaseMemory().catch(() => null);
        this.reset();
        if (memory) {
          this.set({ area: 'webassembly' }, memory.webAssembly);
          this.set({ area: 'heap' }, memory.heap);
        }
      },
    });
  }

  certificateIssued(caName: string, profile: string): void {
    this.issued.inc({ ca: caName, profile });
  }

  statusChanged(action: StatusAction): void {
    this.statusChanges.inc({ action });
  }

  hsmError(operation: 'open' | 'sign' | 'generate'): void {
    this.hsmErrors.inc({ operation });
  }

  /** The OCSP hot path: two additions and a short loop, no allocation. */
  ocspAnswered(result: OcspResult, seconds: number): void {
    this.ocspCounts[OCSP_RESULT_INDEX[result]]! += 1;
    this.ocspDuration.record(seconds);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  /** Node's process metrics (CPU, memory, event loop lag, GC): for a server, once. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format (version 0.0.4). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}

type HistogramSnapshot = Awaited<ReturnType<Histogram['get']>>;

/**
 * A histogram fed with plain arithmetic (no labels, no allocation per observation) and shown in
 * prom-client's format when scraped: prom-client's own observe() allocates several objects per
 * call, a measurable share of a pre-signed OCSP answer's cost.
 */
class PlainHistogram extends Histogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly metricName: string,
    private readonly helpText: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super({ name: metricName, help: helpText, buckets: [...bounds], registers: [registry] });
    this.counts = new Float64Array(bounds.length);
  }

  record(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    if (i < this.counts.length) this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  override async get(): Promise<HistogramSnapshot> {
    return this.snapshot();
  }

  /** What the registry reads for the text format (prom-client calls it instead of get()). */
  async getForPromString(): Promise<HistogramSnapshot> {
    return this.snapshot();
  }

  private snapshot(): HistogramSnapshot {
    const bucket = `${this.metricName}_bucket`;
    let cumulative = 0;
    const values = this.bounds.map((le, i) => ({ labels: { le }, value: (cumulative += this.counts[i]!), metricName: bucket }));
    values.push(
      { labels: { le: '+Inf' as unknown as number }, value: this.count, metricName: bucket },
      { labels: {} as { le: number }, value: this.sum, metricName: `${this.metricName}_sum` },
      { labels: {} as { le: number }, value: this.count, metricName: `${this.metricName}_count` },
    );
    // prom-client's runtime type is the string 'histogram' (its typings say an enum).
    return { name: this.metricName, help: this.helpText, type: 'histogram', values, aggregator: 'sum' } as unknown as HistogramSnapshot;
  }
}
