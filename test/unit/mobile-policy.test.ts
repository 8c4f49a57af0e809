import { describe, expect, it } from '@jest/globals';
import { errorCode } from '../helpers/outcome.js';
import { luhnValid, validateIccid, validateMsisdn } from '../../src/policy/mobile.js';
import { emailText, smsText } from '../../src/notify/activation-code.js';

const code = errorCode;

describe('mobile-ID numbers', () => {
  it('Luhn: the ISO/IEC 7812-1 examples and published ICCIDs', () => {
    // 79927398713 is the textbook Luhn example; the ICCIDs are printed on real SIMs.
    expect(luhnValid('79927398713')).toBe(true);
    for (let d = 0; d < 10; d++) if (d !== 3) expect(luhnValid(`7992739871${d}`)).toBe(false);
    expect(luhnValid('89014103211118510720')).toBe(true);
    expect(luhnValid('8944500102198304826')).toBe(true);
  });

  it('ICCID: 19 or 20 digits, 89 first, check digit last; spaces and dashes dropped', () => {
    expect(validateIccid('8944 5001 0219 8304 826')).toBe('8944500102198304826');
    expect(validateIccid('8901-4103-2111-1851-0720')).toBe('89014103211118510720');
    for (const bad of ['8944500102198304827', '894450010219830482', '9944500102198304826', '894450010219830482612', '8944500102198304A26', '']) {
      expect(code(() => validateIccid(bad))).toBe('invalidIccid');
    }
  });

  it('MSISDN: Azerbaijani E.164, local forms normalised', () => {
    expect(validateMsisdn('+994 50 123 45 67')).toBe('+994501234567');
    expect(validateMsisdn('0501234567')).toBe('+994501234567');
    expect(validateMsisdn('994501234567')).toBe('+994501234567');
    for (const bad of ['+15551234567', '+9945012345', '+9945012345678', 'x', '']) expect(code(() => validateMsisdn(bad))).toBe('invalidMsisdn');
  });
});

describe('activation code messages', () => {
  it('carry the code and its expiry (Baku time), and nothing that breaks a header', () => {
    const expiresAt = new Date('2026-12-01T10:15:00Z');
    const text = smsText({ code: '04718265', expiresAt });
    expect(text.startsWith('04718265 ')).toBe(true);
    expect(text).toContain('14:15');
    const mail = emailText({ code: '04718265', expiresAt, msisdn: '+994501234567', holderName: 'Leyla\r\nBcc: x@y.az Əliyeva' });
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.body).toContain('04718265');
    expect(mail.body).toContain('01.12.2026 14:15');
    expect(mail.body).toContain('Dear Leyla Bcc: x@y.az Əliyeva,');
  });
});
