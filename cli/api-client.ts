import { z } from 'zod';
import { CaError, ERROR_KINDS, type ErrorKind } from '../src/errors.js';
import { readSecretFile } from './secrets.js';

/**
 * The e-imza REST API as a CLI command reaches it: the base URL and the operator's bearer token
 * from options or the environment, and a client that retries safely.
 */

export const DEFAULT_API = 'http://127.0.0.1:8080';

const ProblemSchema = z.object({ title: z.string().optional(), status: z.number().optional(), code: z.string().optional(), detail: z.string().optional() });

const STATUS_KINDS: Record<number, ErrorKind> = {
  400: 'malformed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'notFound',
  409: 'conflict',
  422: 'policyForbids',
  429: 'rateLimited',
  503: 'hsmUnavailable',
};

/** Attempts for one request; between them 0.5 s, 1 s, 2 s. */
const ATTEMPTS = 4;
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * A small client of the REST API with the operator's bearer token. A request that failed on the
 * way (network error, timeout, 503, or the server still busy with the same Idempotency-Key) is
 * sent again with the same key, so a certificate is never issued twice for one request.
 */
export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async request(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<unknown> {
    let lastError: CaError | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
      let response: Response;
      try {
        response = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json, application/problem+json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (cause) {
        lastError = new CaError('internal', `cannot reach the e-imza API at ${this.base}`, { code: 'apiUnreachable', cause });
        continue;
      }
      const reply = await readJson(response);
      if (response.ok) return reply;
      lastError = problemError(response.status, reply);
      const retry = response.status === 503 || lastError.code === 'idempotencyInProgress';
      if (!retry || (method === 'POST' && !idempotencyKey)) throw lastError;
    }
    throw lastError!;
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  return safeJson(text);
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** application/problem+json (RFC 9457) as the API writes it: `title` is the error kind. */
function problemError(status: number, body: unknown): CaError {
  const problem = ProblemSchema.safeParse(body);
  const p = problem.success ? problem.data : {};
  const kind: ErrorKind =
    p.title && (ERROR_KINDS as readonly string[]).includes(p.title) ? (p.title as ErrorKind) : (STATUS_KINDS[status] ?? 'internal');
  return new CaError(kind, p.detail ?? `the API answered HTTP ${status}`, { code: p.code ?? `http${status}` });
}

export function apiBase(option: string | undefined): string {
  const text = option ?? process.env.EIMZA_API_URL ?? DEFAULT_API;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CaError('malformed', `--api ${text} is not a URL`, { code: 'invalidArgument' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CaError('malformed', '--api must be an http or https URL', { code: 'invalidArgument' });
  return url.toString().replace(/\/+$/, '');
}

export function readToken(option: string | undefined): string {
  const file = option ?? process.env.EIMZA_TOKEN_FILE;
  if (!file) throw new CaError('unauthorized', 'no operator token: give --token-file or set EIMZA_TOKEN_FILE', { code: 'missingToken' });
  const token = readSecretFile(file, 'operator token').trim();
  if (!/^[\x21-\x7e]+$/.test(token)) throw new CaError('unauthorized', `the token file ${file} does not hold a token`, { code: 'invalidToken' });
  return token;
}
