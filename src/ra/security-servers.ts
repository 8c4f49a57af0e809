import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { issueCertificate } from '../ca/issue.js';
import { getCertificate } from '../ca/queries.js';
import { changeCertificateStatus } from '../ca/status.js';
import { isExpired } from '../domain/certificate.js';
import type { Holder } from '../domain/holder.js';
import { CaError, isTransient } from '../errors.js';
import { validateEmail } from '../policy/applicants.js';
import { validateDnsName, validateMemberClass, validateVoen } from '../policy/identifiers.js';
import { checkKeyPolicy } from '../policy/key-policy.js';
import { checkRequestedSubject, SERVER_PROFILES, validateServerCode, type ServerCertificateType } from '../policy/security-servers.js';
import { isKeyCertified } from '../store/certificates.js';
import {
  countEnrolmentFailure,
  expireEnrolments,
  findEnrolment,
  findMember,
  findServer,
  findServerRequest,
  insertEnrolment,
  insertMember,
  insertServer,
  insertServerRequest,
  isKeyPending,
  listMembers,
  listServerRequests,
  listServers,
  markServerDecommissioned,
  serverCertificateSerials,
  findServerIdBySerial,
  updateServerRequest,
  type MemberRecord,
  type ServerRecord,
  type ServerRequestRecord,
} from '../store/security-servers.js';
import { inTransaction } from '../store/transaction.js';
import { parseCsrAsync } from '../x509/csr.js';
import { verifyDetachedSignature } from '../x509/detached-signature.js';
import { inspectCertificate } from '../x509/inspect.js';
import { decodePemOrDer, pemEncode } from '../x509/pem.js';
import { actorOf, authorize, type Principal } from './access.js';
import type { RaDeps } from './deps.js';

/**
 * Security servers of the data-exchange layer (issue 5): members and their servers are registered
 * by a CA operator; a server then asks for its signing and TLS certificates itself, proving who it
 * is with a one-time enrolment secret the first time and with its current certificate after that.
 */

// ---- members and servers -------------------------------------------------------------------------

export async function addMember(ra: RaDeps, p: Principal, input: { name: string; memberClass: string; code: string; contacts?: string[] }): Promise<MemberRecord> {
  authorize(p, 'member.manage');
  const name = input.name.trim().replace(/\s+/g, ' ');
  if (!name || [...name].length > 64) throw new CaError('malformed', 'member name must be 1 to 64 characters', { code: 'invalidMemberName' });
  const member: MemberRecord = {
    code: validateVoen(input.code, ra.ca.settings, 'legal'),
    name,
    memberClass: validateMemberClass(input.memberClass, ra.ca.settings),
    contacts: (input.contacts ?? []).map(validateEmail),
    createdAt: ra.ca.clock.now(),
    createdBy: actorOf(p),
  };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    if (await findMember(tx, member.code)) throw new CaError('conflict', `member ${member.code} is registered`, { code: 'memberExists' });
    await insertMember(tx, member);
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'member.added', details: { code: member.code, name, memberClass: member.memberClass } }]);
  });
  return member;
}

export interface Enrolment {
  ref: string;
  /** Shown once, to be handed to the server's administrator out of band. */
  secret: string;
  expiresAt: Date;
}

export async function addServer(
  ra: RaDeps,
  p: Principal,
  input: { memberCode: string; serverCode: string; dnsName: string; autoApprove?: boolean },
): Promise<{ server: ServerRecord; enrolment: Enrolment }> {
  authorize(p, 'member.manage');
  const now = ra.ca.clock.now();
  const server: ServerRecord = {
    id: randomUUID(),
    memberCode: input.memberCode.trim(),
    serverCode: validateServerCode(input.serverCode),
    dnsName: validateDnsName(input.dnsName),
    state: 'active',
    autoApprove: input.autoApprove ?? false,
    createdAt: now,
    createdBy: actorOf(p),
    decommissionedAt: null,
  };
  const enrolment = newEnrolmentValues(ra, now);
  try {
    await inTransaction(ra.ca.db, async ({ tx }) => {
      if (!(await findMember(tx, server.memberCode))) throw new CaError('notFound', `no member ${server.memberCode}`, { code: 'memberNotFound' });
      await insertServer(tx, server);
      await insertEnrolment(tx, { ref: enrolment.ref, serverId: server.id, expiresAt: enrolment.expiresAt, createdAt: now });
      await appendAudit(tx, ra.ca.clock, [
        {
          actor: actorOf(p),
          action: 'securityServer.added',
          details: { id: server.id, member: server.memberCode, server: server.serverCode, dnsName: server.dnsName, autoApprove: server.autoApprove, enrolment: enrolment.ref },
        },
      ]);
    });
  } catch (e) {
    if (e instanceof CaError && e.code === 'duplicate') {
      throw new CaError('conflict', `${server.memberCode} already has a server ${server.serverCode}`, { code: 'serverExists' });
    }
    throw e;
  }
  return { server, enrolment };
}

