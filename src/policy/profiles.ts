import type { CertificateSpec, KeyUsageBit, NameAttribute, QcStatementsSpec } from '../domain/certificateSpec.js';
import type { Holder } from '../domain/holder.js';
import type { PublicKeyKind } from '../domain/public-key.js';
import { CaError } from '../errors.js';
import { validateFin } from './identifiers.js';
import { PROFILE_IDS, isEndEntityProfile, isProfileId, type ProfileId } from './profile-ids.js';
import {
  caIssuersUrl,
  crlUrl,
  ETSI_POLICY_OIDS,
  ocspUrl,
  pdsUrl,
  type EtsiPolicyName,
  type PkiSettings,
  type ValidityClass,
} from './settings.js';
import { buildSubject, type SubjectKind } from './subjects.js';

export { END_ENTITY_PROFILES, PROFILE_IDS, type EndEntityProfileId, type ProfileId } from './profile-ids.js';

/** Extended key purposes (RFC 5280 §4.2.1.12). */
export const EKU_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  /** id-kp-cmcRA (RFC 6402 §2.10): signs CMP responses on the CA's behalf (RFC 9483 §3.1). */
  cmcRA: '1.3.6.1.5.5.7.3.28',
} as const;

/** Which CA signs a profile's certificates; 'any' = the OCSP signer, issued by the CA it answers for. */
export type IssuingCaName = 'root' | 'eimza' | 'mobile' | 'portal' | 'any';

/** The profile as data: every decision of profiles.md's table, in one record per type. */
export interface ProfileData {
  id: ProfileId;
  issuingCa: IssuingCaName;
  subjectKind: SubjectKind;
  /** organization + voen in the holder make a representative's subject (O, organizationIdentifier). */
  acceptsRepresentative: boolean;
  /** keyUsage (always critical) by key family: encryption and TLS differ between RSA and EC. */
  keyUsage: Readonly<Record<PublicKeyKind, readonly KeyUsageBit[]>>;
  extendedKeyUsage: readonly string[];
  /** Our scheme OID from settings.schemePolicyOids[id]. */
  schemePolicy: boolean;
  /**
   * The ETSI policy, by where the key lives: the "+"/"-qscd" policies require a secure device
   * (EN 319 411-1 §5.2 NCP+, EN 319 411-2 §5.2 QCP-n-qscd), so a software key gets the base policy.
   */
  etsiPolicy: { onSecureDevice: EtsiPolicyName; otherwise: EtsiPolicyName } | null;
  qcStatements: { type: QcStatementsSpec['type']; semanticsId: NonNullable<QcStatementsSpec['semanticsId']> } | null;
  subjectAltName: 'none' | 'email' | 'dnsName' | 'documentNumber';
  basicConstraints?: { ca: true; pathLength?: number };
  ocspNoCheck: boolean;
  /** full = AIA (OCSP + caIssuers) and CDP; caIssuersOnly = OCSP signers (RFC 6960 §4.2.2.2.1); none = root. */
  revocationInfo: 'full' | 'caIssuersOnly' | 'none';
  /** Whether certificateHold may be used (architecture.md "Status"); see README.md for why. */
  allowsSuspension: boolean;
  validity: ValidityClass;
  /** The holder buys 1, 2 or 3 years (settings.holderValidityYears). */
  holderChoosesValidity: boolean;
}

export interface CertificateProfile extends ProfileData {
  defaultValidityDays(settings: PkiSettings): number;
}

const PERSON = {
  subjectKind: 'naturalPerson',
  acceptsRepresentative: true,
  schemePolicy: true,
  ocspNoCheck: false,
  revocationInfo: 'full',
  allowsSuspension: true,
  validity: 'person',
  holderChoosesValidity: true,
} as const;

const SIGNATURE = {
  ...PERSON,
  keyUsage: { rsa: ['nonRepudiation'], ec: ['nonRepudiation'] },
  extendedKeyUsage: [],
  etsiPolicy: { onSecureDevice: 'QCP-n-qscd', otherwise: 'QCP-n' },
  qcStatements: { type: 'esign', semanticsId: 'natural' },
} as const;

