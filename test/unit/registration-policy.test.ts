import { describe, expect, it } from '@jest/globals';
import { errorCode } from '../helpers/outcome.js';
import { APPLICATION_STATES, APPLICATION_TRANSITIONS, nextApplicationState, type ApplicationAction } from '../../src/domain/application.js';
import { categoryOf, holderOf, validateApplicant, validateEmail, validatePhone } from '../../src/policy/applicants.js';
import { carrierFor, profileFor, requiredTypes } from '../../src/policy/products.js';
import { ROLE_DEFINITIONS, rolesWith } from '../../src/policy/roles.js';
import { DEFAULT_PKI_SETTINGS, mergePkiSettings } from '../../src/policy/settings.js';
import { formatAmount, lookupTariff, parseAmount } from '../../src/policy/tariffs.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const code = errorCode;

describe('tariffs', () => {
  it('parses and formats decimal amounts exactly, never through floats', () => {
    expect(parseAmount('18.00')).toBe(1800n);
    expect(parseAmount('0.10')).toBe(10n);
    for (const bad of ['18', '18.0', '18.000', '-1.00', '01.00', '1e3', '18,00', ' 18.00']) expect(parseAmount(bad)).toBeNull();
    expect(formatAmount(1800n)).toBe('18.00');
    expect(formatAmount(5n)).toBe('0.05');
    expect(formatAmount(123456789n)).toBe('1234567.89');
  });

  it('looks up the price by category and validity; the public 3-year list prices are the defaults', () => {
    expect(lookupTariff(DEFAULT_PKI_SETTINGS, 'citizen', 3)).toEqual({ amountMinor: 1800n, currency: 'AZN' });
    expect(lookupTariff(DEFAULT_PKI_SETTINGS, 'entrepreneur', 3).amountMinor).toBe(3600n);
    expect(lookupTariff(DEFAULT_PKI_SETTINGS, 'legal-entity', 3).amountMinor).toBe(7200n);
    expect(lookupTariff(DEFAULT_PKI_SETTINGS, 'state-agency', 3).amountMinor).toBe(5800n);
    expect(code(() => lookupTariff(DEFAULT_PKI_SETTINGS, 'citizen', 4))).toBe('noTariff');
    const custom = mergePkiSettings(DEFAULT_PKI_SETTINGS, { tariffs: { prices: { citizen: { '1': '9.99' } } } });
    expect(lookupTariff(custom, 'citizen', 1).amountMinor).toBe(999n);
    // The price table is replaced whole: what is not configured is not sold.
    expect(code(() => lookupTariff(custom, 'citizen', 3))).toBe('noTariff');
  });
});

describe('application states', () => {
  it('allows exactly the transitions of the table; everything else is refused', () => {
    const allowed = new Set<string>();
    for (const [action, t] of Object.entries(APPLICATION_TRANSITIONS)) for (const from of t.from) allowed.add(`${from} ${action}`);
    for (const from of APPLICATION_STATES) {
      for (const action of Object.keys(APPLICATION_TRANSITIONS) as ApplicationAction[]) {
        const to = nextApplicationState(from, action);
        expect({ from, action, allowed: to !== null }).toEqual({ from, action, allowed: allowed.has(`${from} ${action}`) });
      }
    }
    expect(nextApplicationState('submitted', 'pay')).toBe('paid');
    expect(nextApplicationState('issued', 'cancel')).toBeNull();
    for (const end of ['handed-over', 'rejected', 'cancelled'] as const) {
      expect((Object.keys(APPLICATION_TRANSITIONS) as ApplicationAction[]).map((a) => nextApplicationState(end, a)).every((s) => s === null)).toBe(true);
    }
  });
});

describe('applicants', () => {
  const citizen = { kind: 'citizen' as const, fin: '5zx2k7q', givenName: ' Leyla ', surname: 'Əliyeva', birthDate: '1990-05-17', email: 'leyla@example.az', phone: '050 123 45 67' };

  it('normalises FIN and phone, and maps kinds to categories and certificate holders', () => {
    const a = validateApplicant(citizen, DEFAULT_PKI_SETTINGS, NOW);
    expect(a).toMatchObject({ fin: '5ZX2K7Q', givenName: 'Leyla', phone: '+994501234567', voen: null });
    expect(categoryOf(a)).toBe('citizen');
    expect(holderOf(a)).toEqual({ fin: '5ZX2K7Q', givenName: 'Leyla', surname: 'Əliyeva', email: 'leyla@example.az', phone: '+994501234567' });
    const rep = validateApplicant({ ...citizen, kind: 'state-agency', voen: '1400057421', organization: 'Vergilər Nazirliyi', authorityDocument: 'Əmr 12' }, DEFAULT_PKI_SETTINGS, NOW);
    expect(holderOf(rep)).toMatchObject({ organization: 'Vergilər Nazirliyi', voen: '1400057421' });
    const entrepreneur = validateApplicant({ ...citizen, kind: 'entrepreneur', voen: '1400057422' }, DEFAULT_PKI_SETTINGS, NOW);
    expect(holderOf(entrepreneur).voen).toBeUndefined();
  });

  it('refuses what a desk must not accept, each with its code', () => {
    const s = DEFAULT_PKI_SETTINGS;
    expect(code(() => validateApplicant({ ...citizen, birthDate: '2015-01-01' }, s, NOW))).toBe('invalidBirthDate');
    expect(code(() => validateApplicant({ ...citizen, birthDate: '17.05.1990' }, s, NOW))).toBe('invalidBirthDate');
    expect(code(() => validateApplicant({ ...citizen, kind: 'entrepreneur', voen: '1400057421' }, s, NOW))).toBe('invalidVoen');
    expect(code(() => validateApplicant({ ...citizen, kind: 'legal-entity', voen: '1400057421', organization: 'X' }, s, NOW))).toBe('missingApplicantField');
    expect(code(() => validateApplicant({ ...citizen, voen: '1400057421' }, s, NOW))).toBe('invalidApplicant');
    expect(code(() => validateEmail('two@a.az, three@b.az'))).toBe('invalidEmail');
    expect(code(() => validatePhone('12345'))).toBe('invalidPhone');
  });
});

describe('products and roles', () => {
  it('a card is three certificates, mobile-ID two, each on its own carriers', () => {
    expect(requiredTypes('card')).toEqual(['signature', 'authentication', 'encryption']);
    expect(profileFor('mobile-id', 'signature')).toBe('mobile-sign');
    expect(code(() => profileFor('mobile-id', 'encryption'))).toBe('typeNotInProduct');
    expect(carrierFor('card', undefined)).toBe('card');
    expect(code(() => carrierFor('mobile-id', 'card'))).toBe('invalidCarrier');
  });

  it('only supervisors and CA operators approve, restore and revoke; auditors change nothing', () => {
    expect(rolesWith('application.approve')).toEqual(['supervisor', 'ca-operator']);
    expect(rolesWith('certificate.restore')).toEqual(['supervisor', 'ca-operator']);
    expect(ROLE_DEFINITIONS.auditor.permissions.every((p) => p.endsWith('.read'))).toBe(true);
    expect(ROLE_DEFINITIONS.clerk.scope).toBe('office');
    expect(ROLE_DEFINITIONS['personalisation-centre'].kind).toBe('machine');
  });
});
