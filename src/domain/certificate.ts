import type { Serial } from './serial.js';

export type CertificateStatus = 'reserved' | 'active' | 'suspended' | 'revoked';

/** RFC 5280 §5.3.1 CRLReason names (the ones an operator may choose; 7 is unused). */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** CRLReason ::= ENUMERATED (RFC 5280 §5.3.1), used by CRL entries and OCSP alike; 7 is not used. */
export const REVOCATION_REASON_CODES: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};
export const REVOCATION_REASON_BY_CODE: ReadonlyMap<number, RevocationReason> = new Map(
  Object.entries(REVOCATION_REASON_CODES).map(([reason, code]) => [code, reason as RevocationReason]),
);

/** Where a certificate came from, so a bulk action on one desk or card batch is one query. */
export interface Provenance {
  officeCode?: string;
  operator?: string;
  batch?: string;
  /** 'holder' (CSR from outside), 'card' (generated on a smart card), 'hsm' (CA keys). */
  keyGeneration?: string;
}

export interface CertificateRecord {
  serial: Serial;
  caName: string;
  profile: string;
  status: CertificateStatus;
  holderId: string | null;
  subject: string;
  spkiSha256: Uint8Array;
  tbs: Uint8Array;
  der: Uint8Array | null;
  notBefore: Date;
  notAfter: Date;
  reservedAt: Date;
  issuedAt: Date | null;
  statusChangedAt: Date;
  revocationReason: RevocationReason | null;
  revokedAt: Date | null;
  invalidityDate: Date | null;
  provenance: Provenance;
  holderSnapshot: unknown;
  /** '' = listed on the whole CA's CRL only; 'p<N>' = also on partition N's. */
  crlScope: string;
  /** Order of the last status change (0 before the first): newer status, higher number. */
  statusSeq: bigint;
}

/** Expiry is derived, never stored (architecture.md, "Status"). */
export function isExpired(record: Pick<CertificateRecord, 'notAfter'>, now: Date): boolean {
  return record.notAfter.getTime() < now.getTime();
}
