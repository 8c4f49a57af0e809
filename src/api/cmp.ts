import express, { Router } from 'express';
import { CaError } from '../errors.js';
import type { CmpService } from '../ra/cmp.js';

/** CMP over HTTP (RFC 6712; RFC 9483 §6.1 names /.well-known/cmp): a DER PKIMessage in, one out. */
export function cmpRouter(service: CmpService): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: '64kb' });
  router.post(['/cmp', '/.well-known/cmp'], raw, async (req, res) => {
    if ((req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/pkixcmp') {
      throw new CaError('malformed', 'CMP requests are sent as application/pkixcmp', { code: 'unsupportedMediaType' });
    }
    const body = req.body instanceof Buffer ? new Uint8Array(req.body) : new Uint8Array();
    const answer = await service.handle(body);
    // Errors travel inside the PKIMessage; HTTP says only that one came back (RFC 6712 §3.6).
    res.status(200).type('application/pkixcmp').setHeader('cache-control', 'no-store');
    res.send(Buffer.from(answer));
  });
  return router;
}
