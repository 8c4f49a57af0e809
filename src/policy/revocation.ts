import { CaError } from '../errors.js';
import type { RevocationReason } from '../domain/certificate.js';

/**
 * The reasons an operator may give when revoking (RFC 5280 §5.3.1). certificateHold is a status of
 * its own (suspend), removeFromCRL belongs to delta CRLs, cACompromise and aACompromise to the CA.
 */
export const OPERATOR_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const satisfies readonly RevocationReason[];
export type OperatorRevocationReason = (typeof OPERATOR_REVOCATION_REASONS)[number];

export function parseRevocationReason(input: string): OperatorRevocationReason {
  const match = OPERATOR_REVOCATION_REASONS.find((r) => r.toLowerCase() === input.trim().toLowerCase());
  if (!match) {
    throw new CaError('malformed', `revocation reason must be one of ${OPERATOR_REVOCATION_REASONS.join(', ')}`, { code: 'invalidReason' });
  }
  return match;
}
