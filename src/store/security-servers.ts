import type { Selectable } from 'kysely';
import type { MemberTable, SecurityServerTable, ServerRequestTable } from './schema.js';
import type { Executor } from './transaction.js';

export interface MemberRecord {
  code: string;
  name: string;
  memberClass: string;
  contacts: string[];
  createdAt: Date;
  createdBy: string;
}

export interface ServerRecord {
  id: string;
  memberCode: string;
  serverCode: string;
  dnsName: string;
  state: 'active' | 'decommissioned';
  autoApprove: boolean;
  createdAt: Date;
  createdBy: string;
  decommissionedAt: Date | null;
}

export interface ServerRequestRecord {
  id: string;
  serverId: string;
  type: 'signing' | 'tls';
  channel: 'rest' | 'cmp';
  csr: Uint8Array;
  spkiSha256: Uint8Array;
  state: 'pending' | 'issued' | 'rejected';
  approvals: { by: string; at: string }[];
  serial: string | null;
  rejectReason: string | null;
  createdAt: Date;
  decidedAt: Date | null;
}

export interface EnrolmentRecord {
  ref: string;
  serverId: string;
  expiresAt: Date;
  usedAt: Date | null;
  failedAttempts: number;
}

export async function insertMember(db: Executor, m: MemberRecord): Promise<void> {
  await db
    .insertInto('member')
    .values({ code: m.code, name: m.name, member_class: m.memberClass, contacts: JSON.stringify(m.contacts), created_at: m.createdAt, created_by: m.createdBy })
    .execute();
}

export async function findMember(db: Executor, code: string): Promise<MemberRecord | null> {
  const r = await db.selectFrom('member').selectAll().where('code', '=', code).executeTakeFirst();
  return r ? toMember(r) : null;
}

export async function listMembers(db: Executor): Promise<MemberRecord[]> {
  return (await db.selectFrom('member').selectAll().orderBy('code').execute()).map(toMember);
}

export async function insertServer(db: Executor, s: ServerRecord): Promise<void> {
  await db
    .insertInto('security_server')
    .values({
      id: s.id,
      member_code: s.memberCode,
      server_code: s.serverCode,
      dns_name: s.dnsName,
      state: s.state,
      auto_approve: s.autoApprove,
      created_at: s.createdAt,
      created_by: s.createdBy,
      decommissioned_at: null,
    })
    .execute();
}

export async function findServer(db: Executor, id: string, forUpdate = false): Promise<ServerRecord | null> {
  let q = db.selectFrom('security_server').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r ? toServer(r) : null;
}

export async function listServers(db: Executor, memberCode?: string): Promise<ServerRecord[]> {
  let q = db.selectFrom('security_server').selectAll().orderBy('member_code').orderBy('server_code');
  if (memberCode) q = q.where('member_code', '=', memberCode);
  return (await q.execute()).map(toServer);
}

export async function markServerDecommissioned(db: Executor, id: string, at: Date): Promise<void> {
  await db.updateTable('security_server').set({ state: 'decommissioned', decommissioned_at: at }).where('id', '=', id).execute();
}

export async function insertEnrolment(db: Executor, e: { ref: string; serverId: string; expiresAt: Date; createdAt: Date }): Promise<void> {
  await db.insertInto('enrolment').values({ ref: e.ref, server_id: e.serverId, expires_at: e.expiresAt, used_at: null, failed_attempts: 0, created_at: e.createdAt }).execute();
}

export async function findEnrolment(db: Executor, ref: string, forUpdate = false): Promise<EnrolmentRecord | null> {
  let q = db.selectFrom('enrolment').selectAll().where('ref', '=', ref);
  if (forUpdate) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r ? { ref: r.ref, serverId: r.server_id, expiresAt: r.expires_at, usedAt: r.used_at, failedAttempts: r.failed_attempts } : null;
}

export async function countEnrolmentFailure(db: Executor, ref: string): Promise<void> {
  await db.updateTable('enrolment').set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) })).where('ref', '=', ref).execute();
}