/** A fresh reference and secret for a server (the old ones end now). */
export async function renewEnrolment(ra: RaDeps, p: Principal, serverId: string): Promise<Enrolment> {
  authorize(p, 'member.manage');
  const now = ra.ca.clock.now();
  const enrolment = newEnrolmentValues(ra, now);
  await inTransaction(ra.ca.db, async ({ tx }) => {
    const server = await activeServer(tx, serverId);
    await expireEnrolments(tx, server.id, now);
    await insertEnrolment(tx, { ref: enrolment.ref, serverId: server.id, expiresAt: enrolment.expiresAt, createdAt: now });
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'securityServer.enrolmentIssued', details: { id: server.id, enrolment: enrolment.ref } }]);
  });
  return enrolment;
}

function newEnrolmentValues(ra: RaDeps, now: Date): Enrolment {
  const ref = `E${randomBytes(9).toString('base64url')}`;
  return { ref, secret: enrolmentSecret(ra, ref), expiresAt: new Date(now.getTime() + ra.exchange.enrolmentValidityHours * 3_600_000) };
}

/**
 * The secret of a reference: HMAC of the reference under the enrolment key, which lives in a
 * file, not in the database. Every node with the key can check a secret (and key a CMP MAC).
 */
export function enrolmentSecret(ra: Pick<RaDeps, 'exchange'>, ref: string): string {
  return createHmac('sha256', ra.exchange.enrolmentKey).update(`enrolment:${ref}`).digest('base64url').slice(0, 24);
}

/** After this many wrong secrets a reference is dead; the operator issues a new one. */
const MAX_SECRET_FAILURES = 5;

/**
 * Checks a reference and its secret (REST) or just the reference (CMP, whose MAC the caller checks
 * with enrolmentSecret). Wrong secrets are counted; every failure is the same 401 to the caller.
 */
export async function authenticateEnrolment(
  ra: RaDeps,
  ref: string,
  secret: string | null,
  /** CMP's certConf for the certificate that spent the enrolment comes just after it: a short grace. */
  options: { endedGraceMs?: number } = {},
): Promise<{ serverId: string; ref: string }> {
  const denied = new CaError('unauthorized', 'the enrolment reference or secret is not valid', { code: 'invalidEnrolment' });
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(ref)) throw denied;
  const enrolment = await findEnrolment(ra.ca.db, ref);
  const now = ra.ca.clock.now();
  const endsAt = enrolment ? enrolment.expiresAt.getTime() + (options.endedGraceMs ?? 0) : 0;
  if (!enrolment || enrolment.usedAt || endsAt <= now.getTime() || enrolment.failedAttempts >= MAX_SECRET_FAILURES) throw denied;
  if (secret !== null) {
    const expected = Buffer.from(enrolmentSecret(ra, ref));
    const given = Buffer.from(secret);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      await enrolmentFailed(ra, ref);
      throw denied;
    }
  }
  return { serverId: enrolment.serverId, ref };
}

export async function enrolmentFailed(ra: RaDeps, ref: string): Promise<void> {
  await inTransaction(ra.ca.db, ({ tx }) => countEnrolmentFailure(tx, ref));
}

// ---- certificate requests ------------------------------------------------------------------------