const AUTHENTICATION = {
  ...PERSON,
  keyUsage: { rsa: ['digitalSignature'], ec: ['digitalSignature'] },
  extendedKeyUsage: [EKU_OIDS.clientAuth],
  etsiPolicy: { onSecureDevice: 'NCP+', otherwise: 'NCP' },
  qcStatements: null,
  subjectAltName: 'none',
} as const;

const SERVER = {
  issuingCa: 'portal',
  acceptsRepresentative: false,
  schemePolicy: true,
  qcStatements: null,
  ocspNoCheck: false,
  revocationInfo: 'full',
  allowsSuspension: false,
  validity: 'server',
  holderChoosesValidity: false,
} as const;

const HIERARCHY = {
  acceptsRepresentative: false,
  extendedKeyUsage: [],
  schemePolicy: false,
  etsiPolicy: null,
  qcStatements: null,
  subjectAltName: 'none',
  allowsSuspension: false,
  holderChoosesValidity: false,
} as const;

const CA_KEY_USAGE = { rsa: ['keyCertSign', 'cRLSign'], ec: ['keyCertSign', 'cRLSign'] } satisfies ProfileData['keyUsage'];

const PROFILE_DATA: Record<ProfileId, ProfileData> = {
  signature: { id: 'signature', issuingCa: 'eimza', ...SIGNATURE, subjectAltName: 'none' },
  authentication: { id: 'authentication', issuingCa: 'eimza', ...AUTHENTICATION },
  encryption: {
    id: 'encryption',
    issuingCa: 'eimza',
    ...PERSON,
    keyUsage: { rsa: ['keyEncipherment'], ec: ['keyAgreement'] },
    extendedKeyUsage: [EKU_OIDS.emailProtection],
    etsiPolicy: { onSecureDevice: 'NCP', otherwise: 'NCP' },
    qcStatements: null,
    // S/MIME agents find the recipient by the rfc822Name in SAN (RFC 8550 §3), when the RA has one.
    subjectAltName: 'email',
  },
  'mobile-auth': { id: 'mobile-auth', issuingCa: 'mobile', ...AUTHENTICATION },
  'mobile-sign': { id: 'mobile-sign', issuingCa: 'mobile', ...SIGNATURE, subjectAltName: 'documentNumber' },
  'server-signing': {
    id: 'server-signing',
    ...SERVER,
    subjectKind: 'member',
    keyUsage: { rsa: ['nonRepudiation'], ec: ['nonRepudiation'] },
    extendedKeyUsage: [],
    // A non-qualified seal of a legal person (EN 319 411-1): NCP+ when the key is in an HSM.
    etsiPolicy: { onSecureDevice: 'NCP+', otherwise: 'NCP' },
    subjectAltName: 'none',
  },
  'server-tls': {
    id: 'server-tls',
    ...SERVER,
    subjectKind: 'server',
    keyUsage: { rsa: ['digitalSignature', 'keyEncipherment'], ec: ['digitalSignature'] },
    extendedKeyUsage: [EKU_OIDS.serverAuth, EKU_OIDS.clientAuth],
    etsiPolicy: null,
    subjectAltName: 'dnsName',
  },
  'ocsp-signer': {
    id: 'ocsp-signer',
    issuingCa: 'any',
    ...HIERARCHY,
    subjectKind: 'ocspResponder',
    keyUsage: { rsa: ['digitalSignature'], ec: ['digitalSignature'] },
    extendedKeyUsage: [EKU_OIDS.ocspSigning],
    ocspNoCheck: true,
    revocationInfo: 'caIssuersOnly',
    validity: 'ocspSigner',
  },
  // Signs CMP responses of the portal CA (RFC 9483 §3.1): a key of its own, not the CA key.
  'cmp-signer': {
    id: 'cmp-signer',
    issuingCa: 'portal',
    ...HIERARCHY,
    subjectKind: 'ocspResponder',
    keyUsage: { rsa: ['digitalSignature'], ec: ['digitalSignature'] },
    extendedKeyUsage: [EKU_OIDS.cmcRA],
    ocspNoCheck: false,
    revocationInfo: 'full',
    validity: 'server',
  },
  'issuing-ca': {
    id: 'issuing-ca',
    issuingCa: 'root',
    ...HIERARCHY,
    subjectKind: 'certificationAuthority',
    keyUsage: CA_KEY_USAGE,
    basicConstraints: { ca: true, pathLength: 0 },
    ocspNoCheck: false,
    revocationInfo: 'full',
    validity: 'issuingCa',
  },
  'root-ca': {
    id: 'root-ca',
    issuingCa: 'root',
    ...HIERARCHY,
    subjectKind: 'certificationAuthority',
    keyUsage: CA_KEY_USAGE,
    // No pathLenConstraint: the root may later certify another level (RFC 5280 §4.2.1.9).
    basicConstraints: { ca: true },
    ocspNoCheck: false,
    revocationInfo: 'none',
    validity: 'rootCa',
  },
};

