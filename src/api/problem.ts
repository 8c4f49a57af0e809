import type { ErrorKind } from '../errors.js';
import { CaError, isCaError } from '../errors.js';

/** The one kind -> HTTP status table (architecture.md, "Errors"). */
export const HTTP_STATUS: Record<ErrorKind, number> = {
  malformed: 400,
  badCsr: 400,
  badPublicKey: 400,
  policyForbids: 422,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  invalidTransition: 409,
  rateLimited: 429,
  hsmUnavailable: 503,
  unavailable: 503,
  internal: 500,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
}

/**
 * RFC 9457 problem details. Unexpected errors become a generic 500: their message, stack and
 * any SQL stay in the log (`logUnexpected`), never in the response.
 */
export function toProblem(e: unknown, logUnexpected: (e: unknown) => void): Problem {
  const err = asCaError(e);
  // Only what became internal: body-parser's refusals are the client's fault, and their messages
  // quote the request body ("Unexpected token 'x', "x{"fin":…" is not valid JSON").
  if (err.kind === 'internal') logUnexpected(e);
  const status = HTTP_STATUS[err.kind];
  return {
    type: `https://e-imza.az/problems/${err.code}`,
    title: err.kind,
    status,
    code: err.code,
    detail: err.kind === 'internal' && err.code === 'internal' ? 'internal error' : err.detail,
  };
}

function asCaError(e: unknown): CaError {
  if (isCaError(e)) return e;
  const type = typeof e === 'object' && e !== null ? (e as { type?: unknown }).type : undefined;
  // body-parser's own errors: too large and unparseable bodies are the client's fault.
  if (type === 'entity.too.large') return new CaError('malformed', 'request body too large', { code: 'bodyTooLarge' });
  if (type === 'entity.parse.failed') return new CaError('malformed', 'request body is not valid JSON', { code: 'malformedJson' });
  return new CaError('internal', 'internal error', { cause: e });
}
