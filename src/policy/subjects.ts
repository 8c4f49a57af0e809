import type { NameAttribute } from '../domain/certificateSpec.js';
import type { Holder } from '../domain/holder.js';
import { CaError } from '../errors.js';
import { validateDnsName, validateFin, validateMemberClass, validateVoen } from './identifiers.js';
import type { PkiSettings } from './settings.js';

/**
 * Subject DNs per profiles.md "Subjects" and ETSI EN 319 412-2 §4.2.4 / EN 319 412-3 §4.2.1
 * (natural and legal persons), with the ETSI semantics identifiers of EN 319 412-1 §5.1.3
 * (PNOAZ-<FIN>) and §5.1.4 (NTRAZ-<VÖEN>).
 */

export type SubjectKind = 'naturalPerson' | 'member' | 'server' | 'ocspResponder' | 'certificationAuthority';

export interface SubjectOptions {
  /** Whether organization + voen turn a natural-person subject into a representative's. */
  acceptsRepresentative: boolean;
  /** CN of CA and OCSP responder certificates (the hierarchy names them, not a holder). */
  commonName?: string;
}

/** RFC 5280 Appendix A.1 upper bound for CN and O. */
const MAX_NAME = 64;

function missing(field: string): CaError {
  return new CaError('malformed', `holder field ${field} is required for this profile`, { code: 'missingHolderField' });
}

function invalidField(field: string, detail: string): CaError {
  return new CaError('malformed', `holder field ${field} ${detail}`, { code: 'invalidHolderField' });
}

/** The trimmed value with runs of spaces collapsed; absent or blank is `missingHolderField`. */
function required(holder: Holder, field: keyof Holder): string {
  const value = holder[field]?.trim().replace(/\s+/g, ' ');
  if (!value) throw missing(field);
  return value;
}

function present(holder: Holder, field: keyof Holder): boolean {
  return Boolean(holder[field]?.trim());
}

/** Letters of any script, with single spaces, hyphens, apostrophes or dots between them. */
const PERSON_NAME = /^[\p{L}\p{M}]+(?:[ '’.-]+[\p{L}\p{M}]+)*\.?$/u;

function personName(holder: Holder, field: 'givenName' | 'surname'): string {
  const value = required(holder, field);
  if (!PERSON_NAME.test(value)) throw invalidField(field, 'must be letters, spaces, hyphens or apostrophes');
  if ([...value].length > MAX_NAME) throw invalidField(field, `is longer than ${MAX_NAME} characters`);
  return value;
}

function organizationName(holder: Holder, field: 'organization' | 'memberName'): string {
  const value = required(holder, field);
  if ([...value].length > MAX_NAME) throw invalidField(field, `is longer than ${MAX_NAME} characters`);
  return value;
}

/** CN = "GIVENNAME SURNAME" in Azerbaijani upper case (i → İ, ı → I). */
export function personCommonName(givenName: string, surname: string): string {
  const commonName = `${givenName} ${surname}`.toLocaleUpperCase('az');
  if ([...commonName].length > MAX_NAME) throw invalidField('givenName', `and surname are longer than ${MAX_NAME} characters together`);
  return commonName;
}

/** A representative names the organisation: both organization and voen, or neither. */
function representative(holder: Holder, settings: PkiSettings, accepted: boolean): NameAttribute[] {
  if (!present(holder, 'organization') && !present(holder, 'voen')) return [];
  if (!accepted) {
    throw new CaError('policyForbids', 'this profile is not issued to representatives of an organisation', { code: 'representativeNotAllowed' });
  }
  const organization = organizationName(holder, 'organization');
  const voen = validateVoen(required(holder, 'voen'), settings);
  return [
    { type: 'O', value: organization },
    { type: 'organizationIdentifier', value: `NTRAZ-${voen}` },
  ];
}

/** C, [O, organizationIdentifier], givenName, surname, CN, serialNumber = PNOAZ-<FIN>. */
export function naturalPersonSubject(holder: Holder, settings: PkiSettings, acceptsRepresentative: boolean): NameAttribute[] {
  const givenName = personName(holder, 'givenName');
  const surname = personName(holder, 'surname');
  const fin = validateFin(required(holder, 'fin'));
  return [
    { type: 'C', value: settings.country },
    ...representative(holder, settings, acceptsRepresentative),
    { type: 'givenName', value: givenName },
    { type: 'surname', value: surname },
    { type: 'CN', value: personCommonName(givenName, surname) },
    { type: 'serialNumber', value: `PNOAZ-${fin}` },
  ];
}

/** X-Road member: C, O = member name, businessCategory = member class, serialNumber = member code (its VÖEN), CN. */
function memberSubject(holder: Holder, settings: PkiSettings, commonName: (memberName: string) => string): NameAttribute[] {
  const memberName = organizationName(holder, 'memberName');
  const memberClass = validateMemberClass(required(holder, 'memberClass'), settings);
  const memberCode = validateVoen(required(holder, 'memberCode'), settings);
  return [
    { type: 'C', value: settings.country },
    { type: 'O', value: memberName },
    { type: 'businessCategory', value: memberClass },
    { type: 'serialNumber', value: memberCode },
    { type: 'CN', value: commonName(memberName) },
  ];
}

function hierarchySubject(settings: PkiSettings, commonName: string | undefined): NameAttribute[] {
  const cn = commonName?.trim();
  if (!cn) {
    throw new CaError('malformed', 'commonName (the CA or OCSP responder name) is required for this profile', { code: 'missingHolderField' });
  }
  if ([...cn].length > MAX_NAME) throw invalidField('commonName', `is longer than ${MAX_NAME} characters`);
  return [
    { type: 'C', value: settings.country },
    { type: 'O', value: settings.caOrganization },
    { type: 'CN', value: cn },
  ];
}

export function buildSubject(kind: SubjectKind, holder: Holder, settings: PkiSettings, options: SubjectOptions): NameAttribute[] {
  switch (kind) {
    case 'naturalPerson':
      return naturalPersonSubject(holder, settings, options.acceptsRepresentative);
    case 'member':
      return memberSubject(holder, settings, (memberName) => memberName);
    case 'server': {
      const dnsName = validateDnsName(required(holder, 'dnsName'));
      return memberSubject(holder, settings, () => dnsName);
    }
    case 'ocspResponder':
    case 'certificationAuthority':
      return hierarchySubject(settings, options.commonName);
  }
}
