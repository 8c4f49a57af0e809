import { CaError, isCaError } from '../errors.js';

/**
 * Postgres SQLSTATE codes -> CaError, by code, never by message text. Anything unknown stays
 * `internal` with the original as cause (logged, never shown).
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
    case '57P01':
    case '57P03':
    case '08000':
    case '08003':
    case '08006':
    case 'ECONNREFUSED':
      return new CaError('internal', 'database unavailable', { code: 'databaseUnavailable', cause: e });
    default:
      return e;
  }
}