export type ServerProof =
  | { kind: 'enrolment'; ref: string; secret: string | null }
  /** Renewal: the server's current valid certificate, and its signature over the CSR (DER). */
  | { kind: 'certificate'; certificate: Uint8Array; signature: Uint8Array }
  /** The caller (CMP) already verified a MAC keyed with this reference's secret, or a signature by this certificate. */
  | { kind: 'verified'; ref?: string; serial?: string };

export interface ServerRequestInput {
  serverId: string;
  type: ServerCertificateType;
  csr: Uint8Array | string;
  channel: 'rest' | 'cmp';
  proof: ServerProof;
}

export interface ServerRequestView {
  request: ServerRequestRecord;
  certificatePem: string | null;
  chainPem: string | null;
}

/**
 * A server's request for a certificate: proof of who it is, the CSR checked (proof of possession,
 * key policy, subject against the registration, key never certified nor asked for before), then
 * stored `pending` — or issued at once when the server was registered with auto-approval.
 */
export async function submitServerRequest(ra: RaDeps, input: ServerRequestInput): Promise<ServerRequestView> {
  const server = await activeServer(ra.ca.db, input.serverId);
  const renewal = await checkProof(ra, server, input);
  const member = (await findMember(ra.ca.db, server.memberCode))!;
  const csr = await parseCsrAsync(typeof input.csr === 'string' ? csrBytes(input.csr) : input.csr, (key) => checkKeyPolicy(key, ra.ca.settings.keyPolicy));
  checkRequestedSubject(input.type, { memberName: member.name, memberClass: member.memberClass, memberCode: member.code, dnsName: server.dnsName }, csr.subject);
  const spkiSha256 = createHash('sha256').update(csr.subjectPublicKeyInfo).digest();
  if ((await isKeyCertified(ra.ca.db, spkiSha256)) || (await isKeyPending(ra.ca.db, spkiSha256))) {
    throw new CaError('conflict', 'this public key is already certified or requested; generate a new key pair', { code: 'keyAlreadyUsed' });
  }
  const now = ra.ca.clock.now();
  const request: ServerRequestRecord = {
    id: randomUUID(),
    serverId: server.id,
    type: input.type,
    channel: input.channel,
    csr: csr.der,
    spkiSha256,
    state: 'pending',
    approvals: [],
    serial: null,
    rejectReason: null,
    createdAt: now,
    decidedAt: null,
  };
  const actor = `security-server:${server.memberCode}/${server.serverCode}`;
  await inTransaction(ra.ca.db, async ({ tx }) => {
    await insertServerRequest(tx, request);
    await appendAudit(tx, ra.ca.clock, [
      { actor, action: 'serverRequest.submitted', details: { id: request.id, server: server.id, type: input.type, channel: input.channel, proof: input.proof.kind, renewal } },
    ]);
  });
  if (server.autoApprove && input.proof.kind !== 'certificate') return issueRequest(ra, request, server, member, 'auto-approval');
  return { request, certificatePem: null, chainPem: null };
}

function csrBytes(text: string): Uint8Array | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return trimmed;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(trimmed)) throw new CaError('malformed', 'csr must be PEM or base64 DER', { code: 'malformedCsr' });
  return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64');
}

/** Returns whether this is a renewal (proved with a current certificate). */
async function checkProof(ra: RaDeps, server: ServerRecord, input: ServerRequestInput): Promise<boolean> {
  const proof = input.proof;
  if (proof.kind === 'enrolment') {
    const enrolment = await authenticateEnrolment(ra, proof.ref, proof.secret);
    if (enrolment.serverId !== server.id) throw new CaError('unauthorized', 'the enrolment reference or secret is not valid', { code: 'invalidEnrolment' });
    return false;
  }
  if (proof.kind === 'verified') return Boolean(proof.serial);
  const info = inspectCertificate(proof.certificate);
  const current = await getCertificate(ra.ca, info.serial).catch(() => null);
  const ours = (await serverCertificateSerials(ra.ca.db, server.id)).includes(info.serial);
  if (!current || !ours || current.status !== 'active' || isExpired(current, ra.ca.clock.now()) || !current.der || !Buffer.from(current.der).equals(Buffer.from(proof.certificate))) {
    throw new CaError('unauthorized', "renewal needs one of this server's current, valid certificates", { code: 'invalidRenewalCertificate' });
  }
  const csrDer = typeof input.csr === 'string' ? decodePemOrDer(csrBytes(input.csr)) : input.csr;
  if (!verifyDetachedSignature(info.subjectPublicKeySpki, csrDer, proof.signature)) {
    throw new CaError('unauthorized', "the signature over the CSR does not verify with the certificate's key", { code: 'invalidRenewalSignature' });
  }
  return true;
}

