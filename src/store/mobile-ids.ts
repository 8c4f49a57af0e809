import { sql, type Selectable, type Updateable } from 'kysely';
import type { MobileIdRecord, MobileIdState } from '../domain/mobile-id.js';
import type { MobileIdTable } from './schema.js';
import type { Executor } from './transaction.js';

type Row = Selectable<MobileIdTable>;

/** A second pending or active enrolment of one MSISDN fails on mobile_id_one_per_msisdn (`duplicate`). */
export async function insertMobileId(db: Executor, m: MobileIdRecord): Promise<void> {
  await db
    .insertInto('mobile_id')
    .values({
      id: m.id,
      application_id: m.applicationId,
      fin: m.fin,
      msisdn: m.msisdn,
      iccid: m.iccid,
      state: m.state,
      activation_code_sha256: m.activationCodeSha256,
      activation_expires_at: m.activationExpiresAt,
      failed_attempts: m.failedAttempts,
      authentication_serial: m.authenticationSerial,
      signature_serial: m.signatureSerial,
      created_at: m.createdAt,
      created_by: m.createdBy,
      activated_at: m.activatedAt,
    })
    .execute();
}

export async function findMobileId(db: Executor, id: string, forUpdate = false): Promise<MobileIdRecord | null> {
  let q = db.selectFrom('mobile_id').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toMobileId(row) : null;
}

/** The enrolment of an MSISDN that is pending or active (at most one: the partial unique index). */
export async function findCurrentMobileId(db: Executor, msisdn: string, forUpdate = false): Promise<MobileIdRecord | null> {
  let q = db.selectFrom('mobile_id').selectAll().where('msisdn', '=', msisdn).where('state', 'in', ['pending', 'active']);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toMobileId(row) : null;
}

/**
 * What an activation from this MSISDN is about: its pending enrolment, else its newest active or
 * locked one (a lock is only lifted by a new enrolment at a desk).
 */
export async function findLatestMobileId(db: Executor, msisdn: string, forUpdate = false): Promise<MobileIdRecord | null> {
  let q = db
    .selectFrom('mobile_id')
    .selectAll()
    .where('msisdn', '=', msisdn)
    .where('state', 'in', ['pending', 'active', 'locked'])
    .orderBy(sql`state = 'pending'`, 'desc')
    .orderBy('created_at', 'desc')
    .limit(1);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toMobileId(row) : null;
}

export async function listMobileIdsOfApplication(db: Executor, applicationId: string, states: readonly MobileIdState[]): Promise<MobileIdRecord[]> {
  const rows = await db.selectFrom('mobile_id').selectAll().where('application_id', '=', applicationId).where('state', 'in', states).orderBy('created_at').execute();
  return rows.map(toMobileId);
}

export type MobileIdChange = Partial<
  Pick<MobileIdRecord, 'state' | 'activationCodeSha256' | 'activationExpiresAt' | 'failedAttempts' | 'authenticationSerial' | 'signatureSerial' | 'activatedAt'>
>;

export async function updateMobileId(db: Executor, id: string, change: MobileIdChange): Promise<void> {
  const set: Updateable<MobileIdTable> = {};
  if (change.state !== undefined) set.state = change.state;
  if (change.activationCodeSha256 !== undefined) set.activation_code_sha256 = change.activationCodeSha256;
  if (change.activationExpiresAt !== undefined) set.activation_expires_at = change.activationExpiresAt;
  if (change.failedAttempts !== undefined) set.failed_attempts = change.failedAttempts;
  if (change.authenticationSerial !== undefined) set.authentication_serial = change.authenticationSerial;
  if (change.signatureSerial !== undefined) set.signature_serial = change.signatureSerial;
  if (change.activatedAt !== undefined) set.activated_at = change.activatedAt;
  if (Object.keys(set).length === 0) return;
  await db.updateTable('mobile_id').set(set).where('id', '=', id).execute();
}

function toMobileId(row: Row): MobileIdRecord {
  return {
    id: row.id,
    applicationId: row.application_id,
    fin: row.fin,
    msisdn: row.msisdn,
    iccid: row.iccid,
    state: row.state,
    activationCodeSha256: row.activation_code_sha256 ? new Uint8Array(row.activation_code_sha256) : null,
    activationExpiresAt: row.activation_expires_at,
    failedAttempts: row.failed_attempts,
    authenticationSerial: row.authentication_serial,
    signatureSerial: row.signature_serial,
    createdAt: row.created_at,
    createdBy: row.created_by,
    activatedAt: row.activated_at,
  };
}
