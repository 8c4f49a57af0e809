import { findCertificateForUpdate, listStaleReservations } from '../store/certificates.js';
import { inTransaction } from '../store/transaction.js';
import type { CaDeps } from './deps.js';
import { applyStatusChange } from './status.js';

export interface ReconcileResult {
  resolved: string[];
}

/**
 * Resolves reservations that never became certificates: the process died (or the database was
 * unreachable) between signing and storing. Whether a signature was made is unknowable, so the
 * serial is revoked (superseded) with the exact TBS kept: if a signed copy exists anywhere, CRL
 * and OCSP call it revoked, and the holder's retry gets a fresh certificate. Never resurrected.
 */
export async function reconcileReservations(deps: CaDeps, actor = 'reconciler'): Promise<ReconcileResult> {
  const now = deps.clock.now();
  const stale = await listStaleReservations(deps.db, new Date(now.getTime() - deps.reservationGraceMs));
  const resolved: string[] = [];
  if (stale.length) await deps.cas.list(); // before any transaction (see applyStatusChange)
  for (const r of stale) {
    const changed = await inTransaction(deps.db, async (uow) => {
      const current = await findCertificateForUpdate(uow.tx, r.serial);
      if (current?.status !== 'reserved') return false; // finished meanwhile
      await applyStatusChange(
        deps,
        uow,
        current,
        { ...current, status: 'revoked', statusChangedAt: now, revocationReason: 'superseded', revokedAt: now, invalidityDate: null },
        {
          actor,
          action: 'certificate.reservationRevoked',
          details: { reservedAt: r.reservedAt.toISOString(), why: 'issuance did not complete' },
        },
      );
      return true;
    });
    if (changed) resolved.push(r.serial);
  }
  return { resolved };
}
