import type { Request } from 'express';
import { CaError } from '../errors.js';
import { authorize, type Principal } from '../ra/access.js';
import type { RaDeps } from '../ra/deps.js';
import { authenticate } from '../ra/principals.js';
import type { Permission } from '../policy/roles.js';
import { AddressCounter } from './rate-limit.js';

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
  const failures = new AddressCounter({ max: policy.maxFailures, windowMs: policy.windowMs }, () => ra.ca.clock.now().getTime());

  return {
    async authenticate(req) {
      const address = req.socket.remoteAddress ?? 'unknown';
      const wait = failures.blockedFor(address);
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
        if (e instanceof CaError && e.kind === 'unauthorized') failures.count(address);
        throw e;
      }
    },
    authorize,
  };
}
