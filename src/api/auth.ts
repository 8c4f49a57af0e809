import type { Request } from 'express';
import { CaError } from '../errors.js';
import { authorize, type Principal } from '../ra/access.js';
import type { RaDeps } from '../ra/deps.js';
import { authenticate } from '../ra/principals.js';
import type { Permission } from '../policy/roles.js';

export interface Authenticator {
  /** The principal of `Authorization: Bearer <token>`; unauthorized (401) or rateLimited (429) otherwise. */
  authenticate(req: Request): Promise<Principal>;
  authorize(p: Principal, permission: Permission): void;
}

export interface FailedLoginPolicy {
  /** This many failures from one address within the window blocks it until the window has passed. */
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_FAILED_LOGIN_POLICY: FailedLoginPolicy = { maxFailures: 10, windowMs: 5 * 60_000 };

/**
 * Bearer tokens of operators and machine clients, with failed attempts counted per client address
 * (in memory: each node limits on its own, which bounds guessing per node; tokens have 256 bits).
 */
export function createAuthenticator(ra: RaDeps, policy: FailedLoginPolicy = DEFAULT_FAILED_LOGIN_POLICY): Authenticator {
  const failures = new Map<string, { count: number; since: number }>();
  const now = () => ra.ca.clock.now().getTime();

  function blocked(address: string): number {
    const f = failures.get(address);
    if (!f) return 0;
    const left = f.since + policy.windowMs - now();
    if (left <= 0) {
      failures.delete(address);
      return 0;
    }
    return f.count >= policy.maxFailures ? left : 0;
  }

  function fail(address: string): void {
    const f = failures.get(address);
    if (!f || f.since + policy.windowMs <= now()) failures.set(address, { count: 1, since: now() });
    else f.count++;
    if (failures.size > 100_000) failures.clear(); // a flood of addresses must not grow memory without end
  }

  return {
    async authenticate(req) {
      const address = req.socket.remoteAddress ?? 'unknown';
      const wait = blocked(address);
      if (wait > 0) {
        throw new CaError('rateLimited', `too many failed logins from this address; try again in ${Math.ceil(wait / 1000)} s`, { code: 'tooManyFailedLogins' });
      }
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
      if (!match) {
        throw new CaError('unauthorized', 'this endpoint needs `Authorization: Bearer <token>`', { code: 'missingToken' });
      }
      try {
        return await authenticate(ra, match[1]!);
      } catch (e) {
        if (e instanceof CaError && e.kind === 'unauthorized') fail(address);
        throw e;
      }
    },
    authorize,
  };
}
