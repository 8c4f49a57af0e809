import express, { type ErrorRequestHandler, type Express } from 'express';
import type { CaDeps } from '../ca/deps.js';
import type { CrlPublisher } from '../crl/publisher.js';
import type { RaDeps } from '../ra/deps.js';
import { getOffices } from '../ra/principals.js';
import { applicationEndpoints } from './applications.js';
import { createAuthenticator, type FailedLoginPolicy } from './auth.js';
import { certificateEndpoints } from './certificates.js';
import { cmpRouter } from './cmp.js';
import { createCmpService } from '../ra/cmp.js';
import { mobileIdEndpoints } from './mobile-id.js';
import { securityServerEndpoints } from './security-servers.js';
import { batchEndpoints } from './batches.js';
import { renderDocsPage } from './docs-page.js';
import { endpoint, mountEndpoints, type Endpoint } from './endpoint.js';
import { buildOpenApi } from './openapi.js';
import { toProblem } from './problem.js';
import { publicationRouter } from './publication.js';
import { OfficeSchema } from './schemas.js';
import { z } from 'zod';
import { statusPageRouter } from '../web/status-page.js';
import type { Logger } from '../logging.js';
import type { ServiceMetrics } from '../metrics.js';
import { healthRouter, requestIdOfResponse, requestObserver, type MetricsAccess } from './observability.js';

export type Log = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface AppOptions {
  ca: CaDeps;
  ra: RaDeps;
  crl: CrlPublisher;
  log: Log;
  failedLogins?: FailedLoginPolicy;
  version?: string;
  /** Access log and request ids (observability.ts); without it, none. */
  logger?: Logger;
  metrics?: ServiceMetrics;
  /** GET /metrics: default loopback clients only. */
  metricsAccess?: MetricsAccess;
}

/** Every REST endpoint, in the order the OpenAPI document lists them. */
export function allEndpoints(ra: RaDeps): Endpoint[] {
  return [
    ...applicationEndpoints(ra),
    ...certificateEndpoints(ra),
    ...mobileIdEndpoints(ra),
    ...securityServerEndpoints(ra),
    ...batchEndpoints(ra),
    endpoint({
      method: 'get',
      path: '/api/v1/offices',
      summary: 'The offices where a pre-ordered card can be collected (public)',
      tag: 'Offices',
      access: 'public',
      response: { status: 200, description: 'open offices', schema: z.object({ items: z.array(OfficeSchema) }) },
      handler: async () => ({
        items: (await getOffices(ra)).filter((o) => !o.disabledAt).map((o) => ({ code: o.code, kind: o.kind, name: o.name, region: o.region })),
      }),
    }),
  ];
}

/** The HTTP face. Routes only translate HTTP; the CA core and the RA do the work. (OCSP is in front: ocsp.ts.) */
export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  if (opts.logger) app.use(requestObserver({ logger: opts.logger, ...(opts.metrics ? { metrics: opts.metrics } : {}) }));

  app.get('/health', async (_req, res) => {
    const cas = await opts.ca.cas.list();
    res.json({ status: 'ok', cas: cas.map((c) => c.record.name) });
  });
  app.use(healthRouter({ ca: opts.ca, ...(opts.metrics ? { metrics: opts.metrics } : {}), metricsAccess: opts.metricsAccess ?? 'loopback' }));
  const endpoints = allEndpoints(opts.ra);
  let openApi: Record<string, unknown> | null = null;
  const document = () => (openApi ??= buildOpenApi(endpoints, { version: opts.version ?? '0.1.0', serverUrl: opts.ca.settings.publicBaseUrl }));
  app.get('/api/openapi.json', (_req, res) => {
    res.json(document());
  });
  app.get('/api/docs', (_req, res) => {
    res.type('html').send(renderDocsPage(document()));
  });
  const api = express.Router();
  mountEndpoints(api, endpoints, { ra: opts.ra, auth: createAuthenticator(opts.ra, opts.failedLogins), log: opts.log });
  app.use(api);
  app.use(cmpRouter(createCmpService(opts.ra, (message, fields) => opts.log('error', message, fields))));
  app.use(publicationRouter(opts.ca, opts.crl));
  app.use(statusPageRouter(opts.ca, { log: opts.log }));

  app.use((_req, res) => {
    res.status(404).type('application/problem+json').json({ type: 'about:blank', title: 'notFound', status: 404, code: 'notFound', detail: 'no such resource' });
  });
  app.use(problemHandler(opts.log));
  return app;
}

export function problemHandler(log: Log): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const problem = toProblem(err, (e) => log('error', 'unexpected error', { requestId: requestIdOfResponse(res), error: e instanceof Error ? e.stack : String(e) }));
    res.locals.problemCode = problem.code;
    if (problem.status === 429) res.setHeader('Retry-After', '60');
    if (problem.status === 503) res.setHeader('Retry-After', '5');
    res.status(problem.status).type('application/problem+json').json(problem);
  };
}