/** An operator's approval; with four-eyes configured, the second approver (another person) issues. */
export async function approveServerRequest(ra: RaDeps, p: Principal, requestId: string): Promise<ServerRequestView> {
  authorize(p, 'server.approve');
  const now = ra.ca.clock.now();
  const needed = ra.exchange.fourEyes ? 2 : 1;
  const decided = await inTransaction(ra.ca.db, async ({ tx }) => {
    const r = await pendingRequest(tx, requestId);
    if (r.approvals.some((a) => a.by === p.id)) {
      throw new CaError('conflict', 'this operator already approved the request; a second operator must', { code: 'sameApprover' });
    }
    r.approvals.push({ by: p.id, at: now.toISOString() });
    // The approval that completes the count claims the issuance (decidedAt), so two approvals
    // arriving together cannot both issue.
    const complete = r.approvals.length >= needed;
    if (complete) r.decidedAt = now;
    await updateServerRequest(tx, r);
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'serverRequest.approved', details: { id: r.id, approvals: r.approvals.length, of: needed } }]);
    return complete ? r : null;
  });
  if (!decided) return requestView(ra, (await findServerRequest(ra.ca.db, requestId))!);
  const server = (await findServer(ra.ca.db, decided.serverId))!;
  return issueRequest(ra, decided, server, (await findMember(ra.ca.db, server.memberCode))!, actorOf(p));
}

export async function rejectServerRequest(ra: RaDeps, p: Principal, requestId: string, reason: string): Promise<ServerRequestView> {
  authorize(p, 'server.approve');
  const r = await inTransaction(ra.ca.db, async ({ tx }) => {
    const r = await pendingRequest(tx, requestId);
    r.state = 'rejected';
    r.rejectReason = reason.trim().slice(0, 500);
    r.decidedAt = ra.ca.clock.now();
    await updateServerRequest(tx, r);
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'serverRequest.rejected', details: { id: r.id, reason: r.rejectReason } }]);
    return r;
  });
  return { request: r, certificatePem: null, chainPem: null };
}

async function pendingRequest(tx: Parameters<typeof findServerRequest>[0], requestId: string): Promise<ServerRequestRecord> {
  const r = /^[0-9a-f-]{36}$/i.test(requestId) ? await findServerRequest(tx, requestId.toLowerCase(), true) : null;
  if (!r) throw new CaError('notFound', `no request ${requestId.slice(0, 40)}`, { code: 'requestNotFound' });
  if (r.state !== 'pending' || r.decidedAt) throw new CaError('invalidTransition', `the request is ${r.decidedAt && r.state === 'pending' ? 'being issued' : r.state}`, { code: 'invalidTransition' });
  return r;
}

