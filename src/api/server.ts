import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { reconcileReservations } from '../ca/reconcile.js';
import { parseCaAlgorithm } from '../ca/algorithms.js';
import { CMP_CA, ensureCmpSigner } from '../ca/cmp-signer.js';
import type { AppContext } from '../context.js';
import { operationContext } from '../admin/operations.js';
import { startAdminSocket } from '../admin/socket.js';
import { createLogger, logFunction, type Logger } from '../logging.js';
import { createApp } from './app.js';
import type { FailedLoginPolicy } from './auth.js';
import { ocspObserver } from './observability.js';
import { createOcspHandler } from './ocsp.js';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Log = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface ServerOptions {
  host: string;
  port: number;
  /** The service's logger (access log, request ids, every component's log lines). */
  logger?: Logger;
  /** Without a logger: where the components' lines go (the access log is then silent). */
  log?: Log;
  failedLogins?: FailedLoginPolicy;
}

/**
 * `eimza serve`: the HTTP service, the admin socket for the CLI, and the reconciler that resolves
 * reservations left by a crash. Returns once listening.
 */
export async function startServer(app: AppContext, options: ServerOptions): Promise<RunningServer> {
  const { ca } = app;
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const opts = { ...options, log: options.logger ? logFunction(options.logger) : (options.log ?? (() => {})) };
  await reconcile(app, opts.log);
  // A hierarchy made before CMP existed gets its CMP signer on the next start.
  if ((await ca.cas.list()).some((c) => c.record.name === CMP_CA)) {
    await ensureCmpSigner(ca, CMP_CA, parseCaAlgorithm(app.config.ca.issuingAlgorithm), 'serve');
  }
  const reconcileTimer = setInterval(() => void reconcile(app, opts.log), Math.max(10_000, ca.reservationGraceMs / 2));
  reconcileTimer.unref();

  const stopPublishing = await app.startPublishing(opts.log);
  app.metrics.collectProcessMetrics();
  const expressApp = createApp({
    ca,
    ra: app.ra,
    crl: app.crl,
    log: opts.log,
    logger,
    metrics: app.metrics,
    metricsAccess: app.config.server.metrics,
    ...(opts.failedLogins ? { failedLogins: opts.failedLogins } : {}),
  });
  const ocsp = createOcspHandler(app.ocsp, opts.log, ocspObserver({ logger, metrics: app.metrics }));
  const httpServer = http.createServer((req, res) => {
    if (!ocsp(req, res)) expressApp(req, res);
  });
  httpServer.keepAliveTimeout = 65_000; // longer than typical load-balancer idle timeouts
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;

  // Only the embedded database needs it (one process per directory); with PostgreSQL the CLI
  // connects itself, and several servers may share a data directory.
  const admin =
    app.config.database.kind === 'pglite' ? await startAdminSocket(app.config.dataDir, (actor, progress) => operationContext(app, actor, progress), opts.log) : null;

  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      clearInterval(reconcileTimer);
      await stopPublishing();
      await admin?.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

async function reconcile(app: AppContext, log: Log): Promise<void> {
  try {
    const { resolved } = await reconcileReservations(app.ca);
    if (resolved.length) log('info', 'resolved unfinished issuances', { serials: resolved });
  } catch (e) {
    log('error', 'reconciler failed', { error: e instanceof Error ? e.message : String(e) });
  }
}
