import { z } from 'zod';
import type { RaDeps } from '../ra/deps.js';
import {
  addMember,
  addServer,
  approveServerRequest,
  decommissionServer,
  getServer,
  getServerRequest,
  listRequests,
  rejectServerRequest,
  renewEnrolment,
  submitServerRequest,
  type ServerRequestView,
} from '../ra/security-servers.js';
import { SERVER_CERTIFICATE_TYPES } from '../policy/security-servers.js';
import { decodePemOrDer } from '../x509/pem.js';
import { CaError } from '../errors.js';
import { endpoint, type Endpoint } from './endpoint.js';

const TAG = 'Security servers';
const text = (max: number) => z.string().max(max);

const MemberBody = z
  .object({ name: text(64), memberClass: text(10), code: text(10).meta({ description: 'the VÖEN (ends in 1)' }), contacts: z.array(text(254)).max(10).optional() })
  .strict()
  .meta({ id: 'NewMember' });
const ServerBody = z
  .object({ serverCode: text(64), dnsName: text(253), autoApprove: z.boolean().optional() })
  .strict()
  .meta({ id: 'NewSecurityServer' });
const CsrBody = z
  .object({
    type: z.enum(SERVER_CERTIFICATE_TYPES),
    csr: z.string().max(32 * 1024).meta({ description: 'PKCS#10, PEM or base64 DER' }),
    enrolment: z.object({ ref: text(40), secret: text(100) }).strict().optional().meta({ description: 'first time: the one-time reference and secret' }),
    renewal: z
      .object({ certificate: z.string().max(16 * 1024).meta({ description: "one of the server's current certificates, PEM" }), signature: text(2048).meta({ description: 'base64 signature over the CSR DER (SHA-256) by that certificate’s key' }) })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'ServerCsr' });
const ReasonBody = z.object({ reason: text(500) }).strict();

const ServerSchema = z
  .object({ id: z.string(), member: z.string(), serverCode: z.string(), dnsName: z.string(), state: z.enum(['active', 'decommissioned']), autoApprove: z.boolean(), createdAt: z.string() })
  .meta({ id: 'SecurityServer' });
const EnrolmentSchema = z.object({ ref: z.string(), secret: z.string().meta({ description: 'shown once' }), expiresAt: z.string() }).meta({ id: 'Enrolment' });
const RequestSchema = z
  .object({
    id: z.string(),
    server: z.string(),
    type: z.enum(SERVER_CERTIFICATE_TYPES),
    channel: z.enum(['rest', 'cmp']),
    state: z.enum(['pending', 'issued', 'rejected']),
    approvals: z.array(z.object({ by: z.string(), at: z.string() })),
    serial: z.string().nullable(),
    rejectReason: z.string().nullable(),
    createdAt: z.string(),
    certificate: z.string().nullable().meta({ description: 'PEM, once issued' }),
    chain: z.string().nullable(),
  })
  .meta({ id: 'ServerRequest' });

function requestJson(v: ServerRequestView): z.infer<typeof RequestSchema> {
  const r = v.request;
  return {
    id: r.id,
    server: r.serverId,
    type: r.type,
    channel: r.channel,
    state: r.state,
    approvals: r.approvals,
    serial: r.serial,
    rejectReason: r.rejectReason,
    createdAt: r.createdAt.toISOString(),
    certificate: v.certificatePem,
    chain: v.chainPem,
  };
}

function serverJson(s: Awaited<ReturnType<typeof getServer>>): z.infer<typeof ServerSchema> {
  return { id: s.id, member: s.memberCode, serverCode: s.serverCode, dnsName: s.dnsName, state: s.state, autoApprove: s.autoApprove, createdAt: s.createdAt.toISOString() };
}

function base64(value: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(value.trim())) throw new CaError('malformed', `${what} must be base64`, { code: 'invalidInput' });
  return Buffer.from(value.trim(), value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
}

