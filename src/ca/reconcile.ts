import { appendAudit } from '../audit/log.js';
import { changeStatus, listStaleReservations } from '../store/certificates.js';
import { inTransaction } from '../store/transaction.js';
import type { CaDeps } from './deps.js';

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
  for (const r of stale) {
    const changed = await inTransaction(deps.db, async ({ tx }) => {
      const ok = await changeStatus(tx, {
        serial: r.serial,
        from: 'reserved',
        to: 'revoked',
        at: now,
        reason: 'superseded',
        revokedAt: now,
        invalidityDate: null,
      });
      if (ok) {
        await appendAudit(tx, deps.clock, [
          {
            actor,
            action: 'certificate.reservationRevoked',
            caName: r.caName,
            serial: r.serial,
            details: { reservedAt: r.reservedAt.toISOString(), why: 'issuance did not complete' },
          },
        ]);
      }
      return ok;
    });
    if (changed) resolved.push(r.serial);
  }
  return { resolved };
}
