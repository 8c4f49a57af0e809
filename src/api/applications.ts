import type { z } from 'zod';
import { CaError } from '../errors.js';
import {
  applicationCertificates,
  approveApplication,
  cancelApplication,
  createApplication,
  getApplicationDetails,
  handOver,
  listApplications,
  recordIdentity,
  recordPayment,
  rejectApplication,
} from '../ra/applications.js';
import type { Principal } from '../ra/access.js';
import type { RaDeps } from '../ra/deps.js';
import { issueForApplication } from '../ra/issuance.js';
import { endpoint, type Endpoint } from './endpoint.js';
import {
  ApplicationListQuery,
  ApplicationListSchema,
  ApplicationSchema,
  CertificateRequestSchema,
  HandoverSchema,
  IdentitySchema,
  IssuedCertificateSchema,
  NewApplicationSchema,
  OptionalReasonSchema,
  PaymentSchema,
  PreorderSchema,
  ReasonSchema,
} from './schemas.js';
import { applicationJson, decodeCursor, encodeCursor } from './views.js';

const TAG = 'Applications';

/** /api/v1/applications and /api/v1/preorders: routes translate HTTP, src/ra does the work. */
export function applicationEndpoints(ra: RaDeps): Endpoint[] {
  const withCertificates = async (a: Awaited<ReturnType<typeof createApplication>>) => applicationJson(a, { certificates: await applicationCertificates(ra, a) });
  const me = (p: Principal | null): Principal => p!;
  const action = (
    name: string,
    summary: string,
    access: Endpoint['access'],
    body: z.ZodType | undefined,
    run: (p: Principal, id: string, body: never) => ReturnType<typeof recordPayment>,
    errors?: Record<number, string[]>,
  ): Endpoint =>
    endpoint({
      method: 'post',
      path: `/api/v1/applications/{id}/${name}`,
      summary,
      tag: TAG,
      access,
      ...(body ? { body } : {}),
      response: { status: 200, description: 'the application after the change', schema: ApplicationSchema },
      errors: { 409: ['invalidTransition'], ...errors },
      handler: async ({ principal, params, body }) => withCertificates(await run(me(principal), params.id!, body as never)),
    });

  return [
    endpoint({
      method: 'post',
      path: '/api/v1/applications',
      summary: 'Take an application at the desk',
      description: 'The identity document checked at the desk is recorded with it; the tariff follows from the holder category and validity.',
      tag: TAG,
      access: 'application.create',
      body: NewApplicationSchema,
      response: { status: 201, description: 'the new application, state submitted, with its tariff', schema: ApplicationSchema },
      errors: { 400: ['invalidFin', 'invalidVoen', 'invalidBirthDate', 'missingIdDocument', 'invalidInput'], 409: ['duplicateApplication'] },
      handler: async ({ principal, body }) => applicationJson(await createApplication(ra, me(principal), body), { certificates: [] }),
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/preorders',
      summary: 'Pre-order online (no token): collected at the chosen office with the ID card',
      tag: TAG,
      access: 'public',
      body: PreorderSchema,
      // Anyone may pre-order: enough for a family at one address, not for a flood.
      rateLimit: { max: 30, windowMs: 3_600_000 },
      response: { status: 201, description: 'the pre-order, state submitted', schema: ApplicationSchema },
      errors: { 409: ['duplicateApplication'], 404: ['officeNotFound'], 429: ['tooManyRequests'] },
      handler: async ({ body }) => applicationJson(await createApplication(ra, null, body), { certificates: [] }),
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/applications',
      summary: "List applications (a desk sees its own office's)",
      tag: TAG,
      access: 'application.read',
      query: ApplicationListQuery,
      response: { status: 200, description: 'newest first; `next` pages on', schema: ApplicationListSchema },
      handler: async ({ principal, query }) => {
        const before = query.before ? decodeCursor(query.before) : undefined;
        if (before === null) throw new CaError('malformed', 'before is not a cursor this API gave', { code: 'invalidCursor' });
        const limit = query.limit ?? 100;
        const items = await listApplications(ra, me(principal), {
          ...(query.state ? { state: query.state } : {}),
          ...(query.office ? { officeCode: query.office } : {}),
          ...(query.fin ? { fin: query.fin } : {}),
          ...(before ? { before } : {}),
          limit,
        });
        return { items: items.map((a) => applicationJson(a)), next: items.length === limit ? encodeCursor(items[items.length - 1]!) : null };
      },
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/applications/{id}',
      summary: 'One application with its certificates and history',
      tag: TAG,
      access: 'application.read',
      response: { status: 200, description: 'the application', schema: ApplicationSchema },
      errors: { 403: ['otherOffice'], 404: ['applicationNotFound'] },
      handler: async ({ principal, params }) => {
        const d = await getApplicationDetails(ra, me(principal), params.id!);
        return applicationJson(d.application, d);
      },
    }),
    action('payment', 'Record the payment (amount must match the tariff)', 'application.pay', PaymentSchema,
      (p, id, b: z.infer<typeof PaymentSchema>) => recordPayment(ra, p, id, b), { 422: ['wrongAmount'] }),
    action('identity', 'Record the identity document checked at the desk (online pre-orders)', 'application.identify', IdentitySchema,
      (p, id, b: z.infer<typeof IdentitySchema>) => recordIdentity(ra, p, id, b.idDocument)),
    action('approve', 'Approve (supervisor)', 'application.approve', undefined, (p, id) => approveApplication(ra, p, id), { 409: ['invalidTransition', 'identityNotChecked'] }),
    action('reject', 'Reject, with the reason the holder is told (supervisor)', 'application.reject', ReasonSchema,
      (p, id, b: z.infer<typeof ReasonSchema>) => rejectApplication(ra, p, id, b.reason)),
    action('cancel', "Cancel at the holder's request, before any certificate is issued", 'application.cancel', OptionalReasonSchema,
      (p, id, b: z.infer<typeof OptionalReasonSchema>) => cancelApplication(ra, p, id, b.reason), { 409: ['invalidTransition', 'certificatesIssued'] }),
    action('handover', 'Hand the card over to the holder', 'application.handover', HandoverSchema,
      (p, id, b: z.infer<typeof HandoverSchema>) => handOver(ra, p, id, b), { 409: ['invalidTransition', 'cardMismatch'] }),
    endpoint({
      method: 'post',
      path: '/api/v1/applications/{id}/certificates',
      summary: 'Issue one certificate of an approved application from a CSR',
      description: 'The CA builds the subject from the application; only the public key is taken from the CSR. The last type of the product moves the application to issued.',
      tag: TAG,
      access: 'application.issue',
      body: CertificateRequestSchema,
      bodyLimit: '64kb',
      response: { status: 201, description: 'the certificate and its chain, PEM', schema: IssuedCertificateSchema },
      errors: {
        400: ['badCsr', 'badPublicKey'],
        409: ['applicationNotApproved', 'certificateAlreadyIssued', 'keyAlreadyUsed', 'cardMismatch'],
        422: ['typeNotInProduct'],
      },
      handler: async ({ principal, params, body }) => {
        const issued = await issueForApplication(ra, me(principal), params.id!, body);
        const d = await getApplicationDetails(ra, me(principal), params.id!);
        return { serial: issued.serial, certificate: issued.pem, chain: issued.chainPem, type: body.type, applicationState: d.application.state };
      },
    }),
  ];
}