/** Every other enrolment of the server ends when a new one is made: one secret in circulation. */
export async function expireEnrolments(db: Executor, serverId: string, at: Date): Promise<void> {
  await db.updateTable('enrolment').set({ expires_at: at }).where('server_id', '=', serverId).where('expires_at', '>', at).execute();
}

export async function insertServerRequest(db: Executor, r: ServerRequestRecord): Promise<void> {
  await db
    .insertInto('server_request')
    .values({
      id: r.id,
      server_id: r.serverId,
      type: r.type,
      channel: r.channel,
      csr: r.csr,
      spki_sha256: r.spkiSha256,
      state: r.state,
      approvals: JSON.stringify(r.approvals),
      serial: r.serial,
      reject_reason: r.rejectReason,
      created_at: r.createdAt,
      decided_at: r.decidedAt,
    })
    .execute();
}

export async function updateServerRequest(db: Executor, r: ServerRequestRecord): Promise<void> {
  await db
    .updateTable('server_request')
    .set({ state: r.state, approvals: JSON.stringify(r.approvals), serial: r.serial, reject_reason: r.rejectReason, decided_at: r.decidedAt })
    .where('id', '=', r.id)
    .execute();
}

export async function findServerRequest(db: Executor, id: string, forUpdate = false): Promise<ServerRequestRecord | null> {
  let q = db.selectFrom('server_request').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r ? toRequest(r) : null;
}

export async function listServerRequests(db: Executor, f: { serverId?: string; state?: ServerRequestRecord['state']; limit: number }): Promise<ServerRequestRecord[]> {
  let q = db.selectFrom('server_request').selectAll().orderBy('created_at', 'desc').limit(f.limit);
  if (f.serverId) q = q.where('server_id', '=', f.serverId);
  if (f.state) q = q.where('state', '=', f.state);
  return (await q.execute()).map(toRequest);
}

/** Whether another pending request of any server already asks for this key. */
export async function isKeyPending(db: Executor, spkiSha256: Uint8Array): Promise<boolean> {
  const r = await db.selectFrom('server_request').select('id').where('spki_sha256', '=', spkiSha256).where('state', '=', 'pending').limit(1).executeTakeFirst();
  return r !== undefined;
}

/** The serials of a server's issued certificates (decommissioning revokes them). */
export async function serverCertificateSerials(db: Executor, serverId: string): Promise<string[]> {
  const rows = await db.selectFrom('server_request').select('serial').where('server_id', '=', serverId).where('serial', 'is not', null).execute();
  return rows.map((r) => r.serial!);
}

function toMember(r: Selectable<MemberTable>): MemberRecord {
  return { code: r.code, name: r.name, memberClass: r.member_class, contacts: r.contacts as string[], createdAt: r.created_at, createdBy: r.created_by };
}

function toServer(r: Selectable<SecurityServerTable>): ServerRecord {
  return {
    id: r.id,
    memberCode: r.member_code,
    serverCode: r.server_code,
    dnsName: r.dns_name,
    state: r.state,
    autoApprove: r.auto_approve,
    createdAt: r.created_at,
    createdBy: r.created_by,
    decommissionedAt: r.decommissioned_at,
  };
}

function toRequest(r: Selectable<ServerRequestTable>): ServerRequestRecord {
  return {
    id: r.id,
    serverId: r.server_id,
    type: r.type,
    channel: r.channel,
    csr: r.csr,
    spkiSha256: r.spki_sha256,
    state: r.state,
    approvals: r.approvals as { by: string; at: string }[],
    serial: r.serial,
    rejectReason: r.reject_reason,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
  };
}

/** The server a certificate was issued to, through its requests. */
export async function findServerIdBySerial(db: Executor, serial: string): Promise<{ serverId: string; type: 'signing' | 'tls' } | null> {
  const r = await db.selectFrom('server_request').select(['server_id', 'type']).where('serial', '=', serial).executeTakeFirst();
  return r ? { serverId: r.server_id, type: r.type } : null;
}
