/**
 * Applications at the registration desk (issue 4): the states, the transition table, and what a
 * product is made of. Pure data; src/ra applies it.
 */
export const APPLICATION_STATES = ['submitted', 'paid', 'approved', 'issued', 'handed-over', 'rejected', 'cancelled'] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];

/** The states in which a holder has an application in progress (one per holder, product and organisation). */
export const OPEN_STATES: readonly ApplicationState[] = ['submitted', 'paid', 'approved', 'issued'];

export type ApplicationAction = 'pay' | 'approve' | 'reject' | 'cancel' | 'complete' | 'handover';

/** action -> the states it may start from, and where it leads. 'complete' = the last certificate was issued. */
export const APPLICATION_TRANSITIONS: Readonly<Record<ApplicationAction, { from: readonly ApplicationState[]; to: ApplicationState }>> = {
  pay: { from: ['submitted'], to: 'paid' },
  approve: { from: ['paid'], to: 'approved' },
  reject: { from: ['submitted', 'paid'], to: 'rejected' },
  // Once a certificate exists the holder's way out is revocation, not cancellation.
  cancel: { from: ['submitted', 'paid', 'approved'], to: 'cancelled' },
  complete: { from: ['approved'], to: 'issued' },
  handover: { from: ['issued'], to: 'handed-over' },
};

/** The next state, or null when `action` is not allowed from `from`. */
export function nextApplicationState(from: ApplicationState, action: ApplicationAction): ApplicationState | null {
  const t = APPLICATION_TRANSITIONS[action];
  return t.from.includes(from) ? t.to : null;
}

export const APPLICANT_KINDS = ['citizen', 'entrepreneur', 'legal-entity', 'state-agency'] as const;
export type ApplicantKind = (typeof APPLICANT_KINDS)[number];

/** Tariff and statistics category; today one per applicant kind. */
export type HolderCategory = ApplicantKind;

export const PRODUCTS = ['card', 'mobile-id'] as const;
export type Product = (typeof PRODUCTS)[number];

export const CARRIERS = ['card', 'usb-token', 'sim'] as const;
export type Carrier = (typeof CARRIERS)[number];

export const CERTIFICATE_TYPES = ['signature', 'authentication', 'encryption'] as const;
export type CertificateType = (typeof CERTIFICATE_TYPES)[number];

export const ID_DOCUMENT_TYPES = ['id-card', 'passport', 'residence-permit'] as const;
export type IdDocumentType = (typeof ID_DOCUMENT_TYPES)[number];

export const PAYMENT_METHODS = ['cash', 'card', 'bank-transfer', 'online'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface IdDocument {
  type: IdDocumentType;
  number: string;
}

export interface Applicant {
  kind: ApplicantKind;
  fin: string;
  givenName: string;
  surname: string;
  birthDate: string;
  email: string | null;
  phone: string | null;
  /** Entrepreneurs (ends in 2), legal entities and state agencies (ends in 1). */
  voen: string | null;
  organization: string | null;
  /** The power of attorney or order that makes the applicant the organisation's representative. */
  authorityDocument: string | null;
}

export interface Payment {
  amountMinor: bigint;
  currency: string;
  receipt: string;
  method: PaymentMethod;
  at: Date;
  by: string;
}

export interface ApplicationRecord {
  id: string;
  officeCode: string;
  channel: 'desk' | 'online';
  state: ApplicationState;
  applicant: Applicant;
  category: HolderCategory;
  idDocument: IdDocument | null;
  product: Product;
  carrier: Carrier;
  validityYears: number;
  tariffMinor: bigint;
  currency: string;
  payment: Payment | null;
  card: { serialNumber: string; batch: string | null } | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}
