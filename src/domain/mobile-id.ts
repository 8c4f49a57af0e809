/**
 * A mobile-ID enrolment: a SIM (MSISDN, ICCID) bound to an approved mobile-ID application. It is
 * `pending` with a one-time activation code until the SIM sends its two CSRs, then `active` with
 * the serials of its authentication and signature certificates. Too many wrong codes make it
 * `locked`; a SIM replacement makes it `replaced`; revoking the pair makes it `revoked`. Only
 * one enrolment per MSISDN is pending or active at a time.
 */
export const MOBILE_ID_STATES = ['pending', 'active', 'locked', 'replaced', 'revoked'] as const;
export type MobileIdState = (typeof MOBILE_ID_STATES)[number];

export interface MobileIdRecord {
  id: string;
  applicationId: string;
  fin: string;
  msisdn: string;
  iccid: string;
  state: MobileIdState;
  /** SHA-256 of the activation code; null once used or superseded. The code itself is never stored. */
  activationCodeSha256: Uint8Array | null;
  activationExpiresAt: Date | null;
  failedAttempts: number;
  authenticationSerial: string | null;
  signatureSerial: string | null;
  createdAt: Date;
  /** The id of the operator who enrolled the SIM (the certificates' provenance names them). */
  createdBy: string;
  activatedAt: Date | null;
}
