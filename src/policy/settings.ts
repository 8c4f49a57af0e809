import type { NamedCurve } from '../domain/public-key.js';
import { CaError } from '../errors.js';
import { tariffProblems } from './tariffs.js';
import type { HolderCategory } from '../domain/application.js';
import type { EndEntityProfileId } from './profile-ids.js';

/**
 * Everything a national certificate policy would fix, with documented defaults. The policy is not
 * public (profiles.md), so each value is configuration: `config.json` → `pki` overrides any field
 * through mergePkiSettings. Plain JSON only, so it can be stored, diffed and audited.
 */
export interface PkiSettings {
  /** Where certificates, CRLs and OCSP are published; no trailing slash needed. */
  publicBaseUrl: string;
  /** ISO 3166 alpha-2: subject C and QcCClegislation. */
  country: string;
  /** O of the CA and OCSP responder subjects. */
  caOrganization: string;
  /** Our scheme policy OID per end-entity profile (certificatePolicies, RFC 5280 §4.2.1.4). */
  schemePolicyOids: Record<EndEntityProfileId, string>;
  /** Default validity per class of certificate, in days. */
  validityDays: Record<ValidityClass, number>;
  /** The validities in years a holder may buy for a person certificate (national practice: 1, 2 or 3). */
  holderValidityYears: number[];
  /** QcPDS (ETSI EN 319 412-5 §4.3.4) URL of the English PDS; null = `${publicBaseUrl}/pds/en.pdf`. Production: https. */
  qcPdsUrl: string | null;
  /** VÖEN check digit: weighted sum mod 11 over the first 8 digits; null = no check-digit check. See README.md. */
  voenCheck: VoenCheckSettings | null;
  /** X-Road member classes a security-server certificate may name (businessCategory). */
  memberClasses: string[];
  keyPolicy: KeyPolicySettings;
  revocation: RevocationSettings;
  tariffs: TariffSettings;
}

/** What a desk charges (profiles.md "Lifecycle rules"): category -> validity in years -> price ("18.00"). */
export interface TariffSettings {
  currency: string;
  prices: Record<HolderCategory, Record<string, string>>;
}

/** How status is published (architecture.md "Revocation publishing"; profiles.md: within 3 hours). */
export interface RevocationSettings {
  /** A full CRL is published this often, and its nextUpdate is `fullCrlValidityHours` ahead. */
  fullCrlIntervalMinutes: number;
  fullCrlValidityHours: number;
  /** Delta CRLs: published this often and within seconds of any status change. */
  deltaCrlIntervalMinutes: number;
  deltaCrlValidityMinutes: number;
  /** Pre-signed OCSP responses: nextUpdate ahead of thisUpdate, and re-signed once this old (X-Road wants ≥ 20 min ahead, < 1 h old). */
  ocspValidityMinutes: number;
  ocspRefreshAfterMinutes: number;
  /** 0 = one CRL per CA; N > 0 = certificates are spread over N partitioned CRLs (RFC 5280 §5.2.5), fixed at issuance. */
  crlPartitions: number;
}

export type ValidityClass = 'person' | 'server' | 'ocspSigner' | 'issuingCa' | 'rootCa';

export interface VoenCheckSettings {
  weights: number[];
  modulus: 11;
}

export interface KeyPolicySettings {
  rsaMinBits: number;
  rsaMaxBits: number;
  rsaPublicExponents: number[];
  ecCurves: NamedCurve[];
}

/**
 * Placeholder scheme arc 2.16.31.1.1: 2.16 is the joint-iso-itu-t country arc and 31 the ISO 3166
 * numeric code of Azerbaijan. The real arc and the numbers under it are assigned by the national
 * policy authority; replace them in configuration before issuing anything real.
 */
const SCHEME_ARC = '2.16.31.1.1';

