import { sql, type Selectable } from 'kysely';
import type { Applicant, ApplicationRecord, ApplicationState, Payment } from '../domain/application.js';
import type { ApplicationTable } from './schema.js';
import type { Executor } from './transaction.js';

type Row = Selectable<ApplicationTable>;

interface PaymentJson {
  amountMinor: string;
  currency: string;
  receipt: string;
  method: Payment['method'];
  at: string;
  by: string;
}

export async function insertApplication(db: Executor, a: ApplicationRecord): Promise<void> {
  await db
    .insertInto('application')
    .values({
      id: a.id,
      office_code: a.officeCode,
      channel: a.channel,
      state: a.state,
      applicant_kind: a.applicant.kind,
      category: a.category,
      holder_fin: a.applicant.fin,
      voen: a.applicant.voen,
      applicant: JSON.stringify(a.applicant),
      id_document: a.idDocument ? JSON.stringify(a.idDocument) : null,
      product: a.product,
      carrier: a.carrier,
      validity_years: a.validityYears,
      tariff_minor: a.tariffMinor.toString(),
      currency: a.currency,
      payment: a.payment ? JSON.stringify(paymentJson(a.payment)) : null,
      card_serial: a.card?.serialNumber ?? null,
      card_batch: a.card?.batch ?? null,
      created_by: a.createdBy,
      created_at: a.createdAt,
      updated_at: a.updatedAt,
    })
    .execute();
}

/** Every field a transition may change, written back in one statement. */
export async function updateApplication(db: Executor, a: ApplicationRecord): Promise<void> {
  await db
    .updateTable('application')
    .set({
      state: a.state,
      id_document: a.idDocument ? JSON.stringify(a.idDocument) : null,
      payment: a.payment ? JSON.stringify(paymentJson(a.payment)) : null,
      card_serial: a.card?.serialNumber ?? null,
      card_batch: a.card?.batch ?? null,
      updated_at: a.updatedAt,
    })
    .where('id', '=', a.id)
    .execute();
}

export async function findApplication(db: Executor, id: string, forUpdate = false): Promise<ApplicationRecord | null> {
  let q = db.selectFrom('application').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toApplication(row) : null;
}

export interface ApplicationFilter {
  officeCode?: string;
  state?: ApplicationState;
  fin?: string;
  /** Keyset paging: applications created before this one (created_at, id). */
  before?: { createdAt: Date; id: string };
  limit: number;
}

export async function listApplications(db: Executor, f: ApplicationFilter): Promise<ApplicationRecord[]> {
  let q = db.selectFrom('application').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit);
  if (f.officeCode) q = q.where('office_code', '=', f.officeCode);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.fin) q = q.where('holder_fin', '=', f.fin);
  if (f.before) {
    const { createdAt, id } = f.before;
    q = q.where(sql<boolean>`(created_at, id) < (${createdAt}, ${id}::uuid)`);
  }
  return (await q.execute()).map(toApplication);
}

export interface ApplicationEvent {
  occurredAt: Date;
  actor: string;
  action: string;
  fromState: string | null;
  toState: string;
  details: unknown;
}

export async function insertApplicationEvent(db: Executor, applicationId: string, e: ApplicationEvent): Promise<void> {
  await db
    .insertInto('application_event')
    .values({
      application_id: applicationId,
      occurred_at: e.occurredAt,
      actor: e.actor,
      action: e.action,
      from_state: e.fromState,
      to_state: e.toState,
      details: JSON.stringify(e.details ?? {}),
    })
    .execute();
}

export async function listApplicationEvents(db: Executor, applicationId: string): Promise<ApplicationEvent[]> {
  const rows = await db.selectFrom('application_event').selectAll().where('application_id', '=', applicationId).orderBy('id').execute();
  return rows.map((r) => ({ occurredAt: r.occurred_at, actor: r.actor, action: r.action, fromState: r.from_state, toState: r.to_state, details: r.details }));
}

export interface ApplicationCertificate {
  type: string;
  serial: string | null;
  claimedAt: Date;
  status: string | null;
}

