import { randomUUID } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { CaDeps } from '../ca/deps.js';
import { checkReadiness } from '../ca/readiness.js';
import type { Logger } from '../logging.js';
import type { ServiceMetrics } from '../metrics.js';
import type { OcspObserver } from './ocsp.js';

/**
 * Operations: a request id and an access log line per request, HTTP metrics by route template,
 * GET /metrics (Prometheus text format), GET /health/live and GET /health/ready. The OCSP fast
 * path has its own, cheaper observer (ocspObserver): no request id, a debug line at most.
 */

/** Who may read GET /metrics: loopback clients only (the default), any client, or nobody. */
export type MetricsAccess = 'loopback' | 'any' | 'off';

type HttpMetrics = Pick<ServiceMetrics, 'httpRequest'>;
type Exposition = Pick<ServiceMetrics, 'contentType' | 'exposition'>;

/** A caller's X-Request-Id is kept when it is a plain token; anything else gets a fresh id. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@=+-]{1,128}$/;
/** Probes and scrapes come every few seconds: their access lines are debug, not info. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);
const MAX_LOGGED_PATH = 100;

export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  // A bearer token pasted into the wrong header must not end up in the log.
  return value && SANE_REQUEST_ID.test(value) && !value.startsWith('eimza_') ? value : randomUUID();
}

/** The id of the request a response belongs to (set by requestObserver). */
export function requestIdOfResponse(res: Response): string | undefined {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
}

/**
 * First middleware of the app: takes or makes the request id (echoed as X-Request-Id), and when
 * the response is done writes the access line (method, path, status, duration; never headers or
 * bodies) and counts the request by route template.
 */
export function requestObserver(opts: { logger: Logger; metrics?: HttpMetrics }): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.once('close', () => {
      const seconds = (performance.now() - startedAt) / 1000;
      const route = routeTemplate(req);
      const status = res.writableFinished ? res.statusCode : 499;
      opts.metrics?.httpRequest(req.method, route ?? 'unmatched', status, seconds);
      const path = route ?? pathOf(req);
      const fields = {
        requestId,
        method: req.method,
        path,
        status,
        durationMs: Math.round(seconds * 10_000) / 10,
        ...(typeof res.locals.problemCode === 'string' ? { code: res.locals.problemCode } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (QUIET_PATHS.has(path)) opts.logger.debug(fields, 'request');
      else opts.logger.info(fields, 'request');
    });
    next();
  };
}

/**
 * The route that answered, as declared (`/api/v1/holders/:fin/certificates`): a label with few
 * values for the metrics, and no FIN, phone number or serial in the access log. Null when no
 * route matched (404s).
 */
function routeTemplate(req: Request): string | null {
  const declared = (req as { route?: { path?: unknown } }).route?.path;
  if (declared === undefined) return null;
  const path = Array.isArray(declared) ? (declared.find((p) => p === req.path) ?? declared[0]) : declared;
  return `${req.baseUrl}${typeof path === 'string' ? path : String(path)}`;
}

/** Path without its query string, cut short. */
function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
}

/** The OCSP fast path's observer: a counter and a histogram of plain numbers; a debug line only when debug is on. */
export function ocspObserver(opts: { logger: Logger; metrics?: Pick<ServiceMetrics, 'ocspAnswered'> }): OcspObserver {
  const debug = opts.logger.isLevelEnabled('debug');
  const metrics = opts.metrics;
  return {
    answered(result, status, method, startedAt) {
      const seconds = (performance.now() - startedAt) / 1000;
      metrics?.ocspAnswered(result, seconds);
      if (debug) opts.logger.debug({ method, path: '/ocsp', status, result, durationMs: Math.round(seconds * 10_000) / 10 }, 'ocsp');
    },
  };
}

/**
 * GET /health/live: the process is up (no I/O). GET /health/ready: it can serve (database and
 * key store; 503 with the failed check otherwise). GET /metrics: Prometheus text format, for
 * loopback clients unless `metricsAccess` is 'any' (others get the 404 of an unknown path).
 */
export function healthRouter(opts: { ca: CaDeps; metrics?: Exposition; metricsAccess: MetricsAccess; readinessTimeoutMs?: number }): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'live' });
  });
  router.get('/health/ready', async (_req, res) => {
    const r = await checkReadiness(opts.ca, opts.readinessTimeoutMs);
    res
      .status(r.ready ? 200 : 503)
      .set('cache-control', 'no-store')
      .json({ status: r.ready ? 'ready' : 'unavailable', checks: r.checks });
  });
  const metrics = opts.metrics;
  if (metrics && opts.metricsAccess !== 'off') {
    router.get('/metrics', async (req, res, next) => {
      if (opts.metricsAccess === 'loopback' && !isLoopback(req.socket.remoteAddress)) return next();
      const text = await metrics.exposition();
      res.set({ 'content-type': metrics.contentType, 'cache-control': 'no-store' }).send(text);
    });
  }
  return router;
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}
