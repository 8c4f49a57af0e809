import { z } from 'zod';
import { getCertificate } from '../ca/queries.js';
import { certificateView } from '../ca/queries.js';
import type { StatusAction } from '../domain/status.js';
import type { RaDeps } from '../ra/deps.js';
import { holderCertificates, holderRequest, operatorStatusChange } from '../ra/holder-requests.js';
import { statistics } from '../ra/statistics.js';
import { readAuditLog } from '../ra/audit-log.js';
import { ROLE_DEFINITIONS } from '../policy/roles.js';
import { endpoint, type Endpoint } from './endpoint.js';
import { CertificateSchema, HolderStatusChangeSchema, OperatorCertificateSchema, StatisticsQuery, StatisticsSchema, StatusChangeSchema, WhoAmISchema } from './schemas.js';
import { publicCertificateJson } from './views.js';

const ACCESS: Record<StatusAction, 'certificate.suspend' | 'certificate.restore' | 'certificate.revoke'> = {
  suspend: 'certificate.suspend',
  restore: 'certificate.restore',
  revoke: 'certificate.revoke',
};

/** Certificates by serial, a holder's certificates by FIN, statistics, and who the caller is. */
export function certificateEndpoints(ra: RaDeps): Endpoint[] {
  const statusChange = (action: StatusAction): Endpoint =>
    endpoint({
      method: 'post',
      path: `/api/v1/certificates/{serial}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a certificate by serial (an operator acting on a report or an order)`,
      tag: 'Certificates',
      access: ACCESS[action],
      body: StatusChangeSchema,
      response: { status: 200, description: 'the certificate after the change', schema: OperatorCertificateSchema },
      errors: { 404: ['certificateNotFound'], 409: ['invalidTransition', 'certificateExpired'], 422: ['suspensionNotAllowed'] },
      handler: async ({ principal, params, body }) =>
        certificateView(ra.ca, await operatorStatusChange(ra, principal!, action, { serial: params.serial!, ...body, invalidityDate: body.invalidityDate ? new Date(body.invalidityDate) : undefined })),
    });
  const holderChange = (action: StatusAction): Endpoint =>
    endpoint({
      method: 'post',
      path: `/api/v1/holders/{fin}/certificates/{serial}/${action}`,
      summary: `The holder asks at the desk to ${action} one of their certificates`,
      description: action === 'restore' ? 'Needs the identity document checked at the desk.' : 'The holder is identified by FIN.',
      tag: 'Holders',
      access: ACCESS[action],
      body: HolderStatusChangeSchema,
      response: { status: 200, description: 'the certificate after the change', schema: OperatorCertificateSchema },
      errors: { 400: ['identityNotChecked', 'invalidFin'], 404: ['certificateNotFound'], 409: ['invalidTransition'] },
      handler: async ({ principal, params, body }) =>
        certificateView(
          ra.ca,
          await holderRequest(ra, principal!, {
            fin: params.fin!,
            serial: params.serial!,
            action,
            ...body,
            invalidityDate: body.invalidityDate ? new Date(body.invalidityDate) : undefined,
          }),
        ),
    });

  return [
    endpoint({
      method: 'get',
      path: '/api/v1/certificates/{serial}',
      summary: 'Status of a certificate (public)',
      tag: 'Certificates',
      access: 'public',
      response: { status: 200, description: 'status and validity', schema: CertificateSchema },
      errors: { 404: ['certificateNotFound'] },
      handler: async ({ params }) => publicCertificateJson(ra.ca, await getCertificate(ra.ca, params.serial!)),
    }),
    statusChange('suspend'),
    statusChange('restore'),
    statusChange('revoke'),
    endpoint({
      method: 'get',
      path: '/api/v1/holders/{fin}/certificates',
      summary: "A holder's certificates, found by FIN",
      tag: 'Holders',
      access: 'holder.read',
      response: { status: 200, description: 'newest first', schema: z.object({ items: z.array(OperatorCertificateSchema) }) },
      handler: async ({ principal, params }) => ({ items: (await holderCertificates(ra, principal!, params.fin!)).map((r) => certificateView(ra.ca, r)) }),
    }),
    holderChange('suspend'),
    holderChange('restore'),
    holderChange('revoke'),
    endpoint({
      method: 'get',
      path: '/api/v1/statistics',
      summary: 'Certificates issued and active by holder category, office and month',
      tag: 'Statistics',
      access: 'statistics.read',
      query: StatisticsQuery,
      response: { status: 200, description: 'the bulletin table', schema: StatisticsSchema },
      handler: async ({ principal, query }) =>
        statistics(ra, principal!, {
          ...(query.office ? { officeCode: query.office } : {}),
          ...(query.from ? { from: new Date(query.from) } : {}),
          ...(query.to ? { to: new Date(query.to) } : {}),
        }),
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'The audit log, a page at a time in chain order (auditors, CA operators)',
      description: 'Each event carries its hash and the previous one; `eimza audit verify` checks the whole chain.',
      tag: 'Audit',
      access: 'audit.read',
      query: z
        .object({
          after: z.string().max(20).optional().meta({ description: 'the last seq of the previous page' }),
          limit: z.coerce.number().int().min(1).max(1000).optional(),
          serial: z.string().max(100).optional(),
          action: z.string().max(60).optional().meta({ description: 'an action or its prefix, e.g. application. or certificate.revoked' }),
        })
        .strict(),
      response: {
        status: 200,
        description: 'events in seq order',
        schema: z.object({
          items: z.array(
            z.object({ seq: z.string(), at: z.string(), actor: z.string(), action: z.string(), ca: z.string().nullable(), serial: z.string().nullable(), details: z.unknown(), prevHash: z.string(), hash: z.string() }),
          ),
          next: z.string().nullable(),
        }),
      },
      handler: async ({ principal, query }) => {
        const limit = query.limit ?? 100;
        const rows = await readAuditLog(ra, principal!, { ...query, limit });
        return {
          items: rows.map((r) => ({
            seq: r.seq,
            at: r.occurredAt.toISOString(),
            actor: r.actor,
            action: r.action,
            ca: r.caName,
            serial: r.serial,
            details: r.details,
            prevHash: Buffer.from(r.prevHash).toString('hex'),
            hash: Buffer.from(r.hash).toString('hex'),
          })),
          next: rows.length === limit ? rows[rows.length - 1]!.seq : null,
        };
      },
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/me',
      summary: 'Who the token belongs to, and what it may do',
      tag: 'Access',
      access: 'authenticated',
      response: { status: 200, description: 'the principal', schema: WhoAmISchema },
      handler: async ({ principal }) => {
        const p = principal!;
        const role = ROLE_DEFINITIONS[p.role];
        return { id: p.id, name: p.name, kind: p.kind, role: p.role, office: p.officeCode, permissions: [...role.permissions], scope: role.scope };
      },
    }),
  ];
}
