import { describe, expect, it } from '@jest/globals';
import type { Holder } from '../../src/domain/holder.js';
import type { PublicKeyDescription } from '../../src/domain/public-key.js';
import { CaError } from '../../src/errors.js';
import { validateDnsName, validateFin, validateMemberClass, validateVoen, validVoenFor } from '../../src/policy/identifiers.js';
import { checkKeyPolicy } from '../../src/policy/key-policy.js';
import {
  buildCertificateSpec,
  END_ENTITY_PROFILES,
  getProfile,
  PROFILE_IDS,
  validityDaysFor,
  type ProfileId,
  type SpecRequest,
} from '../../src/policy/profiles.js';
import { DEFAULT_PKI_SETTINGS, mergePkiSettings } from '../../src/policy/settings.js';
import { personCommonName } from '../../src/policy/subjects.js';

const settings = DEFAULT_PKI_SETTINGS;

/** Runs `action` and returns the CaError it throws (failing the test if it does not). */
function caErrorOf(action: () => unknown): CaError {
  try {
    action();
  } catch (e) {
    if (e instanceof CaError) return e;
    throw e;
  }
  throw new Error('expected a CaError, nothing was thrown');
}

function expectCaError(action: () => unknown, kind: string, code: string): CaError {
  const error = caErrorOf(action);
  expect({ kind: error.kind, code: error.code }).toEqual({ kind, code });
  return error;
}

const CITIZEN: Holder = { fin: '5ZX2K7Q', givenName: 'Leyla', surname: 'Əliyeva', email: 'leyla@example.az' };
const REPRESENTATIVE: Holder = { ...CITIZEN, organization: 'Vergilər Nazirliyi', voen: '1400057421' };
const MEMBER: Holder = { memberName: 'Dövlət Vergi Xidməti', memberClass: 'GOV', memberCode: '1401555071', dnsName: 'SS1.vergi.gov.az' };

const ISSUING_CA: Record<ProfileId, string> = {
  signature: 'eimza',
  authentication: 'eimza',
  encryption: 'eimza',
  'mobile-auth': 'mobile',
  'mobile-sign': 'mobile',
  'server-signing': 'portal',
  'server-tls': 'portal',
  'ocsp-signer': 'eimza',
  'cmp-signer': 'portal',
  'issuing-ca': 'root',
  'root-ca': 'root',
};

function spec(profile: ProfileId, over: Partial<SpecRequest> = {}) {
  return buildCertificateSpec(profile, {
    holder: profile.startsWith('server') ? MEMBER : CITIZEN,
    settings,
    caName: ISSUING_CA[profile],
    subjectKey: 'ec',
    keyOnSecureDevice: true,
    ...(['ocsp-signer', 'cmp-signer', 'issuing-ca', 'root-ca'].includes(profile) ? { commonName: 'e-imza CA' } : {}),
    ...over,
  });
}

describe('validateFin', () => {
  it('accepts 7 characters of 0-9 and A-Z and normalises case and spaces', () => {
    expect(validateFin('5ZX2K7Q')).toBe('5ZX2K7Q');
    expect(validateFin(' 5zx2k7q ')).toBe('5ZX2K7Q');
    expect(validateFin('0000000')).toBe('0000000');
  });

  it.each(['5ZX2K7', '5ZX2K7QA', '5ZXIK7Q', '5ZXOK7Q', '5zxik7q', '5ZX-K7Q', 'ƏZX2K7Q', ''])('rejects %j', (fin) => {
    expectCaError(() => validateFin(fin), 'malformed', 'invalidFin');
  });
});

