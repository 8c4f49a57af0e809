import type { Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Db } from './database.js';
import { translateDatabaseError } from './pg-errors.js';

/** Either the database or an open transaction: repositories take this first. */
export type Executor = Db | Transaction<Database>;

export interface UnitOfWork {
  tx: Transaction<Database>;
  /** Runs after a successful commit (publish, notify); never inside the transaction. */
  onCommit(effect: () => void | Promise<void>): void;
}

/**
 * One state change = one transaction. Effects registered with onCommit run after the commit,
 * in order; a failing effect is reported to `onEffectError` and does not undo the commit.
 */
export async function inTransaction<T>(
  db: Db,
  work: (uow: UnitOfWork) => Promise<T>,
  onEffectError: (e: unknown) => void = () => {},
): Promise<T> {
  const effects: (() => void | Promise<void>)[] = [];
  let result: T;
  try {
    result = await db.transaction().execute((tx) => work({ tx, onCommit: (e) => effects.push(e) }));
  } catch (e) {
    throw translateDatabaseError(e);
  }
  for (const effect of effects) {
    try {
      await effect();
    } catch (e) {
      onEffectError(e);
    }
  }
  return result;
}
