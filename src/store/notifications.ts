import { sql, type Selectable } from 'kysely';
import type { Serial } from '../domain/serial.js';
import type { NotificationTable } from './schema.js';
import type { Executor } from './transaction.js';

type NotificationRow = Selectable<NotificationTable>;
export type NotificationState = NotificationTable['state'];

/** A rendered message for the outbox, queued in the transaction of the change it tells about. */
export interface NewNotification {
  id: string;
  createdAt: Date;
  recipient: string;
  template: string;
  subject: string;
  body: string;
  serial: string | null;
  applicationId: string | null;
  /** At most one message per key (e.g. 'expiry:<serial>'); null = no deduplication. */
  dedupeKey: string | null;
  nextAttemptAt: Date;
}

export interface NotificationRecord extends NewNotification {
  state: NotificationState;
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
}

/** Returns how many were queued: a message whose dedupe key is already taken is skipped. */
export async function insertNotifications(db: Executor, notifications: NewNotification[]): Promise<number> {
  if (notifications.length === 0) return 0;
  const result = await db
    .insertInto('notification')
    .values(
      notifications.map((n) => ({
        id: n.id,
        created_at: n.createdAt,
        recipient: n.recipient,
        template: n.template,
        subject: n.subject,
        body: n.body,
        serial: n.serial,
        application_id: n.applicationId,
        dedupe_key: n.dedupeKey,
        state: 'queued' as const,
        attempts: 0,
        next_attempt_at: n.nextAttemptAt,
        last_error: null,
        sent_at: null,
      })),
    )
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/**
 * Takes up to `limit` due messages for sending and hides them from every other sender until
 * `leaseUntil` (their next_attempt_at moves there), so the SMTP conversation happens outside any
 * transaction and no lock is held meanwhile. One statement, hence one transaction: rows another
 * node has locked are skipped (SKIP LOCKED), and a row it has just leased is no longer due when
 * re-checked, so two nodes never take the same message. A sender that dies mid-send loses its
 * lease and the message is due again at `leaseUntil` (at least once, never lost).
 */
export async function claimDueNotifications(db: Executor, now: Date, leaseUntil: Date, limit: number): Promise<NotificationRecord[]> {
  const { rows } = await sql<NotificationRow>`
    update notification n
       set next_attempt_at = ${leaseUntil}
      from (select id from notification
             where state = 'queued' and next_attempt_at <= ${now}
             order by next_attempt_at, created_at, id
             limit ${limit}
             for update skip locked) as due
     where n.id = due.id
    returning n.*`.execute(db);
  return rows.map(toRecord).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** After the SMTP server accepted the message. */
export async function markNotificationSent(db: Executor, id: string, at: Date): Promise<void> {
  await db
    .updateTable('notification')
    .set((eb) => ({ state: 'sent', sent_at: at, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .execute();
}

/** A failed attempt, to be tried again at `nextAttemptAt`. `error` is a short text, never a credential. */
export async function scheduleNotificationRetry(db: Executor, id: string, nextAttemptAt: Date, error: string): Promise<void> {
  await db
    .updateTable('notification')
    .set((eb) => ({ next_attempt_at: nextAttemptAt, last_error: error, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .execute();
}

/** The last attempt failed and no more are made; the row is kept for operators. */
export async function markNotificationFailed(db: Executor, id: string, error: string): Promise<void> {
  await db
    .updateTable('notification')
    .set((eb) => ({ state: 'failed', last_error: error, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .execute();
}

export interface NotificationFilter {
  recipient?: string;
  serial?: Serial | string;
  applicationId?: string;
  state?: NotificationState;
  template?: string;
  limit?: number;
}

/** For operators and tests, oldest first. */
export async function listNotifications(db: Executor, f: NotificationFilter = {}): Promise<NotificationRecord[]> {
  let q = db.selectFrom('notification').selectAll().orderBy('created_at').orderBy('id');
  if (f.recipient) q = q.where('recipient', '=', f.recipient);
  if (f.serial) q = q.where('serial', '=', f.serial);
  if (f.applicationId) q = q.where('application_id', '=', f.applicationId);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.template) q = q.where('template', '=', f.template);
  const rows = await q.limit(f.limit ?? 1000).execute();
  return rows.map(toRecord);
}

export async function countNotificationsByState(db: Executor): Promise<Record<NotificationState, number>> {
  const rows = await db
    .selectFrom('notification')
    .select(['state', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('state')
    .execute();
  const counts: Record<NotificationState, number> = { queued: 0, sent: 0, failed: 0 };
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}

/** Messages still to send (the queue-depth metric); the partial index notification_due covers exactly these rows. */
export async function countQueuedNotifications(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('notification')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('state', '=', 'queued')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface ExpiringCertificate {
  serial: Serial;
  notAfter: Date;
  holderSnapshot: unknown;
  profile: string;
}

export interface ExpiringQuery {
  now: Date;
  /** not_after in (now, until]. */
  until: Date;
  /** Skips certificates that already have a message with dedupe key `<prefix><serial>`. */
  withoutDedupePrefix?: string;
  /** Paging, in serial order. */
  afterSerial?: string;
  limit?: number;
}

/** Active certificates that expire after `now` and at or before `until` (the expiry-warning scan). */
export async function listExpiringCertificates(db: Executor, q: ExpiringQuery): Promise<ExpiringCertificate[]> {
  let query = db
    .selectFrom('certificate as c')
    .select(['c.serial', 'c.not_after', 'c.holder_snapshot', 'c.profile'])
    .where('c.status', '=', 'active')
    .where('c.not_after', '>', q.now)
    .where('c.not_after', '<=', q.until)
    .orderBy('c.serial')
    .limit(q.limit ?? 1000);
  if (q.afterSerial) query = query.where('c.serial', '>', q.afterSerial);
  const prefix = q.withoutDedupePrefix;
  if (prefix !== undefined) {
    query = query.where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('notification as n').select(sql`1`.as('one')).where('n.dedupe_key', '=', sql<string>`${prefix} || c.serial`))),
    );
  }
  const rows = await query.execute();
  return rows.map((r) => ({ serial: r.serial as Serial, notAfter: r.not_after, holderSnapshot: r.holder_snapshot, profile: r.profile }));
}

function toRecord(row: NotificationRow): NotificationRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    recipient: row.recipient,
    template: row.template,
    subject: row.subject,
    body: row.body,
    serial: row.serial,
    applicationId: row.application_id,
    dedupeKey: row.dedupe_key,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    sentAt: row.sent_at,
  };
}