describe('validateVoen', () => {
  it('accepts the VÖENs of public samples', () => {
    expect(validateVoen('1400057421', settings)).toBe('1400057421');
    expect(validateVoen('1401555071', settings, 'legal')).toBe('1401555071');
  });

  it('makes valid numbers of both types with validVoenFor', () => {
    const natural = validVoenFor('12345678', 'natural');
    expect(natural).toMatch(/^12345678[0-9]2$/);
    expect(validateVoen(natural, settings, 'natural')).toBe(natural);
    expect(validateVoen(validVoenFor('98765432', 'legal'), settings, 'legal')).toMatch(/1$/);
  });

  it('rejects a wrong check digit', () => {
    const error = expectCaError(() => validateVoen('1400057431', settings), 'malformed', 'invalidVoen');
    expect(error.detail).toMatch(/check digit/);
  });

  it('rejects a type digit other than 1 or 2, and the wrong type', () => {
    expect(expectCaError(() => validateVoen('1400057423', settings), 'malformed', 'invalidVoen').detail).toMatch(/end in 1/);
    expect(expectCaError(() => validateVoen('1400057421', settings, 'natural'), 'malformed', 'invalidVoen').detail).toMatch(/legal/);
  });

  it.each(['140005742', '14000574211', '14000574a1', ''])('rejects %j (not 10 digits)', (voen) => {
    expectCaError(() => validateVoen(voen, settings), 'malformed', 'invalidVoen');
  });

  it('skips the check digit when the settings say so', () => {
    const lenient = mergePkiSettings(settings, { voenCheck: null });
    expect(validateVoen('1400057431', lenient)).toBe('1400057431');
    expect(validVoenFor('14000574', 'legal', lenient)).toBe('1400057401');
  });
});

describe('member class and DNS name', () => {
  it('accepts configured member classes only', () => {
    expect(validateMemberClass('GOV', settings)).toBe('GOV');
    expectCaError(() => validateMemberClass('gov', settings), 'malformed', 'invalidMemberClass');
    expectCaError(() => validateMemberClass('EDU', settings), 'malformed', 'invalidMemberClass');
    expect(validateMemberClass('EDU', mergePkiSettings(settings, { memberClasses: ['GOV', 'EDU'] }))).toBe('EDU');
  });

  it('accepts host names, lower-cased; rejects wildcards, IPs, single labels and bad labels', () => {
    expect(validateDnsName('SS1.Vergi.gov.az')).toBe('ss1.vergi.gov.az');
    for (const bad of ['*.gov.az', '10.0.0.1', 'localhost', '-a.gov.az', 'a_b.gov.az', 'a..az', `${'a'.repeat(64)}.az`, 'ş.gov.az']) {
      expectCaError(() => validateDnsName(bad), 'malformed', 'invalidDnsName');
    }
  });
});

describe('checkKeyPolicy', () => {
  const rsa = (bits: number, publicExponent = 65537n): PublicKeyDescription => ({ kind: 'rsa', bits, publicExponent });

  it('accepts RSA 2048–4096 with e = 65537 and EC P-256/P-384', () => {
    for (const key of [rsa(2048), rsa(3072), rsa(4096)]) expect(() => checkKeyPolicy(key)).not.toThrow();
    expect(() => checkKeyPolicy({ kind: 'ec', curveOid: '1.2.840.10045.3.1.7', curve: 'P-256' })).not.toThrow();
    expect(() => checkKeyPolicy({ kind: 'ec', curveOid: '1.3.132.0.34', curve: 'P-384' })).not.toThrow();
  });

  it.each([
    [rsa(1024), 'weakRsaKey'],
    [rsa(2047), 'weakRsaKey'],
    [rsa(8192), 'rsaKeySize'],
    [rsa(2050), 'rsaKeySize'],
    [rsa(2048, 3n), 'rsaExponent'],
    [rsa(2048, 65539n), 'rsaExponent'],
    [{ kind: 'ec', curveOid: '1.3.132.0.10' }, 'unsupportedCurve'],
    [{ kind: 'ec', curveOid: '1.3.132.0.35' }, 'unsupportedCurve'],
    [{ kind: 'ec', curveOid: '' }, 'unsupportedCurve'],
    [{ kind: 'other', algorithmOid: '1.3.101.112' }, 'unsupportedKeyType'],
  ] as [PublicKeyDescription, string][])('rejects %j as %s', (key, code) => {
    expectCaError(() => checkKeyPolicy(key), 'badPublicKey', code);
  });

  it('follows a configured key policy', () => {
    const p384Only = mergePkiSettings(settings, { keyPolicy: { ecCurves: ['P-384'], rsaMinBits: 3072 } }).keyPolicy;
    expectCaError(() => checkKeyPolicy({ kind: 'ec', curveOid: '1.2.840.10045.3.1.7', curve: 'P-256' }, p384Only), 'badPublicKey', 'unsupportedCurve');
    expectCaError(() => checkKeyPolicy(rsa(2048), p384Only), 'badPublicKey', 'weakRsaKey');
  });
});