export const PROFILES: Readonly<Record<ProfileId, CertificateProfile>> = Object.fromEntries(
  PROFILE_IDS.map((id) => {
    const data = PROFILE_DATA[id];
    const profile: CertificateProfile = { ...data, defaultValidityDays: (settings) => settings.validityDays[data.validity] };
    return [id, Object.freeze(profile)];
  }),
) as Record<ProfileId, CertificateProfile>;

/** The profile for an id from outside (CLI, API); unknown ids are `malformed` / `unknownProfile`. */
export function getProfile(id: string): CertificateProfile {
  if (!isProfileId(id)) {
    throw new CaError('malformed', `unknown profile ${JSON.stringify(id)}; one of ${PROFILE_IDS.join(', ')}`, { code: 'unknownProfile' });
  }
  return PROFILES[id];
}

/**
 * Validity in days for a holder's choice of years (1, 2 or 3 by default) on person profiles;
 * without a choice, the profile default. Other profiles do not take a choice.
 */
export function validityDaysFor(profile: CertificateProfile, settings: PkiSettings, years?: number): number {
  if (years === undefined) return profile.defaultValidityDays(settings);
  if (!profile.holderChoosesValidity || !settings.holderValidityYears.includes(years)) {
    const allowed = profile.holderChoosesValidity ? settings.holderValidityYears.join(', ') : 'none';
    throw new CaError('policyForbids', `a validity of ${years} years is not offered for ${profile.id} (${allowed})`, {
      code: 'validityNotAllowed',
    });
  }
  return years * 365;
}

export interface SpecRequest {
  holder: Holder;
  settings: PkiSettings;
  /** The CA that signs: its URLs go into AIA and CDP. Must be the profile's issuing CA. */
  caName: string;
  subjectKey: PublicKeyKind;
  /** The private key is on a card, SIM or HSM: QcSSCD and the "+"/"-qscd" policies. */
  keyOnSecureDevice: boolean;
  /** mobile-sign only: SAN directoryName serialNumber PNOAZ-<FIN>-<n>. */
  documentNumber?: string;
  /** ocsp-signer, issuing-ca, root-ca: the CN of the subject. */
  commonName?: string;
  /** The CRL partition the CDP points at ('' = the whole CA's CRL); see crlScopeFor. */
  crlScope?: string;
}

/**
 * The CRL scope a new certificate is given (RFC 5280 §5.2.5 partitioning, settings.revocation.
 * crlPartitions): '' when partitioning is off, else 'p<N>' from `random` in [0, 1). Fixed for
 * the certificate's life: its CDP names it.
 */
export function crlScopeFor(profileId: ProfileId, settings: PkiSettings, random: number): string {
  const partitions = settings.revocation.crlPartitions;
  if (partitions === 0 || getProfile(profileId).revocationInfo !== 'full') return '';
  return `p${Math.min(partitions - 1, Math.floor(random * partitions))}`;
}

function policies(profile: ProfileData, request: SpecRequest): string[] | undefined {
  const oids: string[] = [];
  if (profile.schemePolicy && isEndEntityProfile(profile.id)) oids.push(request.settings.schemePolicyOids[profile.id]);
  if (profile.etsiPolicy) {
    oids.push(ETSI_POLICY_OIDS[request.keyOnSecureDevice ? profile.etsiPolicy.onSecureDevice : profile.etsiPolicy.otherwise]);
  }
  return oids.length ? oids : undefined;
}

