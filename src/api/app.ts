import express, { type ErrorRequestHandler, type Express } from 'express';
import type { CaDeps } from '../ca/deps.js';
import { toProblem } from './problem.js';

export interface AppOptions {
  ca: CaDeps;
  log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** The public HTTP face. Routes only translate HTTP; the CA core does the work. */
export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/health', async (_req, res, next) => {
    try {
      const cas = await opts.ca.cas.list();
      res.json({ status: 'ok', cas: cas.map((c) => c.record.name) });
    } catch (e) {
      next(e);
    }
  });

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