/** Issues through the CA core; a failure (the key was certified meanwhile…) puts the request back. */
async function issueRequest(
  ra: RaDeps,
  r: ServerRequestRecord,
  server: ServerRecord,
  member: MemberRecord,
  actor: string,
  key: string | Uint8Array | { provenPublicKey: Uint8Array } = r.csr,
): Promise<ServerRequestView> {
  const holder: Holder = {
    memberName: member.name,
    memberClass: member.memberClass,
    memberCode: member.code,
    dnsName: server.dnsName,
    // Notices (issued, expiring) go to the member's first technical contact.
    ...(member.contacts[0] ? { email: member.contacts[0] } : {}),
  };
  let issued;
  try {
    issued = await issueCertificate(ra.ca, {
      profile: SERVER_PROFILES[r.type],
      csr: key,
      holder,
      actor,
      provenance: { operator: actor, batch: `server:${server.id}`, keyGeneration: 'server' },
      refuseKnownKey: true,
    });
  } catch (e) {
    await inTransaction(ra.ca.db, async ({ tx }) => {
      const current = (await findServerRequest(tx, r.id, true))!;
      current.decidedAt = null;
      if (e instanceof CaError && e.kind !== 'internal' && !isTransient(e)) {
        current.state = 'rejected';
        current.rejectReason = `${e.code}: ${e.detail}`.slice(0, 500);
        current.decidedAt = ra.ca.clock.now();
      }
      await updateServerRequest(tx, current);
    });
    throw e;
  }
  const done = await inTransaction(ra.ca.db, async ({ tx }) => {
    const current = (await findServerRequest(tx, r.id, true))!;
    current.state = 'issued';
    current.serial = issued.serial;
    current.decidedAt = ra.ca.clock.now();
    await updateServerRequest(tx, current);
    await appendAudit(tx, ra.ca.clock, [{ actor, action: 'serverRequest.issued', serial: issued.serial, details: { id: r.id, server: server.id, type: r.type } }]);
    return current;
  });
  await markEnrolmentUsedWhenComplete(ra, server.id);
  return { request: done, certificatePem: issued.pem, chainPem: issued.chainPem };
}

/** A server's enrolment is spent once it holds both a signing and a TLS certificate. */
async function markEnrolmentUsedWhenComplete(ra: RaDeps, serverId: string): Promise<void> {
  const issued = await listServerRequests(ra.ca.db, { serverId, state: 'issued', limit: 100 });
  if (!issued.some((r) => r.type === 'signing') || !issued.some((r) => r.type === 'tls')) return;
  const now = ra.ca.clock.now();
  await inTransaction(ra.ca.db, ({ tx }) => expireEnrolments(tx, serverId, now));
}

export async function getServerRequest(ra: RaDeps, serverId: string, requestId: string): Promise<ServerRequestView> {
  const r = /^[0-9a-f-]{36}$/i.test(requestId) ? await findServerRequest(ra.ca.db, requestId.toLowerCase()) : null;
  if (!r || r.serverId !== serverId.toLowerCase()) throw new CaError('notFound', `no request ${requestId.slice(0, 40)}`, { code: 'requestNotFound' });
  return requestView(ra, r);
}

async function requestView(ra: RaDeps, r: ServerRequestRecord): Promise<ServerRequestView> {
  if (!r.serial) return { request: r, certificatePem: null, chainPem: null };
  const record = await getCertificate(ra.ca, r.serial);
  const ca = await ra.ca.cas.get(record.caName);
  return { request: r, certificatePem: pemEncode('CERTIFICATE', record.der!), chainPem: ca.chainDer.map((d) => pemEncode('CERTIFICATE', d)).join('') };
}

export async function listRequests(ra: RaDeps, p: Principal, f: { serverId?: string; state?: ServerRequestRecord['state'] }): Promise<ServerRequestRecord[]> {
  authorize(p, 'server.read');
  return listServerRequests(ra.ca.db, { ...f, limit: 500 });
}

export async function getServers(ra: RaDeps, p: Principal, memberCode?: string): Promise<{ members: MemberRecord[]; servers: ServerRecord[] }> {
  authorize(p, 'server.read');
  return { members: await listMembers(ra.ca.db), servers: await listServers(ra.ca.db, memberCode) };
}

export async function getServer(ra: RaDeps, p: Principal, serverId: string): Promise<ServerRecord> {
  authorize(p, 'server.read');
  return activeOrAnyServer(ra, serverId);
}

/** What decommissioning would revoke: the server's certificates that are still valid. */
export async function decommissionPreview(ra: RaDeps, p: Principal, serverId: string): Promise<{ server: ServerRecord; wouldRevoke: string[] }> {
  authorize(p, 'member.manage');
  const server = await activeServer(ra.ca.db, serverId);
  const now = ra.ca.clock.now();
  const wouldRevoke: string[] = [];
  for (const serial of await serverCertificateSerials(ra.ca.db, server.id)) {
    const record = await getCertificate(ra.ca, serial);
    if (record.status !== 'revoked' && !isExpired(record, now)) wouldRevoke.push(serial);
  }
  return { server, wouldRevoke };
}

