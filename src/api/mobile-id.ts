import { z } from 'zod';
import { certificateView } from '../ca/queries.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { MobileIdRecord } from '../domain/mobile-id.js';
import { MOBILE_ID_STATES } from '../domain/mobile-id.js';
import type { StatusAction } from '../domain/status.js';
import type { RaDeps } from '../ra/deps.js';
import {
  activateMobileId,
  changeMobileIdStatus,
  currentMobileIdCertificates,
  enrolMobileId,
  renewActivationCode,
  type Enrolment,
} from '../ra/mobile-id.js';
import { endpoint, type Endpoint } from './endpoint.js';
import { HolderStatusChangeSchema, OperatorCertificateSchema } from './schemas.js';

/**
 * Mobile-ID: enrolment of a SIM at the desk, activation from the SIM (public: the one-time code is
 * the credential), the pair's suspension, restoration and revocation, and the relying parties'
 * lookup by phone number. Routes translate HTTP; src/ra/mobile-id.ts does the work.
 */
const TAG = 'Mobile-ID';
const text = (max: number) => z.string().max(max);
const csr = (what: string) => z.string().max(32 * 1024).meta({ description: `PKCS#10 request, PEM, for the ${what} key generated on the SIM` });

export const MobileIdEnrolSchema = z
  .object({
    msisdn: text(30).meta({ description: 'the SIM\'s phone number, E.164', example: '+994501234567' }),
    iccid: text(30).meta({ description: 'the SIM card number (ITU-T E.118): 19 or 20 digits starting with 89, Luhn check digit last', example: '8999401234567890129' }),
    replace: z.boolean().optional().meta({ description: 'SIM replacement: the same holder\'s mobile-ID of this number is revoked (superseded) and replaced' }),
  })
  .strict()
  .meta({ id: 'MobileIdEnrolment' });

export const MobileIdActivationSchema = z
  .object({
    msisdn: text(30).meta({ example: '+994501234567' }),
    activationCode: text(20).meta({ description: 'the 8-digit code the holder received by SMS and e-mail' }),
    authenticationCsr: csr('authentication'),
    signatureCsr: csr('signature'),
  })
  .strict()
  .meta({ id: 'MobileIdActivationRequest' });

export const MobileIdSchema = z
  .object({
    id: z.string(),
    application: z.string(),
    fin: z.string(),
    msisdn: z.string(),
    iccid: z.string(),
    state: z.enum(MOBILE_ID_STATES),
    codeExpiresAt: z.string().nullable().meta({ description: 'while pending: until when the activation code works' }),
    failedAttempts: z.number(),
    authenticationSerial: z.string().nullable(),
    signatureSerial: z.string().nullable(),
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
  })
  .meta({ id: 'MobileId' });

const MobileIdEnrolledSchema = MobileIdSchema.extend({
  delivery: z.object({ sms: z.boolean(), email: z.boolean() }).meta({ description: 'which channels accepted the activation code (never shown here)' }),
}).meta({ id: 'MobileIdEnrolled' });

const MobileIdWithCertificatesSchema = MobileIdSchema.extend({ certificates: z.array(OperatorCertificateSchema) }).meta({ id: 'MobileIdWithCertificates' });

const IssuedPemSchema = z.object({ serial: z.string().meta({ description: 'lowercase hex' }), certificate: z.string().meta({ description: 'PEM' }) });

const MobileIdActivatedSchema = z
  .object({
    id: z.string(),
    msisdn: z.string(),
    authentication: IssuedPemSchema,
    signature: IssuedPemSchema,
    chain: z.string().meta({ description: 'PEM: the mobile-ID CA, then its parents up to the root' }),
  })
  .meta({ id: 'MobileIdActivation' });

const PublicPairCertificateSchema = z.object({
  serial: z.string(),
  profile: z.string(),
  status: z.string(),
  notAfter: z.string(),
  certificate: z.string().meta({ description: 'PEM' }),
});

const MobileIdCertificatesSchema = z
  .object({ msisdn: z.string(), authentication: PublicPairCertificateSchema, signature: PublicPairCertificateSchema, chain: z.string() })
  .meta({ id: 'MobileIdCertificates' });

const ACCESS: Record<StatusAction, 'certificate.suspend' | 'certificate.restore' | 'certificate.revoke'> = {
  suspend: 'certificate.suspend',
  restore: 'certificate.restore',
  revoke: 'certificate.revoke',
};

function mobileIdJson(m: MobileIdRecord): z.infer<typeof MobileIdSchema> {
  return {
    id: m.id,
    application: m.applicationId,
    fin: m.fin,
    msisdn: m.msisdn,
    iccid: m.iccid,
    state: m.state,
    codeExpiresAt: m.state === 'pending' ? (m.activationExpiresAt?.toISOString() ?? null) : null,
    failedAttempts: m.failedAttempts,
    authenticationSerial: m.authenticationSerial,
    signatureSerial: m.signatureSerial,
    createdAt: m.createdAt.toISOString(),
    activatedAt: m.activatedAt?.toISOString() ?? null,
  };
}

const enrolmentJson = (e: Enrolment) => ({ ...mobileIdJson(e.mobileId), delivery: e.delivery });

