import { z } from 'zod';
import { APPLICANT_KINDS, APPLICATION_STATES, CARRIERS, CERTIFICATE_TYPES, ID_DOCUMENT_TYPES, PAYMENT_METHODS, PRODUCTS } from '../domain/application.js';

/** Request and response shapes of the REST API: validation and the OpenAPI document both come from here. */

const text = (max: number) => z.string().max(max);

export const IdDocumentSchema = z
  .object({ type: z.enum(ID_DOCUMENT_TYPES), number: text(40).meta({ description: 'as printed on the document' }) })
  .strict()
  .meta({ id: 'IdDocument', description: 'the identity document checked at the desk' });

export const ApplicantSchema = z
  .object({
    kind: z.enum(APPLICANT_KINDS).meta({ description: 'citizen; entrepreneur (VÖEN ending in 2); representative of a legal-entity or state-agency (VÖEN ending in 1)' }),
    fin: text(20).meta({ description: 'personal identification number: 7 characters of 0-9 and A-Z without I and O', example: '5ZJBKQ2' }),
    givenName: text(100),
    surname: text(100),
    birthDate: text(10).meta({ description: 'YYYY-MM-DD', example: '1990-05-17' }),
    email: text(254).optional(),
    phone: text(30).optional().meta({ description: 'international form, e.g. +994501234567; required for mobile-ID' }),
    idDocument: IdDocumentSchema.optional().meta({ description: 'required at a desk; an online pre-order records it on collection' }),
    voen: text(20).optional().meta({ description: 'tax number (10 digits) of the entrepreneur or the organisation' }),
    organization: text(200).optional(),
    authorityDocument: text(100).optional().meta({ description: "the power of attorney or order that makes the applicant the organisation's representative" }),
  })
  .strict()
  .meta({ id: 'Applicant' });

export const NewApplicationSchema = z
  .object({
    applicant: ApplicantSchema,
    product: z.enum(PRODUCTS).meta({ description: 'card = signature + authentication + encryption certificates; mobile-id = signature + authentication on the SIM' }),
    validityYears: z.number().int().meta({ description: '1, 2 or 3 (configuration)' }),
    carrier: z.enum(CARRIERS).optional().meta({ description: 'card or usb-token for a card product, sim for mobile-ID; defaults to the first' }),
    officeCode: text(32).optional().meta({ description: "a CA operator may take an application for another office; a desk's own is the default" }),
  })
  .strict()
  .meta({ id: 'NewApplication' });

export const PreorderSchema = NewApplicationSchema.extend({
  applicant: ApplicantSchema.omit({ idDocument: true }),
  officeCode: text(32).meta({ description: 'where the holder will collect the card, with the ID card' }),
}).meta({ id: 'Preorder' });

export const AmountSchema = z.string().max(20).meta({ description: 'decimal string with two places', example: '18.00' });

export const PaymentSchema = z
  .object({ amount: AmountSchema, receipt: text(64), method: z.enum(PAYMENT_METHODS) })
  .strict()
  .meta({ id: 'Payment' });

export const ReasonSchema = z.object({ reason: text(500) }).strict();
export const OptionalReasonSchema = z.object({ reason: text(500).optional() }).strict();
export const HandoverSchema = z.object({ cardSerial: text(64).optional() }).strict();
export const IdentitySchema = z.object({ idDocument: IdDocumentSchema }).strict();