export async function listApplicationCertificates(db: Executor, applicationId: string): Promise<ApplicationCertificate[]> {
  const rows = await db
    .selectFrom('application_certificate as ac')
    .leftJoin('certificate as c', 'c.serial', 'ac.serial')
    .select(['ac.type', 'ac.serial', 'ac.claimed_at', 'c.status'])
    .where('ac.application_id', '=', applicationId)
    .orderBy('ac.claimed_at')
    .execute();
  return rows.map((r) => ({ type: r.type, serial: r.serial, claimedAt: r.claimed_at, status: r.status ?? null }));
}

/**
 * Claims a certificate type of an application before the CA signs (one claim per type: the
 * primary key). A claim still without a serial and older than `staleBefore` was left by a
 * crash or a failed issuance and is taken over. Returns false when the type is taken.
 */
export async function claimCertificateType(db: Executor, applicationId: string, type: string, at: Date, staleBefore: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('application_certificate')
    .values({ application_id: applicationId, type, serial: null, claimed_at: at })
    .onConflict((oc) =>
      oc
        .columns(['application_id', 'type'])
        .doUpdateSet({ claimed_at: at })
        .where('application_certificate.serial', 'is', null)
        .where('application_certificate.claimed_at', '<', staleBefore),
    )
    .returning('type')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function completeClaim(db: Executor, applicationId: string, type: string, serial: string): Promise<void> {
  await db.updateTable('application_certificate').set({ serial }).where('application_id', '=', applicationId).where('type', '=', type).execute();
}

export async function releaseClaim(db: Executor, applicationId: string, type: string): Promise<void> {
  await db.deleteFrom('application_certificate').where('application_id', '=', applicationId).where('type', '=', type).where('serial', 'is', null).execute();
}

export interface StatisticsRow {
  category: string;
  officeCode: string;
  month: string;
  issued: number;
  active: number;
}

/**
 * Certificates issued through the desks, by holder category, office and month of issue, with how
 * many of them are active now (not suspended, revoked or expired): the national bulletin's table.
 */
export async function certificateStatistics(db: Executor, f: { officeCode?: string; from?: Date; to?: Date; now: Date }): Promise<StatisticsRow[]> {
  let q = db
    .selectFrom('application_certificate as ac')
    .innerJoin('application as a', 'a.id', 'ac.application_id')
    .innerJoin('certificate as c', 'c.serial', 'ac.serial')
    .select([
      'a.category',
      'a.office_code',
      sql<string>`to_char(date_trunc('month', c.issued_at at time zone 'UTC'), 'YYYY-MM')`.as('month'),
      sql<string>`count(*)`.as('issued'),
      sql<string>`count(*) filter (where c.status = 'active' and c.not_after > ${f.now})`.as('active'),
    ])
    .where('c.issued_at', 'is not', null)
    .groupBy(['a.category', 'a.office_code', sql`3`])
    .orderBy(sql`3`)
    .orderBy('a.office_code')
    .orderBy('a.category');
  if (f.officeCode) q = q.where('a.office_code', '=', f.officeCode);
  if (f.from) q = q.where('c.issued_at', '>=', f.from);
  if (f.to) q = q.where('c.issued_at', '<', f.to);
  const rows = await q.execute();
  return rows.map((r) => ({ category: r.category, officeCode: r.office_code, month: r.month, issued: Number(r.issued), active: Number(r.active) }));
}

function paymentJson(p: Payment): PaymentJson {
  return { amountMinor: p.amountMinor.toString(), currency: p.currency, receipt: p.receipt, method: p.method, at: p.at.toISOString(), by: p.by };
}

function toApplication(row: Row): ApplicationRecord {
  const payment = row.payment as PaymentJson | null;
  return {
    id: row.id,
    officeCode: row.office_code,
    channel: row.channel,
    state: row.state as ApplicationState,
    applicant: row.applicant as Applicant,
    category: row.category as ApplicationRecord['category'],
    idDocument: (row.id_document as ApplicationRecord['idDocument']) ?? null,
    product: row.product as ApplicationRecord['product'],
    carrier: row.carrier as ApplicationRecord['carrier'],
    validityYears: row.validity_years,
    tariffMinor: BigInt(row.tariff_minor),
    currency: row.currency,
    payment: payment
      ? { amountMinor: BigInt(payment.amountMinor), currency: payment.currency, receipt: payment.receipt, method: payment.method, at: new Date(payment.at), by: payment.by }
      : null,
    card: row.card_serial ? { serialNumber: row.card_serial, batch: row.card_batch } : null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
