import os from 'node:os';
import { z } from 'zod';
import { parseCaAlgorithm } from '../ca/algorithms.js';
import { initHierarchy } from '../ca/hierarchy.js';
import { CMP_CA, ensureCmpSigner } from '../ca/cmp-signer.js';
import { issueCertificate } from '../ca/issue.js';
import { certificateHistory, certificateView, findCertificates, getCertificate, verifyAuditLog } from '../ca/queries.js';
import { reconcileReservations } from '../ca/reconcile.js';
import { bulkChangeStatus, changeCertificateStatus } from '../ca/status.js';
import type { CrlPublisher } from '../crl/publisher.js';
import type { CaDeps } from '../ca/deps.js';
import { HOLDER_FIELDS } from '../domain/holder.js';
import { CaError } from '../errors.js';
import { pemEncode } from '../x509/pem.js';
import type { RaDeps } from '../ra/deps.js';
import { addOffice, addOperator, disableOperator, getOffices, listOperators, OFFICE_KINDS } from '../ra/principals.js';
import { ROLES } from '../policy/roles.js';
import { localPrincipal } from '../ra/access.js';
import { issueItems } from '../ra/batches.js';
import {
  addMember,
  addServer,
  approveServerRequest,
  decommissionPreview,
  decommissionServer,
  getServers,
  listRequests,
  rejectServerRequest,
  renewEnrolment,
} from '../ra/security-servers.js';

/**
 * The operations the CLI offers, as data-in/data-out functions. The CLI runs them in-process, or,
 * while `eimza serve` holds the embedded database, sends them to the server's admin socket, which
 * runs the very same function: one implementation, two transports. File I/O stays in the CLI.
 */
export interface OperationContext {
  ca: CaDeps;
  ra: RaDeps;
  crl: CrlPublisher;
  defaults: { rootAlgorithm: string; issuingAlgorithm: string };
  /** Who asked (the local user for the CLI). */
  actor: string;
  progress: (message: string) => void;
}

/** The context of an operation run for `app`, with the configured algorithms unless given. */
export function operationContext(
  app: { ca: CaDeps; ra: RaDeps; crl: CrlPublisher; config: { ca: { rootAlgorithm: string; issuingAlgorithm: string } } },
  actor: string,
  progress: (message: string) => void = () => {},
  defaults: OperationContext['defaults'] = { rootAlgorithm: app.config.ca.rootAlgorithm, issuingAlgorithm: app.config.ca.issuingAlgorithm },
): OperationContext {
  return { ca: app.ca, ra: app.ra, crl: app.crl, defaults, actor, progress };
}

type Operation<I extends z.ZodType> = {
  input: I;
  run: (ctx: OperationContext, input: z.infer<I>) => Promise<unknown>;
};

function op<I extends z.ZodType>(input: I, run: (ctx: OperationContext, input: z.infer<I>) => Promise<unknown>): Operation<I> {
  return { input, run };
}

const isoDate = z.string().max(40).refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date');

const holderSchema = z
  .object(Object.fromEntries(HOLDER_FIELDS.map((f) => [f, z.string().max(200).optional()])) as Record<
    (typeof HOLDER_FIELDS)[number],
    z.ZodOptional<z.ZodString>
  >)
  .strict();

