import { createHash } from 'node:crypto';
import { CaError } from '../errors.js';
import {
  findIdempotentRequest,
  finishIdempotentRequest,
  forgetIdempotentRequest,
  restartIdempotentRequest,
  startIdempotentRequest,
} from '../store/idempotency.js';
import type { RaDeps } from './deps.js';

/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the first request under a key runs
 * and its reply is stored; a repeat with the same request gets that reply again, without running;
 * the same key with another request is refused; a repeat while the first still runs is told so.
 * A reply is stored for every outcome but a server error, which may be retried.
 */
export type IdempotentStart = { kind: 'run' } | { kind: 'replay'; status: number; body: unknown };

const KEY = /^[\x21-\x7e]{1,200}$/;

export function requestFingerprint(method: string, path: string, body: unknown): Uint8Array {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest();
}

export async function beginIdempotent(ra: RaDeps, principal: string, key: string, fingerprint: Uint8Array): Promise<IdempotentStart> {
  if (!KEY.test(key)) throw new CaError('malformed', 'Idempotency-Key must be 1 to 200 printable characters', { code: 'invalidIdempotencyKey' });
  const now = ra.ca.clock.now();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await startIdempotentRequest(ra.ca.db, principal, key, fingerprint, now)) return { kind: 'run' };
    const existing = await findIdempotentRequest(ra.ca.db, principal, key);
    if (!existing) continue; // forgotten meanwhile (the first run failed): try again
    if (!Buffer.from(existing.fingerprint).equals(Buffer.from(fingerprint))) {
      throw new CaError('policyForbids', 'this Idempotency-Key was used with another request', { code: 'idempotencyKeyReused' });
    }
    if (existing.state === 'done') return { kind: 'replay', status: existing.responseStatus ?? 200, body: existing.responseBody };
    if (await restartIdempotentRequest(ra.ca.db, principal, key, now, new Date(now.getTime() - ra.staleAfterMs))) return { kind: 'run' };
    throw new CaError('conflict', 'a request with this Idempotency-Key is still being processed', { code: 'idempotencyInProgress' });
  }
  throw new CaError('conflict', 'a request with this Idempotency-Key is still being processed', { code: 'idempotencyInProgress' });
}

export async function endIdempotent(ra: RaDeps, principal: string, key: string, status: number, body: unknown): Promise<void> {
  if (status >= 500) await forgetIdempotentRequest(ra.ca.db, principal, key);
  else await finishIdempotentRequest(ra.ca.db, principal, key, status, body);
}