describe('subjects', () => {
  it('upper-cases the CN the Azerbaijani way (i → İ, ı → I)', () => {
    expect(personCommonName('Leyla', 'Əliyeva')).toBe('LEYLA ƏLİYEVA');
    expect(personCommonName('Şəhriyar', 'Işıqlı')).toBe('ŞƏHRİYAR IŞIQLI');
    expect(personCommonName('Gülçin', 'Öztürk')).toBe('GÜLÇİN ÖZTÜRK');
  });

  it.each(['signature', 'authentication', 'encryption', 'mobile-auth', 'mobile-sign'] as const)('%s: a natural person', (profile) => {
    expect(spec(profile).subject).toEqual([
      { type: 'C', value: 'AZ' },
      { type: 'givenName', value: 'Leyla' },
      { type: 'surname', value: 'Əliyeva' },
      { type: 'CN', value: 'LEYLA ƏLİYEVA' },
      { type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q' },
    ]);
  });

  it.each(['signature', 'authentication', 'encryption', 'mobile-auth', 'mobile-sign'] as const)('%s: a representative adds O and NTRAZ-<VÖEN>', (profile) => {
    expect(spec(profile, { holder: REPRESENTATIVE }).subject).toEqual([
      { type: 'C', value: 'AZ' },
      { type: 'O', value: 'Vergilər Nazirliyi' },
      { type: 'organizationIdentifier', value: 'NTRAZ-1400057421' },
      { type: 'givenName', value: 'Leyla' },
      { type: 'surname', value: 'Əliyeva' },
      { type: 'CN', value: 'LEYLA ƏLİYEVA' },
      { type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q' },
    ]);
  });

  it('normalises holder input: FIN case, surrounding and repeated spaces', () => {
    const subject = spec('signature', { holder: { fin: '5zx2k7q', givenName: '  Leyla ', surname: 'Əliyeva   Quliyeva' } }).subject;
    expect(subject).toContainEqual({ type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q' });
    expect(subject).toContainEqual({ type: 'CN', value: 'LEYLA ƏLİYEVA QULİYEVA' });
  });

  it('server-signing: the X-Road member, CN = O = member name', () => {
    expect(spec('server-signing').subject).toEqual([
      { type: 'C', value: 'AZ' },
      { type: 'O', value: 'Dövlət Vergi Xidməti' },
      { type: 'businessCategory', value: 'GOV' },
      { type: 'serialNumber', value: '1401555071' },
      { type: 'CN', value: 'Dövlət Vergi Xidməti' },
    ]);
  });

  it('server-tls: the member with CN = the DNS name', () => {
    expect(spec('server-tls').subject).toEqual([
      { type: 'C', value: 'AZ' },
      { type: 'O', value: 'Dövlət Vergi Xidməti' },
      { type: 'businessCategory', value: 'GOV' },
      { type: 'serialNumber', value: '1401555071' },
      { type: 'CN', value: 'ss1.vergi.gov.az' },
    ]);
  });

  it('CA and OCSP responder subjects come from settings and the given common name', () => {
    for (const profile of ['ocsp-signer', 'cmp-signer', 'issuing-ca', 'root-ca'] as const) {
      expect(spec(profile, { holder: {}, commonName: 'e-imza CA' }).subject).toEqual([
        { type: 'C', value: 'AZ' },
        { type: 'O', value: 'e-imza' },
        { type: 'CN', value: 'e-imza CA' },
      ]);
    }
  });

  it.each([
    ['signature', 'surname', { ...CITIZEN, surname: undefined }],
    ['signature', 'givenName', { ...CITIZEN, givenName: '  ' }],
    ['authentication', 'fin', { ...CITIZEN, fin: undefined }],
    ['encryption', 'voen', { ...CITIZEN, organization: 'Nazirlik' }],
    ['signature', 'organization', { ...CITIZEN, voen: '1400057421' }],
    ['server-signing', 'memberClass', { ...MEMBER, memberClass: undefined }],
    ['server-signing', 'memberCode', { ...MEMBER, memberCode: undefined }],
    ['server-tls', 'dnsName', { ...MEMBER, dnsName: undefined }],
    ['server-tls', 'memberName', { ...MEMBER, memberName: undefined }],
  ] as [ProfileId, string, Holder][])('%s without %s → missingHolderField naming it', (profile, field, holder) => {
    const error = expectCaError(() => spec(profile, { holder }), 'malformed', 'missingHolderField');
    expect(error.detail).toContain(field);
  });

  it('CA profiles need a common name', () => {
    expect(expectCaError(() => spec('issuing-ca', { holder: {}, commonName: undefined }), 'malformed', 'missingHolderField').detail).toContain('commonName');
  });

  it('rejects bad identifiers and names inside a holder', () => {
    expectCaError(() => spec('signature', { holder: { ...CITIZEN, fin: '12I45O7' } }), 'malformed', 'invalidFin');
    expectCaError(() => spec('authentication', { holder: { ...REPRESENTATIVE, voen: '1400057431' } }), 'malformed', 'invalidVoen');
    expectCaError(() => spec('server-tls', { holder: { ...MEMBER, memberClass: 'XYZ' } }), 'malformed', 'invalidMemberClass');
    expectCaError(() => spec('server-tls', { holder: { ...MEMBER, dnsName: '*.vergi.gov.az' } }), 'malformed', 'invalidDnsName');
    expectCaError(() => spec('signature', { holder: { ...CITIZEN, givenName: 'Leyla<script>' } }), 'malformed', 'invalidHolderField');
    expectCaError(() => spec('signature', { holder: { ...CITIZEN, givenName: 'L'.repeat(40), surname: 'Ə'.repeat(40) } }), 'malformed', 'invalidHolderField');
  });
});

describe('profiles', () => {
  it('lists the seven end-entity profiles and getProfile knows every id', () => {
    expect(END_ENTITY_PROFILES).toEqual(['signature', 'authentication', 'encryption', 'mobile-auth', 'mobile-sign', 'server-signing', 'server-tls']);
    for (const id of PROFILE_IDS) expect(getProfile(id).id).toBe(id);
  });

  it('rejects an unknown profile', () => {
    expect(expectCaError(() => getProfile('qualified-seal'), 'malformed', 'unknownProfile').detail).toContain('qualified-seal');
    expectCaError(() => buildCertificateSpec('nope' as ProfileId, { holder: CITIZEN, settings, caName: 'eimza', subjectKey: 'ec', keyOnSecureDevice: true }), 'malformed', 'unknownProfile');
  });

  it('names the issuing CA of each profile and refuses another', () => {
    expect(Object.fromEntries(PROFILE_IDS.map((id) => [id, getProfile(id).issuingCa]))).toEqual({ ...ISSUING_CA, 'ocsp-signer': 'any' });
    expectCaError(() => spec('signature', { caName: 'portal' }), 'policyForbids', 'wrongIssuingCa');
    expect(spec('ocsp-signer', { caName: 'portal' }).authorityInfoAccess).toEqual({ caIssuers: 'http://localhost:8080/ca/portal.crt' });
  });

  it('allows suspension for person and mobile certificates only', () => {
    expect(Object.fromEntries(PROFILE_IDS.map((id) => [id, getProfile(id).allowsSuspension]))).toEqual({
      signature: true,
      authentication: true,
      encryption: true,
      'mobile-auth': true,
      'mobile-sign': true,
      'server-signing': false,
      'server-tls': false,
      'ocsp-signer': false,
      'cmp-signer': false,
      'issuing-ca': false,
      'root-ca': false,
    });
  });

  it('has default validities per class, and 1/2/3 years for persons only', () => {
    expect(Object.fromEntries(PROFILE_IDS.map((id) => [id, getProfile(id).defaultValidityDays(settings)]))).toEqual({
      signature: 1095,
      authentication: 1095,
      encryption: 1095,
      'mobile-auth': 1095,
      'mobile-sign': 1095,
      'server-signing': 730,
      'server-tls': 730,
      'ocsp-signer': 30,
      'cmp-signer': 730,
      'issuing-ca': 3650,
      'root-ca': 7300,
    });
    expect([1, 2, 3].map((years) => validityDaysFor(getProfile('signature'), settings, years))).toEqual([365, 730, 1095]);
    expect(validityDaysFor(getProfile('server-tls'), settings)).toBe(730);
    expectCaError(() => validityDaysFor(getProfile('signature'), settings, 4), 'policyForbids', 'validityNotAllowed');
    expectCaError(() => validityDaysFor(getProfile('server-tls'), settings, 1), 'policyForbids', 'validityNotAllowed');
  });
});

describe('buildCertificateSpec', () => {
  const eimzaRevocation = {
    authorityInfoAccess: { ocsp: 'http://localhost:8080/ocsp', caIssuers: 'http://localhost:8080/ca/eimza.crt' },
    crlDistributionPoint: 'http://localhost:8080/crl/eimza.crl',
  };

  it('signature: nonRepudiation, scheme + QCP-n-qscd, the ETSI qcStatements', () => {
    const { subject, ...rest } = spec('signature');
    expect(subject).toHaveLength(5);
    expect(rest).toEqual({
      keyUsage: ['nonRepudiation'],
      certificatePolicies: ['2.16.31.1.1.1.1', '0.4.0.194112.1.2'],
      qcStatements: {
        compliance: true,
        sscd: true,
        type: 'esign',
        pdsUrl: 'http://localhost:8080/pds/en.pdf',
        legislationCountry: 'AZ',
        semanticsId: 'natural',
      },
      ...eimzaRevocation,
    });
  });

  it('signature with a software key: no QcSSCD and QCP-n instead of QCP-n-qscd', () => {
    const software = spec('signature', { keyOnSecureDevice: false });
    expect(software.qcStatements?.sscd).toBe(false);
    expect(software.certificatePolicies).toEqual(['2.16.31.1.1.1.1', '0.4.0.194112.1.0']);
  });

  it('authentication: digitalSignature + clientAuth, scheme + NCP+', () => {
    const { subject: _subject, ...rest } = spec('authentication');
    expect(rest).toEqual({
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
      certificatePolicies: ['2.16.31.1.1.1.2', '0.4.0.2042.1.2'],
      ...eimzaRevocation,
    });
  });

  it('encryption: keyEncipherment for RSA, keyAgreement for EC, emailProtection, NCP, e-mail in SAN', () => {
    expect(spec('encryption', { subjectKey: 'rsa' }).keyUsage).toEqual(['keyEncipherment']);
    const { subject: _subject, ...rest } = spec('encryption');
    expect(rest).toEqual({
      keyUsage: ['keyAgreement'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.4'],
      certificatePolicies: ['2.16.31.1.1.1.3', '0.4.0.2042.1.1'],
      subjectAltName: { emails: ['leyla@example.az'] },
      ...eimzaRevocation,
    });
    expect(spec('encryption', { holder: { ...CITIZEN, email: undefined } }).subjectAltName).toBeUndefined();
  });

  it('mobile profiles: the mobile scheme OIDs and the mobile CA URLs', () => {
    const auth = spec('mobile-auth');
    expect(auth.certificatePolicies).toEqual(['2.16.31.1.1.2.2', '0.4.0.2042.1.2']);
    expect(auth.crlDistributionPoint).toBe('http://localhost:8080/crl/mobile.crl');
    const sign = spec('mobile-sign');
    expect(sign.keyUsage).toEqual(['nonRepudiation']);
    expect(sign.certificatePolicies).toEqual(['2.16.31.1.1.2.1', '0.4.0.194112.1.2']);
    expect(sign.qcStatements?.type).toBe('esign');
    expect(sign.subjectAltName).toBeUndefined();
  });

  it('mobile-sign: a document number goes into SAN directoryName as PNOAZ-<FIN>-<n>', () => {
    expect(spec('mobile-sign', { documentNumber: '2' }).subjectAltName).toEqual({
      directoryName: [{ type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q-2' }],
    });
    expectCaError(() => spec('mobile-sign', { documentNumber: '02' }), 'malformed', 'invalidDocumentNumber');
    expectCaError(() => spec('signature', { documentNumber: '2' }), 'malformed', 'invalidDocumentNumber');
  });

  it('server-signing: nonRepudiation, portal scheme + NCP+ (NCP for a software key), no qcStatements', () => {
    const { subject: _subject, ...rest } = spec('server-signing');
    expect(rest).toEqual({
      keyUsage: ['nonRepudiation'],
      certificatePolicies: ['2.16.31.1.1.3.1', '0.4.0.2042.1.2'],
      authorityInfoAccess: { ocsp: 'http://localhost:8080/ocsp', caIssuers: 'http://localhost:8080/ca/portal.crt' },
      crlDistributionPoint: 'http://localhost:8080/crl/portal.crl',
    });
    expect(spec('server-signing', { keyOnSecureDevice: false }).certificatePolicies).toEqual(['2.16.31.1.1.3.1', '0.4.0.2042.1.1']);
  });

  it('server-tls: serverAuth + clientAuth, SAN dNSName, keyEncipherment only for RSA', () => {
    const ec = spec('server-tls');
    expect(ec.keyUsage).toEqual(['digitalSignature']);
    expect(spec('server-tls', { subjectKey: 'rsa' }).keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(ec.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(ec.certificatePolicies).toEqual(['2.16.31.1.1.3.2']);
    expect(ec.subjectAltName).toEqual({ dnsNames: ['ss1.vergi.gov.az'] });
  });

  it('ocsp-signer: digitalSignature, OCSPSigning, ocsp-nocheck, caIssuers only, no policies', () => {
    const { subject: _subject, ...rest } = spec('ocsp-signer');
    expect(rest).toEqual({
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.9'],
      ocspNoCheck: true,
      authorityInfoAccess: { caIssuers: 'http://localhost:8080/ca/eimza.crt' },
    });
  });

  it('issuing-ca: keyCertSign + cRLSign, cA with pathLen 0, the root URLs; root-ca: no pathLen, no URLs', () => {
    const { subject: _issuingSubject, ...issuing } = spec('issuing-ca');
    expect(issuing).toEqual({
      keyUsage: ['keyCertSign', 'cRLSign'],
      basicConstraints: { ca: true, pathLength: 0 },
      authorityInfoAccess: { ocsp: 'http://localhost:8080/ocsp', caIssuers: 'http://localhost:8080/ca/root.crt' },
      crlDistributionPoint: 'http://localhost:8080/crl/root.crl',
    });
    const { subject: _rootSubject, ...root } = spec('root-ca');
    expect(root).toEqual({ keyUsage: ['keyCertSign', 'cRLSign'], basicConstraints: { ca: true } });
  });

  it('every end-entity spec has AIA (OCSP + caIssuers) and a CDP of its issuing CA', () => {
    for (const profile of END_ENTITY_PROFILES) {
      const s = spec(profile);
      const ca = ISSUING_CA[profile];
      expect(s.authorityInfoAccess).toEqual({ ocsp: 'http://localhost:8080/ocsp', caIssuers: `http://localhost:8080/ca/${ca}.crt` });
      expect(s.crlDistributionPoint).toBe(`http://localhost:8080/crl/${ca}.crl`);
      expect(s.basicConstraints).toBeUndefined();
    }
  });
});

describe('settings', () => {
  it('are plain JSON', () => {
    expect(JSON.parse(JSON.stringify(DEFAULT_PKI_SETTINGS))).toEqual(DEFAULT_PKI_SETTINGS);
  });

  it('merge overrides field by field and feed them into specs', () => {
    const merged = mergePkiSettings(DEFAULT_PKI_SETTINGS, {
      publicBaseUrl: 'https://pki.e-imza.az/',
      schemePolicyOids: { signature: '1.2.3.4' },
      qcPdsUrl: 'https://pki.e-imza.az/pds/pds_en.pdf',
    });
    expect(merged.schemePolicyOids.authentication).toBe(DEFAULT_PKI_SETTINGS.schemePolicyOids.authentication);
    const s = spec('signature', { settings: merged });
    expect(s.certificatePolicies?.[0]).toBe('1.2.3.4');
    expect(s.crlDistributionPoint).toBe('https://pki.e-imza.az/crl/eimza.crl');
    expect(s.qcStatements?.pdsUrl).toBe('https://pki.e-imza.az/pds/pds_en.pdf');
    expect(DEFAULT_PKI_SETTINGS.publicBaseUrl).toBe('http://localhost:8080');
  });

  it.each([
    [{ publicBaseUrl: 42 }, 'publicBaseUrl'],
    [{ publicBaseUrl: 'ftp://x' }, 'publicBaseUrl'],
    [{ tariffs: { prices: { citizen: { '3': '18' } } } }, 'tariffs'],
    [{ tariffs: { currency: 'manat' } }, 'tariffs'],
    [{ registrar: {} }, 'registrar'],
    [{ schemePolicyOids: { signature: 'not-an-oid' } }, 'schemePolicyOids.signature'],
    [{ validityDays: { person: 0 } }, 'validityDays.person'],
    [{ voenCheck: { weights: [1, 2], modulus: 11 } }, 'voenCheck.weights'],
    [{ keyPolicy: { ecCurves: ['secp256k1'] } }, 'keyPolicy.ecCurves'],
    [{ keyPolicy: { rsaMinBits: 1024 } }, 'keyPolicy.rsaMinBits'],
  ])('rejects %j', (overrides, path) => {
    expect(expectCaError(() => mergePkiSettings(DEFAULT_PKI_SETTINGS, overrides), 'malformed', 'invalidPkiSettings').detail).toContain(path);
  });
});
