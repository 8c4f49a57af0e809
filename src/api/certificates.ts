import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { CaDeps } from '../ca/deps.js';
import { certificateView, getCertificate } from '../ca/queries.js';
import { changeCertificateStatus } from '../ca/status.js';
import type { StatusAction } from '../domain/status.js';
import { CaError } from '../errors.js';
import { requireAdminToken } from './admin-token.js';

const StatusBody = z
  .object({
    reason: z.string().max(40).optional(),
    invalidityDate: z.string().max(40).refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date').optional(),
    comment: z.string().max(500).optional(),
  })
  .strict();

/** /api/v1/certificates: status reads (public) and suspend / restore / revoke (admin token). */
export function certificatesRouter(ca: CaDeps, adminTokenSha256: Uint8Array | null): Router {
  const router = Router();
  router.get('/:serial', async (req, res) => {
    const record = await getCertificate(ca, String(req.params.serial));
    res.json(certificateView(ca, record));
  });

  const change = (action: StatusAction) => async (req: Request, res: express.Response) => {
    const parsed = StatusBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CaError('malformed', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, { code: 'invalidInput' });
    }
    const b = parsed.data;
    const record = await changeCertificateStatus(ca, action, {
      serial: String(req.params.serial),
      actor: 'api:admin',
      ...(b.reason !== undefined ? { reason: b.reason } : {}),
      ...(b.invalidityDate ? { invalidityDate: new Date(b.invalidityDate) } : {}),
      ...(b.comment ? { comment: b.comment } : {}),
    });
    res.json(certificateView(ca, record));
  };
  const auth = requireAdminToken(adminTokenSha256);
  const json = express.json({ limit: '16kb' });
  router.post('/:serial/suspend', auth, json, change('suspend'));
  router.post('/:serial/restore', auth, json, change('restore'));
  router.post('/:serial/revoke', auth, json, change('revoke'));
  return router;
}
