import express, { type ErrorRequestHandler, type Express } from 'express';
import type { CaDeps } from '../ca/deps.js';
import type { CrlPublisher } from '../crl/publisher.js';
import { certificatesRouter } from './certificates.js';
import { toProblem } from './problem.js';
import { publicationRouter } from './publication.js';

export interface AppOptions {
  ca: CaDeps;
  crl: CrlPublisher;
  /** SHA-256 of the admin token that status changes over HTTP require; null = none accepted. */
  adminTokenSha256: Uint8Array | null;
  log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** The public HTTP face. Routes only translate HTTP; the CA core does the work. (OCSP is in front: ocsp.ts.) */
export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/health', async (_req, res) => {
    const cas = await opts.ca.cas.list();
    res.json({ status: 'ok', cas: cas.map((c) => c.record.name) });
  });
  app.use('/api/v1/certificates', certificatesRouter(opts.ca, opts.adminTokenSha256));
  app.use(publicationRouter(opts.ca, opts.crl));

  app.use((_req, res) => {
    res.status(404).type('application/problem+json').json({ type: 'about:blank', title: 'notFound', status: 404, code: 'notFound', detail: 'no such resource' });
  });
  app.use(problemHandler(opts.log));
  return app;
}

export function problemHandler(log: AppOptions['log']): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const problem = toProblem(err, (e) => log('error', 'unexpected error', { error: e instanceof Error ? e.stack : String(e) }));
    res.status(problem.status).type('application/problem+json').json(problem);
  };
}