export const operations = {
  'ca.init': op(z.object({ rootAlgorithm: z.string().optional(), issuingAlgorithm: z.string().optional() }), async (ctx, i) => {
    const issuingAlgorithm = parseCaAlgorithm(i.issuingAlgorithm ?? ctx.defaults.issuingAlgorithm);
    const result = await initHierarchy(ctx.ca, {
      rootAlgorithm: parseCaAlgorithm(i.rootAlgorithm ?? ctx.defaults.rootAlgorithm),
      issuingAlgorithm,
      actor: ctx.actor,
      onProgress: ctx.progress,
    });
    ctx.progress(`${CMP_CA} CMP signer`);
    await ensureCmpSigner(ctx.ca, CMP_CA, issuingAlgorithm, ctx.actor);
    return result;
  }),

  'ca.list': op(z.object({}), async (ctx) => {
    const cas = await ctx.ca.cas.list();
    return cas.map((c) => ({
      name: c.record.name,
      kind: c.record.kind,
      parent: c.record.parentName,
      subject: c.certificate.subject,
      serial: c.record.certificateSerial,
      notAfter: c.certificate.notAfter.toISOString(),
      keyUri: c.record.keyUri,
      certificatePem: pemEncode('CERTIFICATE', c.certificateDer),
      chainPem: c.chainDer.map((d) => pemEncode('CERTIFICATE', d)).join(''),
      ocspSignerPem: c.ocspCertificateDer ? pemEncode('CERTIFICATE', c.ocspCertificateDer) : null,
    }));
  }),

  'cert.issue': op(
    z.object({
      profile: z.string(),
      csr: z.string().max(64 * 1024),
      holder: holderSchema,
      days: z.number().int().optional(),
      keyOnSecureDevice: z.boolean().optional(),
    }),
    async (ctx, i) => {
      const issued = await issueCertificate(ctx.ca, {
        profile: i.profile,
        csr: i.csr.startsWith('base64:') ? Buffer.from(i.csr.slice(7), 'base64') : i.csr,
        holder: i.holder,
        ...(i.days !== undefined ? { days: i.days } : {}),
        keyOnSecureDevice: i.keyOnSecureDevice ?? false,
        actor: ctx.actor,
      });
      return { serial: issued.serial, certificatePem: issued.pem, chainPem: issued.chainPem };
    },
  ),

  'cert.show': op(z.object({ serial: z.string() }), async (ctx, i) => {
    const record = await getCertificate(ctx.ca, i.serial);
    const history = await certificateHistory(ctx.ca, record.serial);
    return {
      ...certificateView(ctx.ca, record),
      certificatePem: record.der ? pemEncode('CERTIFICATE', record.der) : null,
      history: history.map((h) => ({ at: h.occurredAt.toISOString(), actor: h.actor, action: h.action })),
    };
  }),

  'cert.list': op(
    z.object({ status: z.enum(['reserved', 'active', 'suspended', 'revoked']).optional(), profile: z.string().optional(), limit: z.number().int().min(1).max(100000).optional() }),
    async (ctx, i) => {
      const records = await findCertificates(ctx.ca, {
        ...(i.status ? { status: i.status } : {}),
        ...(i.profile ? { profile: i.profile } : {}),
        limit: i.limit ?? 1000,
      });
      return records.map((r) => certificateView(ctx.ca, r));
    },
  ),

  'cert.suspend': op(z.object({ serial: z.string().max(100), comment: z.string().max(500).optional() }), async (ctx, i) =>
    certificateView(ctx.ca, await changeCertificateStatus(ctx.ca, 'suspend', { serial: i.serial, actor: ctx.actor, ...(i.comment ? { comment: i.comment } : {}) })),
  ),

  'cert.restore': op(z.object({ serial: z.string().max(100), comment: z.string().max(500).optional() }), async (ctx, i) =>
    certificateView(ctx.ca, await changeCertificateStatus(ctx.ca, 'restore', { serial: i.serial, actor: ctx.actor, ...(i.comment ? { comment: i.comment } : {}) })),
  ),

  'cert.revoke': op(
    z.object({ serial: z.string().max(100), reason: z.string().max(40).optional(), invalidityDate: isoDate.optional(), comment: z.string().max(500).optional() }),
    async (ctx, i) =>
      certificateView(
        ctx.ca,
        await changeCertificateStatus(ctx.ca, 'revoke', {
          serial: i.serial,
          actor: ctx.actor,
          reason: i.reason ?? 'unspecified',
          ...(i.invalidityDate ? { invalidityDate: new Date(i.invalidityDate) } : {}),
          ...(i.comment ? { comment: i.comment } : {}),
        }),
      ),
  ),

  'cert.bulk': op(
    z.object({
      action: z.enum(['suspend', 'revoke']),
      filter: z
        .object({
          office: z.string().max(100).optional(),
          operator: z.string().max(200).optional(),
          batch: z.string().max(200).optional(),
          fin: z.string().max(20).optional(),
          profile: z.string().max(40).optional(),
          ca: z.string().max(40).optional(),
          issuedFrom: isoDate.optional(),
          issuedTo: isoDate.optional(),
        })
        .strict(),
      reason: z.string().max(40).optional(),
      execute: z.boolean(),
      comment: z.string().max(500).optional(),
    }),
    async (ctx, i) => {
      let lastShown = 0;
      return bulkChangeStatus(ctx.ca, {
        action: i.action,
        filter: {
          ...(i.filter.office ? { officeCode: i.filter.office } : {}),
          ...(i.filter.operator ? { operator: i.filter.operator } : {}),
          ...(i.filter.batch ? { batch: i.filter.batch } : {}),
          ...(i.filter.fin ? { fin: i.filter.fin } : {}),
          ...(i.filter.profile ? { profile: i.filter.profile } : {}),
          ...(i.filter.ca ? { caName: i.filter.ca } : {}),
          ...(i.filter.issuedFrom ? { issuedFrom: new Date(i.filter.issuedFrom) } : {}),
          ...(i.filter.issuedTo ? { issuedTo: new Date(i.filter.issuedTo) } : {}),
        },
        ...(i.reason ? { reason: i.reason } : {}),
        execute: i.execute,
        actor: ctx.actor,
        ...(i.comment ? { comment: i.comment } : {}),
        onProgress: (done, total) => {
          if (done === total || done - lastShown >= Math.max(1, Math.floor(total / 100))) {
            lastShown = done;
            ctx.progress(`${done}/${total}`);
          }
        },
      });
    },
  ),

  'crl.publish': op(z.object({ ca: z.string().max(40).optional(), kind: z.enum(['full', 'delta', 'both']).optional() }), async (ctx, i) =>
    ctx.crl.publish({ ...(i.ca ? { caName: i.ca } : {}), kind: i.kind ?? 'both', actor: ctx.actor, onProgress: ctx.progress }),
  ),

  'audit.verify': op(z.object({}), async (ctx) => verifyAuditLog(ctx.ca, (n) => ctx.progress(`${n} events checked`))),

  'office.add': op(
    z.object({ code: z.string().max(40), kind: z.enum(OFFICE_KINDS), name: z.string().max(200), region: z.string().max(200).optional() }).strict(),
    async (ctx, i) => officeJson(await addOffice(ctx.ra, { ...i, actor: ctx.actor })),
  ),

  'office.list': op(z.object({}), async (ctx) => (await getOffices(ctx.ra)).map(officeJson)),

  'operator.add': op(z.object({ name: z.string().max(200), office: z.string().max(40), role: z.enum(ROLES) }).strict(), async (ctx, i) => {
    const { operator, token } = await addOperator(ctx.ra, { name: i.name, officeCode: i.office, role: i.role, actor: ctx.actor });
    return { ...operatorJson(operator), token };
  }),

  'operator.disable': op(z.object({ operator: z.string().max(200) }).strict(), async (ctx, i) =>
    operatorJson(await disableOperator(ctx.ra, { operator: i.operator, actor: ctx.actor })),
  ),

  'operator.list': op(z.object({ office: z.string().max(40).optional() }).strict(), async (ctx, i) =>
    (await listOperators(ctx.ra, i.office)).map(operatorJson),
  ),

  'member.add': op(
    z.object({ name: z.string().max(200), memberClass: z.string().max(20), code: z.string().max(20), contacts: z.array(z.string().max(254)).max(10).optional() }).strict(),
    async (ctx, i) => addMember(ctx.ra, localPrincipal(ctx.actor), i),
  ),

  'server.add': op(
    z.object({ member: z.string().max(20), code: z.string().max(100), dns: z.string().max(253), autoApprove: z.boolean().optional() }).strict(),
    async (ctx, i) => {
      const { server, enrolment } = await addServer(ctx.ra, localPrincipal(ctx.actor), { memberCode: i.member, serverCode: i.code, dnsName: i.dns, autoApprove: i.autoApprove ?? false });
      return { server, enrolment: { ...enrolment, expiresAt: enrolment.expiresAt.toISOString() } };
    },
  ),

  'server.enrolment': op(z.object({ server: z.string().max(40) }).strict(), async (ctx, i) => {
    const e = await renewEnrolment(ctx.ra, localPrincipal(ctx.actor), i.server);
    return { ...e, expiresAt: e.expiresAt.toISOString() };
  }),

  'server.list': op(z.object({ member: z.string().max(20).optional() }).strict(), async (ctx, i) => getServers(ctx.ra, localPrincipal(ctx.actor), i.member)),

  'server.requests': op(z.object({ server: z.string().max(40).optional(), state: z.enum(['pending', 'issued', 'rejected']).optional() }).strict(), async (ctx, i) =>
    (await listRequests(ctx.ra, localPrincipal(ctx.actor), { ...(i.server ? { serverId: i.server } : {}), ...(i.state ? { state: i.state } : {}) })).map(
      ({ csr: _csr, spkiSha256: _spki, ...r }) => r,
    ),
  ),

  'server.approve': op(z.object({ request: z.string().max(40) }).strict(), async (ctx, i) => {
    const v = await approveServerRequest(ctx.ra, localPrincipal(ctx.actor), i.request);
    const { csr: _csr, spkiSha256: _spki, ...request } = v.request;
    return { ...request, certificatePem: v.certificatePem };
  }),

  'server.reject': op(z.object({ request: z.string().max(40), reason: z.string().max(500) }).strict(), async (ctx, i) => {
    const { csr: _csr, spkiSha256: _spki, ...request } = (await rejectServerRequest(ctx.ra, localPrincipal(ctx.actor), i.request, i.reason)).request;
    return request;
  }),

  'server.decommission': op(z.object({ server: z.string().max(40), execute: z.boolean() }).strict(), async (ctx, i) =>
    i.execute ? decommissionServer(ctx.ra, localPrincipal(ctx.actor), i.server) : decommissionPreview(ctx.ra, localPrincipal(ctx.actor), i.server),
  ),

  'batch.issueItems': op(
    z
      .object({
        run: z.string().regex(/^[0-9a-f]{16,64}$/),
        items: z.array(z.object({ profile: z.string().max(40), holder: holderSchema, csr: z.string().max(16 * 1024) }).strict()).min(1).max(1000),
      })
      .strict(),
    async (ctx, i) =>
      (await issueItems(ctx.ra, `file:${i.run}`, ctx.actor, i.items)).map((o) =>
        'serial' in o ? { serial: o.serial } : { error: { code: o.errorCode, message: o.errorMessage } },
      ),
  ),

  'reconcile': op(z.object({}), async (ctx) => reconcileReservations(ctx.ca, ctx.actor)),
} as const;

function officeJson(o: Awaited<ReturnType<typeof getOffices>>[number]) {
  return { code: o.code, kind: o.kind, name: o.name, region: o.region, createdAt: o.createdAt.toISOString(), disabledAt: o.disabledAt?.toISOString() ?? null };
}

function operatorJson(o: Awaited<ReturnType<typeof listOperators>>[number]) {
  return {
    id: o.id,
    name: o.name,
    kind: o.kind,
    role: o.role,
    office: o.officeCode,
    createdAt: o.createdAt.toISOString(),
    createdBy: o.createdBy,
    disabledAt: o.disabledAt?.toISOString() ?? null,
  };
}

export type OperationName = keyof typeof operations;

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name);
}

export async function runOperation(ctx: OperationContext, name: string, rawInput: unknown): Promise<unknown> {
  if (!isOperationName(name)) throw new CaError('notFound', `no operation ${name}`, { code: 'unknownOperation' });
  const operation = operations[name] as Operation<z.ZodType>;
  const parsed = operation.input.safeParse(rawInput ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CaError('malformed', `${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`, { code: 'invalidInput' });
  }
  return operation.run(ctx, parsed.data);
}

export function localActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry (containers) */
  }
  return `cli:${user}@${os.hostname()}`;
}