function qcStatements(profile: ProfileData, request: SpecRequest): QcStatementsSpec | undefined {
  if (!profile.qcStatements) return undefined;
  return {
    compliance: true,
    sscd: request.keyOnSecureDevice,
    type: profile.qcStatements.type,
    pdsUrl: pdsUrl(request.settings),
    legislationCountry: request.settings.country,
    semanticsId: profile.qcStatements.semanticsId,
  };
}

/** A positive number without leading zeros, up to 9 digits. */
const DOCUMENT_NUMBER = /^[1-9][0-9]{0,8}$/;

function subjectAltName(profile: ProfileData, request: SpecRequest): CertificateSpec['subjectAltName'] {
  const { holder } = request;
  switch (profile.subjectAltName) {
    case 'email':
      return holder.email?.trim() ? { emails: [validateEmail(holder.email)] } : undefined;
    case 'dnsName':
      // buildSubject validated it; lower case as in the CN.
      return { dnsNames: [holder.dnsName!.trim().toLowerCase()] };
    case 'documentNumber': {
      if (request.documentNumber === undefined) return undefined;
      if (!DOCUMENT_NUMBER.test(request.documentNumber)) {
        throw new CaError('malformed', 'document number must be a positive whole number', { code: 'invalidDocumentNumber' });
      }
      const directoryName: NameAttribute[] = [{ type: 'serialNumber', value: `PNOAZ-${validateFin(holder.fin ?? '')}-${request.documentNumber}` }];
      return { directoryName };
    }
    case 'none':
      return undefined;
  }
}

/** The RA checked the mailbox; here only the shape an rfc822Name can carry (RFC 5280 §4.2.1.6, ASCII). */
function validateEmail(email: string): string {
  const trimmed = email.trim();
  if (!/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(trimmed)) {
    throw new CaError('malformed', 'holder field email is not an ASCII e-mail address', { code: 'invalidHolderField' });
  }
  return trimmed;
}

function revocationInfo(profile: ProfileData, settings: PkiSettings, caName: string, crlScope: string): Partial<CertificateSpec> {
  switch (profile.revocationInfo) {
    case 'full':
      return {
        authorityInfoAccess: { ocsp: ocspUrl(settings), caIssuers: caIssuersUrl(settings, caName) },
        crlDistributionPoint: crlUrl(settings, caName, crlScope),
      };
    case 'caIssuersOnly':
      return { authorityInfoAccess: { caIssuers: caIssuersUrl(settings, caName) } };
    case 'none':
      return {};
  }
}

/**
 * The CertificateSpec of one certificate, exactly per profiles.md. Only the holder data, the key
 * family and where the key lives go in; nothing from a CSR is ever consulted.
 */
export function buildCertificateSpec(profileId: ProfileId, request: SpecRequest): CertificateSpec {
  const profile = getProfile(profileId);
  if (profile.issuingCa !== 'any' && request.caName !== profile.issuingCa) {
    throw new CaError('policyForbids', `${profile.id} certificates are issued by the ${profile.issuingCa} CA, not ${request.caName}`, {
      code: 'wrongIssuingCa',
    });
  }
  if (request.documentNumber !== undefined && profile.subjectAltName !== 'documentNumber') {
    throw new CaError('malformed', `a document number is not part of ${profile.id} certificates`, { code: 'invalidDocumentNumber' });
  }
  const subject = buildSubject(profile.subjectKind, request.holder, request.settings, {
    acceptsRepresentative: profile.acceptsRepresentative,
    ...(request.commonName === undefined ? {} : { commonName: request.commonName }),
  });
  const spec: CertificateSpec = {
    subject,
    keyUsage: [...profile.keyUsage[request.subjectKey]],
    ...(profile.extendedKeyUsage.length ? { extendedKeyUsage: [...profile.extendedKeyUsage] } : {}),
    ...(profile.basicConstraints ? { basicConstraints: { ...profile.basicConstraints } } : {}),
    ...revocationInfo(profile, request.settings, request.caName, request.crlScope ?? ''),
    ...(profile.ocspNoCheck ? { ocspNoCheck: true } : {}),
  };
  const certificatePolicies = policies(profile, request);
  if (certificatePolicies) spec.certificatePolicies = certificatePolicies;
  const qc = qcStatements(profile, request);
  if (qc) spec.qcStatements = qc;
  const san = subjectAltName(profile, request);
  if (san) spec.subjectAltName = san;
  return spec;
}
