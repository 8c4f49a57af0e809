import { CaError } from '../errors.js';
import { validatePhone } from './applicants.js';

/**
 * Mobile-ID (profiles.md "Types": one authentication and one signature certificate per SIM, bound
 * to the phone number in the RA records): the SIM's numbers and the one-time activation code.
 */

/** The activation code: 8 decimal digits (10^8 values against at most 5 tries), valid 15 minutes. */
export const ACTIVATION_CODE_DIGITS = 8;
export const ACTIVATION_CODE_TTL_MS = 15 * 60_000;
/** Wrong codes an enrolment survives; the next wrong one locks it and the holder starts again at a desk. */
export const ACTIVATION_CODE_MAX_FAILURES = 5;

const ACTIVATION_CODE = new RegExp(`^[0-9]{${ACTIVATION_CODE_DIGITS}}$`);

export function isActivationCodeShape(code: string): boolean {
  return ACTIVATION_CODE.test(code);
}

/**
 * The MSISDN of an Azerbaijani SIM in E.164 (ITU-T E.164 §6): +994 and 9 digits. Local forms
 * (0501234567, 994501234567) are normalised as for an applicant's phone.
 */
export function validateMsisdn(value: string): string {
  let msisdn: string | null;
  try {
    msisdn = validatePhone(value);
  } catch {
    msisdn = null;
  }
  if (!msisdn || !/^\+994[0-9]{9}$/.test(msisdn)) {
    throw new CaError('malformed', 'msisdn must be an Azerbaijani mobile number in E.164 form, like +994501234567', { code: 'invalidMsisdn' });
  }
  return msisdn;
}

/**
 * The ICCID printed on the SIM (ITU-T E.118 §4.2): the telecom industry identifier 89, country
 * code, issuer and account digits, then a Luhn check digit (ISO/IEC 7812-1 Annex B); 19 or 20
 * digits in use. Spaces and dashes as printed on the card are dropped.
 */
export function validateIccid(value: string): string {
  const iccid = value.replace(/[\s-]/g, '');
  if (!/^89[0-9]{17,18}$/.test(iccid)) {
    throw new CaError('malformed', 'iccid must be the 19 or 20 digits printed on the SIM, starting with 89', { code: 'invalidIccid' });
  }
  if (!luhnValid(iccid)) throw new CaError('malformed', 'the iccid check digit is wrong: check the number on the SIM', { code: 'invalidIccid' });
  return iccid;
}

/** Luhn (ISO/IEC 7812-1 Annex B): from the right, every second digit doubled (minus 9 above 9); the sum ends in 0. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
