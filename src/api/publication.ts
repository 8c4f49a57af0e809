import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { CaDeps } from '../ca/deps.js';
import type { CrlPublisher } from '../crl/publisher.js';
import { CaError } from '../errors.js';

/**
 * What relying parties fetch without asking anyone: CRLs (`/crl/<ca>[-p<N>][-delta].crl`, DER,
 * application/pkix-crl, RFC 5280 §4.2.1.13) and CA certificates (`/ca/<ca>.crt`, the AIA
 * caIssuers target, application/pkix-cert, RFC 5280 §4.2.2.1), with HTTP caching headers.
 */
export function publicationRouter(ca: CaDeps, crl: CrlPublisher): Router {
  const router = Router();
  router.get('/crl/:file', async (req, res) => {
    const stored = await crl.current(String(req.params.file));
    if (!stored) throw new CaError('notFound', `no CRL ${String(req.params.file)}`, { code: 'crlNotFound' });
    const etag = `"${stored.caName}-${stored.scope || 'all'}-${stored.number}"`;
    const maxAge = Math.max(0, Math.min(3600, Math.floor((stored.nextUpdate.getTime() - ca.clock.now().getTime()) / 1000)));
    res.set({
      'content-type': 'application/pkix-crl',
      etag,
      'last-modified': stored.thisUpdate.toUTCString(),
      expires: stored.nextUpdate.toUTCString(),
      'cache-control': `public, max-age=${maxAge}, no-transform`,
    });
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    res.end(Buffer.from(stored.der));
  });
  router.get('/ca/:file', async (req, res) => {
    const m = /^([a-z][a-z0-9-]*)\.(crt|cer)$/.exec(String(req.params.file));
    const found = m ? (await ca.cas.list()).find((c) => c.record.name === m[1]) : undefined;
    if (!m || !found) throw new CaError('notFound', `no CA certificate ${String(req.params.file)}`, { code: 'caNotFound' });
    const der = Buffer.from(found.certificateDer);
    const etag = `"${createHash('sha256').update(der).digest('hex').slice(0, 32)}"`;
    res.set({ etag, 'cache-control': 'public, max-age=86400' });
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    res.type('application/pkix-cert').end(der);
  });
  return router;
}