export const DEFAULT_PKI_SETTINGS: PkiSettings = {
  publicBaseUrl: 'http://localhost:8080',
  country: 'AZ',
  caOrganization: 'e-imza',
  schemePolicyOids: {
    signature: `${SCHEME_ARC}.1.1`,
    authentication: `${SCHEME_ARC}.1.2`,
    encryption: `${SCHEME_ARC}.1.3`,
    'mobile-sign': `${SCHEME_ARC}.2.1`,
    'mobile-auth': `${SCHEME_ARC}.2.2`,
    'server-signing': `${SCHEME_ARC}.3.1`,
    'server-tls': `${SCHEME_ARC}.3.2`,
  },
  validityDays: { person: 1095, server: 730, ocspSigner: 30, issuingCa: 3650, rootCa: 7300 },
  holderValidityYears: [1, 2, 3],
  qcPdsUrl: null,
  // Accepts the two VÖENs in public samples (1400057421, 1401555071); the tax authority's real
  // algorithm is not published. See src/policy/README.md.
  voenCheck: { weights: [1, 2, 3, 4, 6, 5, 7, 9], modulus: 11 },
  memberClasses: ['GOV', 'COM', 'NGO'],
  keyPolicy: { rsaMinBits: 2048, rsaMaxBits: 4096, rsaPublicExponents: [65537], ecCurves: ['P-256', 'P-384'] },
  revocation: {
    fullCrlIntervalMinutes: 360,
    fullCrlValidityHours: 24,
    deltaCrlIntervalMinutes: 15,
    deltaCrlValidityMinutes: 60,
    ocspValidityMinutes: 60,
    ocspRefreshAfterMinutes: 20,
    crlPartitions: 0,
  },
  // 3-year prices are the public list prices (18 / 36 / 72 / 58 AZN); 1 and 2 years pro rata.
  tariffs: {
    currency: 'AZN',
    prices: {
      citizen: { '1': '6.00', '2': '12.00', '3': '18.00' },
      entrepreneur: { '1': '12.00', '2': '24.00', '3': '36.00' },
      'legal-entity': { '1': '24.00', '2': '48.00', '3': '72.00' },
      'state-agency': { '1': '20.00', '2': '39.00', '3': '58.00' },
    },
  },
};

/** The fixed ETSI policy OIDs (EN 319 411-1 §5.3 and EN 319 411-2 §5.3). */
export const ETSI_POLICY_OIDS = {
  /** Qualified certificate for a natural person. */
  'QCP-n': '0.4.0.194112.1.0',
  /** Qualified certificate for a legal person. */
  'QCP-l': '0.4.0.194112.1.1',
  /** Qualified certificate for a natural person, key on a QSCD. */
  'QCP-n-qscd': '0.4.0.194112.1.2',
  /** Normalized certificate policy. */
  NCP: '0.4.0.2042.1.1',
  /** NCP with the key on a secure cryptographic device. */
  'NCP+': '0.4.0.2042.1.2',
} as const;
export type EtsiPolicyName = keyof typeof ETSI_POLICY_OIDS;

function baseUrl(settings: PkiSettings): string {
  return settings.publicBaseUrl.replace(/\/+$/, '');
}

/** AIA caIssuers (RFC 5280 §4.2.2.1): the issuing CA's certificate, DER. */
export function caIssuersUrl(settings: PkiSettings, caName: string): string {
  return `${baseUrl(settings)}/ca/${caName}.crt`;
}

/** AIA OCSP: one responder URL for every CA (the responder picks the CA from the CertID). */
export function ocspUrl(settings: PkiSettings): string {
  return `${baseUrl(settings)}/ocsp`;
}

/** CRL distribution point (RFC 5280 §4.2.1.13) of a CA. */
export function crlUrl(settings: PkiSettings, caName: string, scope = '', delta = false): string {
  return `${baseUrl(settings)}/crl/${crlFileName(caName, scope, delta)}`;
}

/** `<ca>.crl`, `<ca>-delta.crl`, `<ca>-p3.crl`, `<ca>-p3-delta.crl`. */
export function crlFileName(caName: string, scope: string, delta: boolean): string {
  return `${caName}${scope ? `-${scope}` : ''}${delta ? '-delta' : ''}.crl`;
}

export function pdsUrl(settings: PkiSettings): string {
  return settings.qcPdsUrl ?? `${baseUrl(settings)}/pds/en.pdf`;
}

// ---- merging configuration ---------------------------------------------------------------------

/** Fields that may be null, replaced wholesale rather than merged. */
const REPLACED_WHOLE = new Set(['pki.qcPdsUrl', 'pki.voenCheck', 'pki.tariffs.prices']);

function invalidSettings(path: string, detail: string): CaError {
  return new CaError('malformed', `pki settings ${path}: ${detail}`, { code: 'invalidPkiSettings' });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeValue(base: unknown, override: unknown, path: string): unknown {
  if (REPLACED_WHOLE.has(path)) return override;
  if (isPlainObject(base)) {
    if (!isPlainObject(override)) throw invalidSettings(path, 'must be an object');
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      if (!(key in base)) throw invalidSettings(`${path}.${key}`, 'is not a setting');
      merged[key] = mergeValue(base[key], value, `${path}.${key}`);
    }
    return merged;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(override)) throw invalidSettings(path, 'must be an array');
    return override;
  }
  if (typeof override !== typeof base) throw invalidSettings(path, `must be a ${typeof base}`);
  return override;
}

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const HTTP_URL = /^https?:\/\/[\x21-\x7e]+$/;