/** Takes a server out of the exchange layer: its certificates are revoked (cessationOfOperation). */
export async function decommissionServer(ra: RaDeps, p: Principal, serverId: string): Promise<{ server: ServerRecord; revoked: string[] }> {
  authorize(p, 'member.manage');
  const now = ra.ca.clock.now();
  const server = await inTransaction(ra.ca.db, async ({ tx }) => {
    const s = await activeServer(tx, serverId);
    await markServerDecommissioned(tx, s.id, now);
    await expireEnrolments(tx, s.id, now);
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'securityServer.decommissioned', details: { id: s.id } }]);
    return { ...s, state: 'decommissioned' as const, decommissionedAt: now };
  });
  const revoked: string[] = [];
  for (const serial of await serverCertificateSerials(ra.ca.db, server.id)) {
    const record = await getCertificate(ra.ca, serial);
    if (record.status === 'revoked' || isExpired(record, now)) continue;
    await changeCertificateStatus(ra.ca, 'revoke', { serial, actor: actorOf(p), reason: 'cessationOfOperation', comment: `server ${server.id} decommissioned` });
    revoked.push(serial);
  }
  return { server, revoked };
}

async function activeServer(db: Parameters<typeof findServer>[0], serverId: string): Promise<ServerRecord> {
  const s = /^[0-9a-f-]{36}$/i.test(serverId) ? await findServer(db, serverId.toLowerCase()) : null;
  if (!s) throw new CaError('notFound', `no security server ${serverId.slice(0, 40)}`, { code: 'serverNotFound' });
  if (s.state !== 'active') throw new CaError('invalidTransition', 'the security server is decommissioned', { code: 'serverDecommissioned' });
  return s;
}

async function activeOrAnyServer(ra: RaDeps, serverId: string): Promise<ServerRecord> {
  const s = /^[0-9a-f-]{36}$/i.test(serverId) ? await findServer(ra.ca.db, serverId.toLowerCase()) : null;
  if (!s) throw new CaError('notFound', `no security server ${serverId.slice(0, 40)}`, { code: 'serverNotFound' });
  return s;
}


// ---- CMP (RFC 4210, lightweight profile RFC 9483) ---------------------------------------------------

/** What a CMP request asks for, after its protection and proof of possession were checked by cmp.ts. */
export interface CmpCertificateRequest {
  serverId: string;
  type: ServerCertificateType;
  /** p10cr: the PKCS#10 DER; ir/cr/kur: the CRMF CertRequest DER, its template's key and subject. */
  request: { kind: 'p10cr'; csr: Uint8Array } | { kind: 'crmf'; certRequest: Uint8Array; publicKey: Uint8Array; subject: { shortName: string; value: string }[] };
  proof: 'enrolment-secret' | 'current-certificate';
}

/**
 * CMP issues at once: the MAC keyed with the one-time secret (or the signature of the server's
 * current certificate) is the operator's approval, given when the server was registered; CMP has
 * no pending state short of polling. Where every request needs two approvers (four-eyes), servers
 * use the REST flow and CMP refuses initial enrolment.
 */