export const CertificateRequestSchema = z
  .object({
    type: z.enum(CERTIFICATE_TYPES),
    csr: z.string().max(32 * 1024).meta({ description: 'PKCS#10 request, PEM; its signature proves possession of the key' }),
    card: z
      .object({ serialNumber: text(64).meta({ description: 'the PKCS#11 token serial number of the card' }), batch: text(64).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'CertificateRequest' });

const isoDate = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date');

export const StatusChangeSchema = z
  .object({
    reason: text(40).optional().meta({ description: 'revoke only: keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, unspecified' }),
    invalidityDate: isoDate.optional().meta({ description: 'revoke only: when the key is known or suspected to have been compromised' }),
    comment: text(500).optional(),
  })
  .strict()
  .meta({ id: 'StatusChange' });

export const HolderStatusChangeSchema = StatusChangeSchema.extend({
  idDocument: IdDocumentSchema.optional().meta({ description: 'required to restore: the identity checked at the desk' }),
}).meta({ id: 'HolderStatusChange' });

export const ApplicationListQuery = z
  .object({
    state: z.enum(APPLICATION_STATES).optional(),
    office: text(32).optional(),
    fin: text(20).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: text(80).optional().meta({ description: 'paging: the `next` cursor of the previous page' }),
  })
  .strict();

export const StatisticsQuery = z
  .object({ office: text(32).optional(), from: isoDate.optional(), to: isoDate.optional() })
  .strict();

// ---- responses ---------------------------------------------------------------------------------

export const TariffSchema = z.object({ amount: AmountSchema, currency: z.string() }).meta({ id: 'Tariff' });

export const ApplicationSchema = z
  .object({
    id: z.string(),
    state: z.enum(APPLICATION_STATES),
    office: z.string(),
    channel: z.enum(['desk', 'online']),
    applicant: z.object({
      kind: z.enum(APPLICANT_KINDS),
      fin: z.string(),
      givenName: z.string(),
      surname: z.string(),
      birthDate: z.string(),
      email: z.string().nullable(),
      phone: z.string().nullable(),
      voen: z.string().nullable(),
      organization: z.string().nullable(),
      authorityDocument: z.string().nullable(),
      idDocument: IdDocumentSchema.nullable(),
    }),
    category: z.enum(APPLICANT_KINDS),
    product: z.enum(PRODUCTS),
    carrier: z.enum(CARRIERS),
    validityYears: z.number(),
    tariff: TariffSchema,
    payment: z
      .object({ amount: AmountSchema, currency: z.string(), receipt: z.string(), method: z.enum(PAYMENT_METHODS), at: z.string(), by: z.string() })
      .nullable(),
    requiredTypes: z.array(z.enum(CERTIFICATE_TYPES)),
    certificates: z.array(z.object({ type: z.string(), serial: z.string(), status: z.string().nullable() })),
    card: z.object({ serialNumber: z.string(), batch: z.string().nullable() }).nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    history: z
      .array(z.object({ at: z.string(), actor: z.string(), action: z.string(), from: z.string().nullable(), to: z.string(), details: z.unknown() }))
      .optional(),
  })
  .meta({ id: 'Application' });

export const ApplicationListSchema = z.object({ items: z.array(ApplicationSchema), next: z.string().nullable() }).meta({ id: 'ApplicationList' });

export const IssuedCertificateSchema = z
  .object({
    serial: z.string().meta({ description: 'lowercase hex' }),
    certificate: z.string().meta({ description: 'PEM' }),
    chain: z.string().meta({ description: 'PEM: the issuing CA, then its parents up to the root' }),
    type: z.enum(CERTIFICATE_TYPES),
    applicationState: z.enum(APPLICATION_STATES),
  })
  .meta({ id: 'IssuedCertificate' });

export const CertificateSchema = z
  .object({
    serial: z.string(),
    ca: z.string(),
    profile: z.string(),
    status: z.enum(['reserved', 'active', 'suspended', 'revoked', 'expired']),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    issuedAt: z.string().nullable(),
    statusChangedAt: z.string(),
    revocationReason: z.string().nullable(),
    revokedAt: z.string().nullable(),
    invalidityDate: z.string().nullable(),
  })
  .meta({ id: 'Certificate' });

export const OperatorCertificateSchema = CertificateSchema.extend({
  provenance: z.object({ officeCode: z.string().optional(), operator: z.string().optional(), batch: z.string().optional(), keyGeneration: z.string().optional() }),
}).meta({ id: 'CertificateWithProvenance' });

export const StatisticsSchema = z
  .object({
    generatedAt: z.string(),
    byCategory: z.array(z.object({ category: z.string(), issued: z.number(), active: z.number() })),
    byOfficeAndMonth: z.array(z.object({ category: z.string(), officeCode: z.string(), month: z.string(), issued: z.number(), active: z.number() })),
  })
  .meta({ id: 'Statistics' });

export const OfficeSchema = z.object({ code: z.string(), kind: z.enum(['post-office', 'asan', 'hq']), name: z.string(), region: z.string().nullable() }).meta({ id: 'Office' });

export const WhoAmISchema = z
  .object({ id: z.string(), name: z.string(), kind: z.enum(['person', 'machine']), role: z.string(), office: z.string(), permissions: z.array(z.string()), scope: z.enum(['office', 'all']) })
  .meta({ id: 'Principal' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string().meta({ description: 'the error kind' }),
    status: z.number(),
    code: z.string().meta({ description: 'stable, machine-readable' }),
    detail: z.string(),
  })
  .meta({ id: 'Problem' });
