import type { Applicant, ApplicantKind, HolderCategory, IdDocument, IdDocumentType } from '../domain/application.js';
import type { Holder } from '../domain/holder.js';
import { CaError } from '../errors.js';
import { validateFin, validateVoen } from './identifiers.js';
import type { PkiSettings } from './settings.js';

/** An applicant as a desk or an online form sends it, before any check. */
export interface ApplicantInput {
  kind: ApplicantKind;
  fin: string;
  givenName: string;
  surname: string;
  birthDate: string;
  email?: string | undefined;
  phone?: string | undefined;
  voen?: string | undefined;
  organization?: string | undefined;
  authorityDocument?: string | undefined;
}

function invalid(code: string, detail: string): CaError {
  return new CaError('malformed', detail, { code });
}

/** The youngest holder an e-imza certificate is sold to (the age an ID card can be used to sign). */
const MIN_AGE_YEARS = 16;

function birthDate(value: string, now: Date): string {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !date || date.toISOString().slice(0, 10) !== value || Number(m[1]) < 1900) {
    throw invalid('invalidBirthDate', 'birthDate must be a real date, YYYY-MM-DD');
  }
  const adult = new Date(Date.UTC(date.getUTCFullYear() + MIN_AGE_YEARS, date.getUTCMonth(), date.getUTCDate()));
  if (adult > now) throw invalid('invalidBirthDate', `the applicant must be at least ${MIN_AGE_YEARS} years old`);
  return value;
}

/** One address, no header tricks: what an SMTP envelope and a To: line can carry. */
export function validateEmail(value: string): string {
  const email = value.trim();
  if (email.length > 254 || !/^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(email)) {
    throw invalid('invalidEmail', 'email must be one address like name@example.az');
  }
  return email;
}

/** E.164, spaces, dashes and brackets dropped; a local Azerbaijani number (0XX…) gets +994. */
export function validatePhone(value: string): string {
  let phone = value.replace(/[\s().-]/g, '');
  if (/^0[0-9]{9}$/.test(phone)) phone = `+994${phone.slice(1)}`;
  if (/^994[0-9]{9}$/.test(phone)) phone = `+${phone}`;
  if (!/^\+[1-9][0-9]{7,14}$/.test(phone)) throw invalid('invalidPhone', 'phone must be an international number like +994501234567');
  return phone;
}

function text(value: string | undefined, field: string, max: number): string | null {
  const v = value?.trim().replace(/\s+/g, ' ');
  if (!v) return null;
  if ([...v].length > max) throw invalid('invalidApplicant', `${field} is longer than ${max} characters`);
  return v;
}

function requiredText(value: string | undefined, field: string, max: number): string {
  const v = text(value, field, max);
  if (!v) throw invalid('missingApplicantField', `${field} is required for this kind of applicant`);
  return v;
}

/** Checks and normalises an applicant (profiles.md "Subjects"): FIN, VÖEN by kind, names, contact. */
export function validateApplicant(input: ApplicantInput, settings: PkiSettings, now: Date): Applicant {
  const kind = input.kind;
  const representative = kind === 'legal-entity' || kind === 'state-agency';
  const applicant: Applicant = {
    kind,
    fin: validateFin(input.fin),
    givenName: requiredText(input.givenName, 'givenName', 64),
    surname: requiredText(input.surname, 'surname', 64),
    birthDate: birthDate(input.birthDate, now),
    email: input.email?.trim() ? validateEmail(input.email) : null,
    phone: input.phone?.trim() ? validatePhone(input.phone) : null,
    voen: null,
    organization: null,
    authorityDocument: null,
  };
  if (kind === 'entrepreneur') {
    applicant.voen = validateVoen(requiredText(input.voen, 'voen', 10), settings, 'natural');
  } else if (representative) {
    applicant.voen = validateVoen(requiredText(input.voen, 'voen', 10), settings, 'legal');
    applicant.organization = requiredText(input.organization, 'organization', 64);
    applicant.authorityDocument = requiredText(input.authorityDocument, 'authorityDocument', 100);
  } else if (input.voen?.trim() || input.organization?.trim()) {
    throw invalid('invalidApplicant', 'a citizen applies without voen or organization; use kind entrepreneur, legal-entity or state-agency');
  }
  return applicant;
}

export function categoryOf(applicant: Pick<Applicant, 'kind'>): HolderCategory {
  return applicant.kind;
}

/** Who the certificates name: a representative's carry O and organizationIdentifier; an entrepreneur's are a natural person's. */
export function holderOf(applicant: Applicant): Holder {
  return {
    fin: applicant.fin,
    givenName: applicant.givenName,
    surname: applicant.surname,
    ...(applicant.email ? { email: applicant.email } : {}),
    ...(applicant.phone ? { phone: applicant.phone } : {}),
    ...(applicant.organization && applicant.voen ? { organization: applicant.organization, voen: applicant.voen } : {}),
  };
}

const DOCUMENT_NUMBER = /^[A-Z0-9]{5,20}$/;

export function validateIdDocument(doc: { type: IdDocumentType; number: string }): IdDocument {
  const number = doc.number.replace(/[\s-]/g, '').toUpperCase();
  if (!DOCUMENT_NUMBER.test(number)) throw invalid('invalidIdDocument', 'idDocument.number must be 5 to 20 letters and digits');
  return { type: doc.type, number };
}
