import { CaError } from '../errors.js';
import type { CertificateStatus, RevocationReason } from './certificate.js';

/** What a holder, clerk or operator can ask of a certificate's status (architecture.md "Status"). */
export type StatusAction = 'suspend' | 'restore' | 'revoke';

/**
 * The transition table: active -> suspended (certificateHold), suspended -> active (restore),
 * active|suspended -> revoked (final). Everything else is `invalidTransition`.
 */
const TRANSITIONS: Record<StatusAction, Partial<Record<CertificateStatus, CertificateStatus>>> = {
  suspend: { active: 'suspended' },
  restore: { suspended: 'active' },
  revoke: { active: 'revoked', suspended: 'revoked' },
};

export function nextStatus(from: CertificateStatus, action: StatusAction, expired: boolean): CertificateStatus {
  const to = TRANSITIONS[action][from];
  if (!to) {
    const why = from === 'revoked' ? 'revocation is final' : from === 'reserved' ? 'the certificate was never issued' : `it is ${from}`;
    throw new CaError('invalidTransition', `cannot ${action} this certificate: ${why}`, { code: 'invalidTransition' });
  }
  // An expired certificate's status is frozen: nothing a relying party checks can change.
  if (expired) throw new CaError('invalidTransition', `cannot ${action} this certificate: it has expired`, { code: 'certificateExpired' });
  return to;
}

/** The reason a status carries on CRLs and in OCSP (RFC 5280 §5.3.1). */
export function publishedReason(status: CertificateStatus, reason: RevocationReason | null): RevocationReason | null {
  if (status === 'suspended') return 'certificateHold';
  return status === 'revoked' ? reason : null;
}