export function mobileIdEndpoints(ra: RaDeps): Endpoint[] {
  const publicCertificate = (c: { record: CertificateRecord; pem: string }) => {
    const view = certificateView(ra.ca, c.record);
    return { serial: view.serial, profile: view.profile, status: view.status, notAfter: view.notAfter, certificate: c.pem };
  };
  const pairChange = (action: StatusAction): Endpoint =>
    endpoint({
      method: 'post',
      path: `/api/v1/mobile-id/{mid}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} both certificates of a mobile-ID`,
      description:
        action === 'restore'
          ? 'Needs the identity document checked at the desk.'
          : action === 'revoke'
            ? 'Final: the mobile-ID becomes revoked; a new SIM is enrolled on a new application.'
            : 'The holder is identified at the desk, or calls the hotline.',
      tag: TAG,
      access: ACCESS[action],
      body: HolderStatusChangeSchema,
      response: { status: 200, description: 'the mobile-ID and both certificates after the change', schema: MobileIdWithCertificatesSchema },
      errors: { 400: ['identityNotChecked', 'invalidReason'], 404: ['mobileIdNotFound'], 409: ['mobileIdNotActive', 'invalidTransition', 'certificateExpired'] },
      handler: async ({ principal, params, body }) => {
        const changed = await changeMobileIdStatus(ra, principal!, params.mid!, action, {
          ...body,
          invalidityDate: body.invalidityDate ? new Date(body.invalidityDate) : undefined,
        });
        return { ...mobileIdJson(changed.mobileId), certificates: changed.certificates.map((c) => certificateView(ra.ca, c)) };
      },
    });

  return [
    endpoint({
      method: 'post',
      path: '/api/v1/applications/{id}/mobile-id',
      summary: "Enrol the SIM of an approved mobile-ID application; the holder gets an activation code",
      description:
        'The code (8 digits, valid 15 minutes, 5 tries) goes to the MSISDN by SMS and to the applicant by e-mail, never in this answer. With replace: true the same holder\'s mobile-ID of this number is revoked as superseded first (SIM replacement).',
      tag: TAG,
      access: 'application.issue',
      body: MobileIdEnrolSchema,
      response: { status: 201, description: 'the enrolment, pending', schema: MobileIdEnrolledSchema },
      errors: {
        400: ['invalidMsisdn', 'invalidIccid'],
        403: ['otherOffice'],
        404: ['applicationNotFound'],
        409: ['msisdnInUse', 'msisdnOfAnotherHolder', 'mobileIdInProgress', 'applicationNotApproved', 'certificatesIssued'],
        422: ['notMobileIdApplication'],
        503: ['activationCodeNotSent'],
      },
      handler: async ({ principal, params, body }) => enrolmentJson(await enrolMobileId(ra, principal!, params.id!, body)),
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/mobile-id/{mid}/code',
      summary: 'Send a fresh activation code for a pending enrolment (the old one stops working)',
      tag: TAG,
      access: 'application.issue',
      response: { status: 200, description: 'the enrolment, with the new code\'s expiry', schema: MobileIdEnrolledSchema },
      errors: { 403: ['otherOffice'], 404: ['mobileIdNotFound'], 409: ['enrolmentLocked', 'mobileIdNotPending'], 503: ['activationCodeNotSent'] },
      handler: async ({ principal, params }) => enrolmentJson(await renewActivationCode(ra, principal!, params.mid!)),
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/mobile-id/activate',
      summary: 'Activate a mobile-ID from the SIM: the activation code and one CSR per key (no token)',
      description:
        'Both CSRs are checked (proof of possession, key policy, two different keys never certified before) before either certificate is issued. Five wrong codes lock the enrolment.',
      tag: TAG,
      access: 'public',
      body: MobileIdActivationSchema,
      bodyLimit: '96kb',
      // The code allows 5 tries per enrolment; this bounds how many enrolments one address can try.
      rateLimit: { max: 30, windowMs: 15 * 60_000 },
      response: { status: 201, description: 'the authentication and signature certificates and their chain, PEM', schema: MobileIdActivatedSchema },
      errors: {
        400: ['invalidMsisdn', 'malformedCsr', 'malformedPem', 'csrSignatureInvalid'],
        401: ['wrongActivationCode', 'activationCodeExpired'],
        409: ['enrolmentLocked', 'mobileIdAlreadyActive', 'keyAlreadyUsed', 'certificateAlreadyIssued', 'applicationNotApproved'],
        429: ['tooManyRequests'],
      },
      handler: async ({ body }) => {
        const a = await activateMobileId(ra, body);
        return {
          id: a.mobileId.id,
          msisdn: a.mobileId.msisdn,
          authentication: { serial: a.authentication.serial, certificate: a.authentication.pem },
          signature: { serial: a.signature.serial, certificate: a.signature.pem },
          chain: a.chainPem,
        };
      },
    }),
    pairChange('suspend'),
    pairChange('restore'),
    pairChange('revoke'),
    endpoint({
      method: 'get',
      path: '/api/v1/mobile-id/{msisdn}/certificates',
      summary: 'The certificates of the active mobile-ID of a phone number (relying parties; no token)',
      tag: TAG,
      access: 'public',
      rateLimit: { max: 60, windowMs: 60_000 },
      response: { status: 200, description: 'the authentication and signature certificates, PEM', schema: MobileIdCertificatesSchema },
      errors: { 400: ['invalidMsisdn'], 404: ['mobileIdNotFound'], 429: ['tooManyRequests'] },
      handler: async ({ params }) => {
        const pair = await currentMobileIdCertificates(ra, params.msisdn!);
        return { msisdn: pair.mobileId.msisdn, authentication: publicCertificate(pair.authentication), signature: publicCertificate(pair.signature), chain: pair.chainPem };
      },
    }),
  ];
}
