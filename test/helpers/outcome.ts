import { CaError } from '../../src/errors.js';

export type Outcome = { ok: true } | { kind: string; code: string };

/** What an action does, as data: success, or the kind/code of the CaError (anything else fails the test). */
export function outcome(action: () => unknown): Outcome {
  try {
    action();
    return { ok: true };
  } catch (e) {
    if (e instanceof CaError) return { kind: e.kind, code: e.code };
    throw e;
  }
}

/** The same for a promise that must reject with a CaError. */
export async function rejection(p: Promise<unknown>): Promise<{ kind: string; code: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CaError) return { kind: e.kind, code: e.code };
    throw e;
  }
  throw new Error('expected a rejection');
}

/** The stable code of the CaError an action throws (anything else, or no throw, fails the test). */
export function errorCode(action: () => unknown): string {
  const o = outcome(action);
  if ('ok' in o) throw new Error('did not throw');
  return o.code;
}
