import { getCertificate } from '../ca/queries.js';
import { changeCertificateStatus } from '../ca/status.js';
import type { IdDocument, IdDocumentType } from '../domain/application.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { StatusAction } from '../domain/status.js';
import { CaError } from '../errors.js';
import { validateIdDocument } from '../policy/applicants.js';
import { validateFin } from '../policy/identifiers.js';
import type { Permission } from '../policy/roles.js';
import { listCertificates } from '../store/certificates.js';
import { actorOf, authorize, type Principal } from './access.js';
import type { RaDeps } from './deps.js';

/**
 * A holder's requests at the desk (profiles.md "Lifecycle rules"): suspension on identification
 * (any desk role), restore only with the identity document checked (supervisor), revocation
 * (supervisor). The holder may walk into any office, so these are not limited to the office
 * that issued the certificate; the acting office is in the audit event.
 */
export async function holderCertificates(ra: RaDeps, p: Principal, fin: string): Promise<CertificateRecord[]> {
  authorize(p, 'holder.read');
  return listCertificates(ra.ca.db, { holderIdentityKey: `fin:${validateFin(fin)}`, statuses: ['active', 'suspended', 'revoked'], limit: 500 });
}

export interface HolderRequest {
  fin: string;
  serial: string;
  action: StatusAction;
  /** Restore needs the identity document checked at the desk; suspend and revoke record it when given. */
  idDocument?: { type: IdDocumentType; number: string } | undefined;
  reason?: string | undefined;
  invalidityDate?: Date | undefined;
  comment?: string | undefined;
}

const PERMISSION: Record<StatusAction, Permission> = { suspend: 'certificate.suspend', restore: 'certificate.restore', revoke: 'certificate.revoke' };

export async function holderRequest(ra: RaDeps, p: Principal, req: HolderRequest): Promise<CertificateRecord> {
  authorize(p, PERMISSION[req.action]);
  const fin = validateFin(req.fin);
  const checked: IdDocument | null = req.idDocument ? validateIdDocument(req.idDocument) : null;
  if (req.action === 'restore' && !checked) {
    throw new CaError('malformed', 'a certificate is restored only with the identity document checked at the desk (idDocument)', { code: 'identityNotChecked' });
  }
  const record = await getCertificate(ra.ca, req.serial);
  if ((record.holderSnapshot as { fin?: string } | null)?.fin?.toUpperCase() !== fin) {
    // Not the holder's: answer as if it did not exist, so a FIN cannot be used to probe serials.
    throw new CaError('notFound', `the holder ${fin} has no certificate ${record.serial}`, { code: 'certificateNotFound' });
  }
  return changeCertificateStatus(ra.ca, req.action, {
    serial: record.serial,
    actor: actorOf(p),
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    ...(req.invalidityDate ? { invalidityDate: req.invalidityDate } : {}),
    comment: JSON.stringify({
      request: 'holder at desk',
      office: p.officeCode,
      fin,
      ...(checked ? { idDocument: checked } : {}),
      ...(req.comment ? { note: req.comment } : {}),
    }),
  });
}

/** Status changes by serial without a holder present (an operator acting on a report or an order). */
export async function operatorStatusChange(
  ra: RaDeps,
  p: Principal,
  action: StatusAction,
  req: { serial: string; reason?: string | undefined; invalidityDate?: Date | undefined; comment?: string | undefined },
): Promise<CertificateRecord> {
  authorize(p, PERMISSION[action]);
  return changeCertificateStatus(ra.ca, action, {
    serial: req.serial,
    actor: actorOf(p),
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    ...(req.invalidityDate ? { invalidityDate: req.invalidityDate } : {}),
    ...(req.comment ? { comment: req.comment } : {}),
  });
}