function check(ok: boolean, path: string, detail: string): void {
  if (!ok) throw invalidSettings(path, detail);
}

/** Semantic checks of a whole settings object; throws `malformed` / `invalidPkiSettings`. */
export function validatePkiSettings(s: PkiSettings): PkiSettings {
  check(HTTP_URL.test(s.publicBaseUrl), 'publicBaseUrl', 'must be an http(s) URL');
  check(/^[A-Z]{2}$/.test(s.country), 'country', 'must be an ISO 3166 alpha-2 code');
  check(s.caOrganization.trim().length > 0, 'caOrganization', 'must not be empty');
  for (const [profile, oid] of Object.entries(s.schemePolicyOids)) check(OID.test(oid), `schemePolicyOids.${profile}`, 'must be a dotted OID');
  for (const [kind, days] of Object.entries(s.validityDays)) {
    check(Number.isInteger(days) && days > 0, `validityDays.${kind}`, 'must be a positive whole number');
  }
  check(
    s.holderValidityYears.length > 0 && s.holderValidityYears.every((y) => Number.isInteger(y) && y >= 1 && y <= 5),
    'holderValidityYears',
    'must be whole years from 1 to 5',
  );
  check(s.qcPdsUrl === null || (typeof s.qcPdsUrl === 'string' && HTTP_URL.test(s.qcPdsUrl)), 'qcPdsUrl', 'must be null or an http(s) URL');
  if (s.voenCheck !== null) {
    check(isPlainObject(s.voenCheck) && s.voenCheck.modulus === 11, 'voenCheck.modulus', 'must be 11');
    const weights: unknown = s.voenCheck.weights;
    check(Array.isArray(weights) && weights.length === 8 && weights.every((w) => Number.isInteger(w) && w >= 0), 'voenCheck.weights', 'must be 8 whole numbers');
  }
  check(s.memberClasses.length > 0 && s.memberClasses.every((c) => typeof c === 'string' && /^[A-Z]{2,10}$/.test(c)), 'memberClasses', 'must be upper-case codes');
  const k = s.keyPolicy;
  check(Number.isInteger(k.rsaMinBits) && k.rsaMinBits >= 2048, 'keyPolicy.rsaMinBits', 'must be at least 2048');
  check(Number.isInteger(k.rsaMaxBits) && k.rsaMaxBits >= k.rsaMinBits && k.rsaMaxBits <= 16384, 'keyPolicy.rsaMaxBits', 'must be from rsaMinBits to 16384');
  check(k.rsaPublicExponents.length > 0 && k.rsaPublicExponents.every((e) => Number.isSafeInteger(e) && e >= 3 && e % 2 === 1), 'keyPolicy.rsaPublicExponents', 'must be odd whole numbers ≥ 3');
  check(k.ecCurves.every((c) => c === 'P-256' || c === 'P-384'), 'keyPolicy.ecCurves', 'only P-256 and P-384 are supported');
  const r = s.revocation;
  for (const [field, value] of Object.entries(r)) {
    check(Number.isInteger(value) && value >= (field === 'crlPartitions' ? 0 : 1), `revocation.${field}`, 'must be a whole number');
  }
  check(r.crlPartitions <= 1024, 'revocation.crlPartitions', 'must be at most 1024');
  check(r.ocspRefreshAfterMinutes + 20 <= r.ocspValidityMinutes, 'revocation.ocspRefreshAfterMinutes', 'must leave nextUpdate at least 20 minutes ahead (X-Road)');
  check(r.deltaCrlValidityMinutes > r.deltaCrlIntervalMinutes, 'revocation.deltaCrlValidityMinutes', 'must exceed deltaCrlIntervalMinutes');
  const tariffErrors = tariffProblems(s.tariffs);
  check(tariffErrors.length === 0, 'tariffs', tariffErrors[0] ?? '');
  check(r.fullCrlValidityHours * 60 > r.fullCrlIntervalMinutes, 'revocation.fullCrlValidityHours', 'must exceed fullCrlIntervalMinutes');
  return s;
}

/** `base` with the fields of `overrides` (parsed JSON) replaced, validated. Unknown fields are errors. */
export function mergePkiSettings(base: PkiSettings, overrides: unknown = {}): PkiSettings {
  const merged = mergeValue(base, overrides ?? {}, 'pki') as PkiSettings;
  return validatePkiSettings(structuredClone(merged));
}
