import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { CaError } from '../errors.js';
import type { Principal } from '../ra/access.js';
import { beginIdempotent, endIdempotent, requestFingerprint } from '../ra/idempotency.js';
import type { RaDeps } from '../ra/deps.js';
import type { Permission } from '../policy/roles.js';
import type { Authenticator } from './auth.js';
import { toProblem } from './problem.js';
import { AddressCounter, type WindowPolicy } from './rate-limit.js';

/**
 * One endpoint, declared once: the zod schemas validate requests here and describe them in the
 * OpenAPI document (openapi.ts), so the documentation cannot drift from what is enforced.
 */
export interface Endpoint<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  method: 'get' | 'post';
  /** OpenAPI form, e.g. /api/v1/applications/{id}. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** 'public' needs no token, 'authenticated' any valid one; otherwise the permission the caller's role must have. */
  access: 'public' | 'authenticated' | Permission;
  body?: B;
  /** Larger bodies are refused with bodyTooLarge before parsing; default 16 kB. */
  bodyLimit?: string;
  query?: Q;
  response: { status: number; description: string; schema: z.ZodType };
  /** Public endpoints that write: at most this many requests per client address and window. */
  rateLimit?: WindowPolicy;
  /** Error codes worth documenting for this endpoint (status -> codes). */
  errors?: Record<number, string[]>;
  handler: (ctx: HandlerContext<z.infer<B>, z.infer<Q>>) => Promise<unknown>;
}

export interface HandlerContext<B, Q> {
  principal: Principal | null;
  body: B;
  query: Q;
  params: Record<string, string>;
  req: Request;
}

/** Endpoints are built by functions of the dependencies; this keeps their types while erasing them for the list. */
export function endpoint<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined>(e: Endpoint<B, Q>): Endpoint {
  return e as unknown as Endpoint;
}

export const JSON_BODY_LIMIT = '16kb';

function invalidInput(where: string, error: z.ZodError): CaError {
  const issue = error.issues[0];
  const path = issue?.path.join('.');
  return new CaError('malformed', `${where}${path ? `.${path}` : ''}: ${issue?.message ?? 'invalid'}`, { code: 'invalidInput' });
}

/** Mounts endpoints on a router: authentication, authorization, validation, Idempotency-Key, JSON reply. */
export function mountEndpoints(router: Router, endpoints: Endpoint[], deps: { ra: RaDeps; auth: Authenticator; log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void }): void {
  for (const e of endpoints) {
    const json = express.json({ limit: e.bodyLimit ?? JSON_BODY_LIMIT });
    const limiter = e.rateLimit ? new AddressCounter(e.rateLimit, () => deps.ra.ca.clock.now().getTime()) : null;
    const expressPath = e.path.replace(/\{([A-Za-z]+)\}/g, ':$1');
    const handlers = [
      ...(e.method === 'post' ? [json] : []),
      async (req: Request, res: Response) => {
        if (limiter) {
          const address = req.socket.remoteAddress ?? 'unknown';
          const wait = limiter.blockedFor(address);
          if (wait > 0) throw new CaError('rateLimited', `too many requests from this address; try again in ${Math.ceil(wait / 1000)} s`, { code: 'tooManyRequests' });
          limiter.count(address);
        }
        const principal = e.access === 'public' ? null : await deps.auth.authenticate(req);
        if (principal && e.access !== 'public' && e.access !== 'authenticated') deps.auth.authorize(principal, e.access);
        const body = e.body ? e.body.safeParse(req.body ?? {}) : { success: true as const, data: undefined };
        if (!body.success) throw invalidInput('body', body.error);
        const query = e.query ? e.query.safeParse(req.query ?? {}) : { success: true as const, data: undefined };
        if (!query.success) throw invalidInput('query', query.error);
        const params = Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)]));
        const run = () => e.handler({ principal, body: body.data, query: query.data, params, req });
        const key = req.get('idempotency-key');
        if (e.method === 'post' && key !== undefined) {
          await idempotent(deps, res, principal ? `operator:${principal.id}` : `public:${req.socket.remoteAddress ?? ''}`, key, requestFingerprint(e.method, req.originalUrl, req.body), e.response.status, run);
          return;
        }
        res.status(e.response.status).json(await run());
      },
    ];
    router[e.method](expressPath, ...handlers);
  }
}

async function idempotent(
  deps: { ra: RaDeps; log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void },
  res: Response,
  principal: string,
  key: string,
  fingerprint: Uint8Array,
  status: number,
  run: () => Promise<unknown>,
): Promise<void> {
  const start = await beginIdempotent(deps.ra, principal, key, fingerprint);
  if (start.kind === 'replay') {
    res.setHeader('Idempotent-Replayed', 'true');
    sendStored(res, start.status, start.body);
    return;
  }
  let result: unknown;
  try {
    result = await run();
  } catch (e) {
    // A refusal is an answer too: the same request under the same key gets the same refusal.
    const problem = toProblem(e, () => {});
    await endIdempotent(deps.ra, principal, key, problem.status, problem);
    throw e;
  }
  await endIdempotent(deps.ra, principal, key, status, result);
  res.status(status).json(result);
}

function sendStored(res: Response, status: number, body: unknown): void {
  if (status >= 400) res.status(status).type('application/problem+json').send(JSON.stringify(body));
  else res.status(status).json(body);
}
