/**
 * The one error type of e-imza. Kinds are a closed union; the API maps a kind to an HTTP status
 * and the CLI to an exit code, both in one place. `detail` is safe to show to a client; `cause`
 * is for logs only and never leaves the process.
 */
export const ERROR_KINDS = [
  'malformed',
  'badCsr',
  'badPublicKey',
  'policyForbids',
  'unauthorized',
  'forbidden',
  'notFound',
  'conflict',
  'invalidTransition',
  'rateLimited',
  'hsmUnavailable',
  /** Something the CA depends on (the database) is down for now: retry later (HTTP 503). */
  'unavailable',
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class CaError extends Error {
  readonly kind: ErrorKind;
  readonly detail: string;
  /** A finer, stable code for clients (e.g. `invalidFin`); defaults to the kind. */
  readonly code: string;

  constructor(kind: ErrorKind, detail: string, options?: { code?: string; cause?: unknown }) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CaError';
    this.kind = kind;
    this.detail = detail;
    this.code = options?.code ?? kind;
  }
}

export function isCaError(e: unknown): e is CaError {
  return e instanceof CaError;
}

/** The HSM or the database is away for now: the same request may succeed later, so it is no answer to keep. */
export function isTransient(e: unknown): boolean {
  return isCaError(e) && (e.kind === 'hsmUnavailable' || e.kind === 'unavailable');
}

/** Shorthand constructors keep call sites short and the kinds greppable. */
export const fail = {
  malformed: (detail: string, code?: string, cause?: unknown) => new CaError('malformed', detail, { code, cause }),
  badCsr: (detail: string, code?: string, cause?: unknown) => new CaError('badCsr', detail, { code, cause }),
  badPublicKey: (detail: string, code?: string) => new CaError('badPublicKey', detail, { code }),
  policyForbids: (detail: string, code?: string) => new CaError('policyForbids', detail, { code }),
  notFound: (detail: string, code?: string) => new CaError('notFound', detail, { code }),
  conflict: (detail: string, code?: string) => new CaError('conflict', detail, { code }),
  invalidTransition: (detail: string, code?: string) => new CaError('invalidTransition', detail, { code }),
  hsmUnavailable: (detail: string, cause?: unknown) => new CaError('hsmUnavailable', detail, { cause }),
  internal: (detail: string, cause?: unknown) => new CaError('internal', detail, { cause }),
};