export async function issueOverCmp(ra: RaDeps, c: CmpCertificateRequest): Promise<{ serial: string; der: Uint8Array; chainDer: Uint8Array[] }> {
  if (ra.exchange.fourEyes && c.proof === 'enrolment-secret') {
    throw new CaError('forbidden', 'this CA needs two approvers for a first certificate; use the REST request', { code: 'notAuthorized' });
  }
  const server = await activeServer(ra.ca.db, c.serverId);
  const member = (await findMember(ra.ca.db, server.memberCode))!;
  let subject: { shortName: string; value: string }[];
  let spki: Uint8Array;
  let stored: Uint8Array;
  if (c.request.kind === 'p10cr') {
    const csr = await parseCsrAsync(c.request.csr, (key) => checkKeyPolicy(key, ra.ca.settings.keyPolicy));
    subject = csr.subject;
    spki = csr.subjectPublicKeyInfo;
    stored = csr.der;
  } else {
    subject = c.request.subject;
    spki = c.request.publicKey;
    stored = c.request.certRequest;
  }
  checkRequestedSubject(c.type, { memberName: member.name, memberClass: member.memberClass, memberCode: member.code, dnsName: server.dnsName }, subject);
  const spkiSha256 = createHash('sha256').update(spki).digest();
  if ((await isKeyCertified(ra.ca.db, spkiSha256)) || (await isKeyPending(ra.ca.db, spkiSha256))) {
    throw new CaError('conflict', 'this public key is already certified or requested; generate a new key pair', { code: 'keyAlreadyUsed' });
  }
  const now = ra.ca.clock.now();
  const actor = `security-server:${server.memberCode}/${server.serverCode}`;
  const request: ServerRequestRecord = {
    id: randomUUID(),
    serverId: server.id,
    type: c.type,
    channel: 'cmp',
    csr: stored,
    spkiSha256,
    state: 'pending',
    approvals: [{ by: c.proof, at: now.toISOString() }],
    serial: null,
    rejectReason: null,
    createdAt: now,
    // Claimed for issuance at once (see approveServerRequest).
    decidedAt: now,
  };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    await insertServerRequest(tx, request);
    await appendAudit(tx, ra.ca.clock, [{ actor, action: 'serverRequest.submitted', details: { id: request.id, server: server.id, type: c.type, channel: 'cmp', proof: c.proof } }]);
  });
  const view = await issueRequest(ra, request, server, member, actor, c.request.kind === 'p10cr' ? c.request.csr : { provenPublicKey: spki });
  const record = await getCertificate(ra.ca, view.request.serial!);
  const ca = await ra.ca.cas.get(record.caName);
  return { serial: record.serial, der: record.der!, chainDer: ca.chainDer };
}

/** The server a certificate belongs to, if it is one of ours, current and valid (CMP signature protection, kur, rr). */
export async function serverOfCertificate(ra: RaDeps, certificateDer: Uint8Array): Promise<{ serverId: string; type: ServerCertificateType; serial: string }> {
  const denied = new CaError('unauthorized', 'the certificate is not a current certificate of a registered security server', { code: 'signerNotTrusted' });
  let serial: string;
  try {
    serial = inspectCertificate(certificateDer).serial;
  } catch {
    throw denied;
  }
  const owner = await findServerIdBySerial(ra.ca.db, serial);
  const record = owner ? await getCertificate(ra.ca, serial).catch(() => null) : null;
  if (!owner || !record?.der || !Buffer.from(record.der).equals(Buffer.from(certificateDer)) || record.status !== 'active' || isExpired(record, ra.ca.clock.now())) {
    throw denied;
  }
  return { serverId: owner.serverId, type: owner.type, serial };
}

/** rr: a server revokes one of its own certificates. */
export async function revokeOwnCertificate(ra: RaDeps, serverId: string, serial: string, reason: string | null): Promise<void> {
  const owner = await findServerIdBySerial(ra.ca.db, serial);
  if (!owner || owner.serverId !== serverId) throw new CaError('notFound', 'not a certificate of this server', { code: 'badCertId' });
  const server = (await findServer(ra.ca.db, serverId))!;
  await changeCertificateStatus(ra.ca, 'revoke', {
    serial,
    actor: `security-server:${server.memberCode}/${server.serverCode}`,
    reason: reason && reason !== 'certificateHold' && reason !== 'removeFromCRL' ? reason : 'unspecified',
    comment: 'CMP revocation request',
  });
}

/** The server's certificates (DER), for matching a certConf's certHash. */
export async function serverCertificates(ra: RaDeps, serverId: string): Promise<{ serial: string; der: Uint8Array }[]> {
  const out: { serial: string; der: Uint8Array }[] = [];
  for (const serial of await serverCertificateSerials(ra.ca.db, serverId)) {
    const r = await getCertificate(ra.ca, serial);
    if (r.der) out.push({ serial, der: r.der });
  }
  return out;
}
