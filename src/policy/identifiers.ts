import { CaError } from '../errors.js';
import { DEFAULT_PKI_SETTINGS, type PkiSettings, type VoenCheckSettings } from './settings.js';

/** National identifiers (profiles.md, "Subjects"). Each validator returns the normalised form. */

/** FIN: 7 characters of [0-9A-Z] without I and O (they read as 1 and 0). */
const FIN = /^[0-9A-HJ-NP-Z]{7}$/;

export function validateFin(fin: string): string {
  const normalised = fin.trim().toUpperCase();
  if (!FIN.test(normalised)) {
    throw new CaError('malformed', 'FIN must be 7 characters of 0-9 and A-Z without I and O', { code: 'invalidFin' });
  }
  return normalised;
}

export type VoenType = 'legal' | 'natural';

/** The 10th digit of a VÖEN: 1 = legal person, 2 = natural person (entrepreneur). */
const TYPE_DIGITS: Record<string, VoenType> = { '1': 'legal', '2': 'natural' };

function invalidVoen(detail: string): CaError {
  return new CaError('malformed', detail, { code: 'invalidVoen' });
}

/**
 * The 9th digit: (11 − (Σ wᵢ·dᵢ mod 11)) mod 11 mod 10 over the first 8 digits. The tax
 * authority's real weights are not public; the defaults only match public samples (README.md).
 */
export function voenCheckDigit(prefix8: string, check: VoenCheckSettings): number {
  const sum = [...prefix8].reduce((acc, digit, i) => acc + Number(digit) * (check.weights[i] ?? 0), 0);
  return ((check.modulus - (sum % check.modulus)) % check.modulus) % 10;
}

/** VÖEN: 10 digits, check digit 9th, type digit 10th. `expected` pins the type. */
export function validateVoen(voen: string, settings: PkiSettings, expected?: VoenType): string {
  const normalised = voen.trim();
  if (!/^[0-9]{10}$/.test(normalised)) throw invalidVoen('VÖEN must be 10 digits');
  const type = TYPE_DIGITS[normalised[9]!];
  if (!type) throw invalidVoen('VÖEN must end in 1 (legal person) or 2 (natural person)');
  if (expected && type !== expected) throw invalidVoen(`VÖEN is of a ${type} person, a ${expected} person's is needed`);
  if (settings.voenCheck && voenCheckDigit(normalised.slice(0, 8), settings.voenCheck) !== Number(normalised[8])) {
    throw invalidVoen('VÖEN check digit is wrong');
  }
  return normalised;
}

/** A VÖEN that validateVoen accepts, for tests and demo data: the prefix, its check digit, the type digit. */
export const validVoenFor = (prefix8: string, type: VoenType, settings: PkiSettings = DEFAULT_PKI_SETTINGS): string =>
  `${prefix8}${settings.voenCheck ? voenCheckDigit(prefix8, settings.voenCheck) : 0}${type === 'legal' ? 1 : 2}`;

/** X-Road member class (businessCategory), from the configured list; exact, case-sensitive as in X-Road. */
export function validateMemberClass(memberClass: string, settings: PkiSettings): string {
  const normalised = memberClass.trim();
  if (!settings.memberClasses.includes(normalised)) {
    throw new CaError('malformed', `member class must be one of ${settings.memberClasses.join(', ')}`, { code: 'invalidMemberClass' });
  }
  return normalised;
}

/** RFC 1035 §2.3.1 / RFC 5280 §4.2.1.6 preferred name syntax: LDH labels, at least two, no wildcard, no IP address. */
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function validateDnsName(dnsName: string): string {
  const normalised = dnsName.trim().toLowerCase();
  const labels = normalised.split('.');
  const valid =
    normalised.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => DNS_LABEL.test(label)) &&
    !/^[0-9]+$/.test(labels[labels.length - 1]!);
  if (!valid) {
    throw new CaError('malformed', 'DNS name must be a fully qualified host name of letters, digits and hyphens (no wildcard, no IP)', {
      code: 'invalidDnsName',
    });
  }
  return normalised;
}