/** Members, security servers and their certificate requests (the REST face; CMP is cmp.ts). */
export function securityServerEndpoints(ra: RaDeps): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/api/v1/members',
      summary: 'Register a member of the exchange layer',
      tag: TAG,
      access: 'member.manage',
      body: MemberBody,
      response: { status: 201, description: 'the member', schema: z.object({ code: z.string(), name: z.string(), memberClass: z.string(), contacts: z.array(z.string()) }) },
      errors: { 400: ['invalidVoen', 'invalidMemberClass', 'invalidEmail'], 409: ['memberExists'] },
      handler: async ({ principal, body }) => {
        const m = await addMember(ra, principal!, body);
        return { code: m.code, name: m.name, memberClass: m.memberClass, contacts: m.contacts };
      },
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/members/{code}/servers',
      summary: "Register a member's security server; returns its one-time enrolment reference and secret",
      tag: TAG,
      access: 'member.manage',
      body: ServerBody,
      response: { status: 201, description: 'the server and its enrolment', schema: z.object({ server: ServerSchema, enrolment: EnrolmentSchema }) },
      errors: { 400: ['invalidServerCode', 'invalidDnsName'], 404: ['memberNotFound'], 409: ['serverExists'] },
      handler: async ({ principal, params, body }) => {
        const { server, enrolment } = await addServer(ra, principal!, { memberCode: params.code!, ...body });
        return { server: serverJson(server), enrolment: { ...enrolment, expiresAt: enrolment.expiresAt.toISOString() } };
      },
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/security-servers/{id}',
      summary: 'A security server',
      tag: TAG,
      access: 'server.read',
      response: { status: 200, description: 'the server', schema: ServerSchema },
      handler: async ({ principal, params }) => serverJson(await getServer(ra, principal!, params.id!)),
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/security-servers/{id}/enrolment',
      summary: 'A fresh enrolment reference and secret (the old ones end)',
      tag: TAG,
      access: 'member.manage',
      response: { status: 201, description: 'the enrolment', schema: EnrolmentSchema },
      handler: async ({ principal, params }) => {
        const e = await renewEnrolment(ra, principal!, params.id!);
        return { ...e, expiresAt: e.expiresAt.toISOString() };
      },
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/security-servers/{id}/decommission',
      summary: "Decommission a server: its certificates are revoked (cessationOfOperation)",
      tag: TAG,
      access: 'member.manage',
      response: { status: 200, description: 'the server and the revoked serials', schema: z.object({ server: ServerSchema, revoked: z.array(z.string()) }) },
      handler: async ({ principal, params }) => {
        const r = await decommissionServer(ra, principal!, params.id!);
        return { server: serverJson(r.server), revoked: r.revoked };
      },
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/security-servers/{id}/csr',
      summary: 'The server asks for a signing or TLS certificate (no token: the enrolment secret or a current certificate proves it)',
      tag: TAG,
      access: 'public',
      body: CsrBody,
      bodyLimit: '64kb',
      // Secrets are guessed nowhere fast: wrong ones are also counted per reference.
      rateLimit: { max: 120, windowMs: 3_600_000 },
      response: { status: 202, description: 'the request: pending, or issued when the server is auto-approved', schema: RequestSchema },
      errors: {
        400: ['malformedCsr', 'csrSignatureInvalid', 'badPublicKey'],
        401: ['invalidEnrolment', 'invalidRenewalCertificate', 'invalidRenewalSignature'],
        409: ['keyAlreadyUsed', 'serverDecommissioned'],
        422: ['subjectMismatch'],
      },
      handler: async ({ params, body }) => {
        if (Boolean(body.enrolment) === Boolean(body.renewal)) {
          throw new CaError('malformed', 'give either enrolment {ref, secret} or renewal {certificate, signature}', { code: 'missingProof' });
        }
        const proof = body.enrolment
          ? { kind: 'enrolment' as const, ref: body.enrolment.ref, secret: body.enrolment.secret }
          : { kind: 'certificate' as const, certificate: decodePemOrDer(body.renewal!.certificate, 'CERTIFICATE'), signature: base64(body.renewal!.signature, 'renewal.signature') };
        return requestJson(await submitServerRequest(ra, { serverId: params.id!, type: body.type, csr: body.csr, channel: 'rest', proof }));
      },
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/security-servers/{id}/requests/{rid}',
      summary: 'A request and, once issued, its certificate and chain (the request id is the capability)',
      tag: TAG,
      access: 'public',
      response: { status: 200, description: 'the request', schema: RequestSchema },
      errors: { 404: ['requestNotFound'] },
      handler: async ({ params }) => requestJson(await getServerRequest(ra, params.id!, params.rid!)),
    }),
    endpoint({
      method: 'get',
      path: '/api/v1/security-servers/{id}/requests',
      summary: "A server's requests",
      tag: TAG,
      access: 'server.read',
      query: z.object({ state: z.enum(['pending', 'issued', 'rejected']).optional() }).strict(),
      response: { status: 200, description: 'newest first', schema: z.object({ items: z.array(RequestSchema) }) },
      handler: async ({ principal, params, query }) => ({
        items: (await listRequests(ra, principal!, { serverId: params.id!.toLowerCase(), ...(query.state ? { state: query.state } : {}) })).map((r) =>
          requestJson({ request: r, certificatePem: null, chainPem: null }),
        ),
      }),
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/security-servers/{id}/requests/{rid}/approve',
      summary: 'Approve a request (with four-eyes configured, a second CA operator issues it)',
      tag: TAG,
      access: 'server.approve',
      response: { status: 200, description: 'the request after the approval', schema: RequestSchema },
      errors: { 409: ['invalidTransition', 'sameApprover'] },
      handler: async ({ principal, params }) => {
        await getServerRequest(ra, params.id!, params.rid!);
        return requestJson(await approveServerRequest(ra, principal!, params.rid!));
      },
    }),
    endpoint({
      method: 'post',
      path: '/api/v1/security-servers/{id}/requests/{rid}/reject',
      summary: 'Reject a request',
      tag: TAG,
      access: 'server.approve',
      body: ReasonBody,
      response: { status: 200, description: 'the rejected request', schema: RequestSchema },
      handler: async ({ principal, params, body }) => {
        await getServerRequest(ra, params.id!, params.rid!);
        return requestJson(await rejectServerRequest(ra, principal!, params.rid!, body.reason));
      },
    }),
  ];
}
