import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { CaError } from '../errors.js';

/**
 * Until operators with roles exist (registration desks), changing a certificate's status over
 * HTTP takes the service's admin token: `Authorization: Bearer <token>`, the token kept in a
 * 0600 file (see config.md). Compared as SHA-256 digests in constant time.
 */
export function requireAdminToken(tokenSha256: Uint8Array | null): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      next(new CaError('unauthorized', 'this endpoint needs `Authorization: Bearer <admin token>`', { code: 'missingToken' }));
      return;
    }
    const presented = createHash('sha256').update(match[1]!).digest();
    if (!tokenSha256 || !timingSafeEqual(presented, tokenSha256)) {
      next(new CaError('unauthorized', 'the token is not valid', { code: 'invalidToken' }));
      return;
    }
    next();
  };
}

/** The admin token's digest; on first start a random token is written to `file` (0600). */
export function readOrCreateAdminToken(file: string): Uint8Array {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16) throw new CaError('malformed', `the admin token in ${file} is too short`, { code: 'invalidConfig' });
  return createHash('sha256').update(token).digest();
}
