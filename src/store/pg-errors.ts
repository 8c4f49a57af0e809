import { CaError, isCaError } from '../errors.js';

/**
 * Postgres SQLSTATE codes -> CaError, by code (only pg's own connection errors, which carry
 * none, are known by their message). Anything unknown stays `internal` with the original as
 * cause (logged, never shown).
 */
export function translateDatabaseError(e: unknown): unknown {
  if (isCaError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  switch (code) {
    case '23505':
      return new CaError('conflict', 'a record with the same key already exists', { code: 'duplicate', cause: e });
    case '23503':
      return new CaError('conflict', 'a referenced record does not exist', { code: 'foreignKey', cause: e });
    case '40001':
    case '40P01':
      return new CaError('conflict', 'concurrent update, try again', { code: 'retry', cause: e });
    default:
      return isDatabaseUnavailable(e) ? databaseUnavailable(e) : e;
  }
}

/** SQLSTATE classes and codes that mean the server went away or cannot take us now, not that the statement is wrong. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01' /* admin_shutdown */, '57P02' /* crash_shutdown */, '57P03' /* cannot_connect_now */, '53300' /* too_many_connections */]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True for an error that says the PostgreSQL server is down or unreachable (pg and net errors). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  // pg reports a dropped socket and its own connect timeout by message only.
  return /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/.test(message);
}

export function databaseUnavailable(cause: unknown): CaError {
  return new CaError('unavailable', 'the database is unavailable; try again shortly', { code: 'databaseUnavailable', cause });
}
