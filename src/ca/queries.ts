import { verifyAuditLog as verifyChain } from '../audit/log.js';
import type { ChainVerdict } from '../audit/chain.js';
import { isExpired, type CertificateRecord, type CertificateStatus } from '../domain/certificate.js';
import { parseSerial, type Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import { findCertificate, listCertificates, listStatusEntries, type CertificateFilter, type CertificateStatusEntry } from '../store/certificates.js';
import { listAuditForSerial } from '../store/audit.js';
import type { CaDeps } from './deps.js';

/** Read side of the CA: what `cert show`, `cert list` and the status endpoints answer. */
export async function getCertificate(deps: CaDeps, serialInput: string): Promise<CertificateRecord> {
  const serial = parseSerial(serialInput);
  const record = await findCertificate(deps.db, serial);
  if (!record) throw new CaError('notFound', `no certificate with serial ${serial}`, { code: 'certificateNotFound' });
  return record;
}

export async function findCertificates(deps: CaDeps, filter: CertificateFilter): Promise<CertificateRecord[]> {
  return listCertificates(deps.db, filter);
}

export async function certificateHistory(deps: CaDeps, serialInput: string) {
  return listAuditForSerial(deps.db, parseSerial(serialInput));
}

/** The status a relying party sees: stored status plus expiry, which is derived. */
export function effectiveStatus(deps: Pick<CaDeps, 'clock'>, r: CertificateRecord): CertificateStatus | 'expired' {
  if (r.status === 'active' && isExpired(r, deps.clock.now())) return 'expired';
  return r.status;
}

export async function verifyAuditLog(deps: CaDeps, onProgress?: (n: number) => void): Promise<ChainVerdict> {
  return verifyChain(deps.db, onProgress);
}

export const CERTIFICATE_STATUSES: readonly CertificateStatus[] = ['reserved', 'active', 'suspended', 'revoked'];

/** What `cert show`, `cert list` and GET /api/v1/certificates/{serial} say of a certificate. */
export function certificateView(deps: Pick<CaDeps, 'clock'>, r: CertificateRecord) {
  return {
    serial: r.serial,
    ca: r.caName,
    profile: r.profile,
    status: effectiveStatus(deps, r),
    subject: r.subject,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    issuedAt: r.issuedAt?.toISOString() ?? null,
    statusChangedAt: r.statusChangedAt.toISOString(),
    revocationReason: r.revocationReason,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    invalidityDate: r.invalidityDate?.toISOString() ?? null,
    provenance: r.provenance,
  };
}

export type { CertificateStatusEntry } from '../store/certificates.js';

export interface StatusListPage {
  entries: CertificateStatusEntry[];
  /** The cursor of the next page (its last serial), or null on the last page. */
  next: Serial | null;
}

/**
 * A page of the public lists: the certificates of one CA that are suspended or revoked and not
 * yet expired (what its CRL lists), in serial order, after `after` (keyset paging).
 */
export async function listSuspendedAndRevoked(deps: Pick<CaDeps, 'db' | 'clock'>, caName: string, page: { after?: Serial; limit: number }): Promise<StatusListPage> {
  const rows = await listStatusEntries(deps.db, {
    caName,
    statuses: ['suspended', 'revoked'],
    validAt: deps.clock.now(),
    ...(page.after ? { afterSerial: page.after } : {}),
    limit: page.limit + 1,
  });
  const entries = rows.slice(0, page.limit);
  return { entries, next: rows.length > page.limit ? entries[entries.length - 1]!.serial : null };
}
