import { sql, type Kysely } from 'kysely';

/**
 * Frozen once landed. The registration authority: offices, operators and machine clients (bearer
 * tokens, stored as SHA-256), applications with their transitions and certificates, the replies
 * of idempotent requests, and the holder-notification outbox.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('office')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('post-office', 'asan', 'hq')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('region', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('disabled_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('operator')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    // 'person' = a clerk, supervisor, CA operator or auditor; 'machine' = a security server or the
    // personalisation centre. Roles are policy (src/policy/roles.ts), so no check here.
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('person', 'machine')`))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('office_code', 'text', (c) => c.notNull().references('office.code'))
    // Only the digest: a token is shown once, at creation.
    .addColumn('token_sha256', 'bytea', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('disabled_by', 'text')
    .execute();
  await db.schema.createIndex('operator_office').on('operator').column('office_code').execute();

  await db.schema
    .createTable('application')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('office_code', 'text', (c) => c.notNull().references('office.code'))
    // 'desk' = taken by a clerk; 'online' = a pre-order collected at the chosen office.
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('desk', 'online')`))
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('submitted', 'paid', 'approved', 'issued', 'handed-over', 'rejected', 'cancelled')`),
    )
    .addColumn('applicant_kind', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('holder_fin', 'text', (c) => c.notNull())
    .addColumn('voen', 'text')
    // Names, birth date, contact, organisation: what the desk recorded, as it recorded it.
    .addColumn('applicant', 'jsonb', (c) => c.notNull())
    .addColumn('id_document', 'jsonb')
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('carrier', 'text', (c) => c.notNull())
    .addColumn('validity_years', 'integer', (c) => c.notNull())
    // Minor units (qəpik): money is never a float.
    .addColumn('tariff_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('payment', 'jsonb')
    .addColumn('card_serial', 'text')
    .addColumn('card_batch', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('application_office_state').on('application').columns(['office_code', 'state', 'created_at']).execute();
  await db.schema.createIndex('application_holder').on('application').column('holder_fin').execute();
  // One open application per holder, product and organisation: a second is `duplicateApplication`.
  await sql`create unique index application_one_open on application (holder_fin, product, coalesce(voen, ''))
    where state in ('submitted', 'paid', 'approved', 'issued')`.execute(db);

  await db.schema
    .createTable('application_event')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('application.id'))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('application_event_application').on('application_event').column('application_id').execute();

  await db.schema
    .createTable('application_certificate')
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('application.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    // Null while claimed: the claim is taken before the CA signs, so two desks cannot issue the same type twice.
    .addColumn('serial', 'text', (c) => c.unique().references('certificate.serial'))
    .addColumn('claimed_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('application_certificate_pk', ['application_id', 'type'])
    .execute();

  await db.schema
    .createTable('idempotent_request')
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    // SHA-256 of method, path and body: the same key with another request is refused.
    .addColumn('fingerprint', 'bytea', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('started', 'done')`))
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotent_request_pk', ['principal', 'key'])
    .execute();
  await db.schema.createIndex('idempotent_request_created').on('idempotent_request').column('created_at').execute();

  await db.schema
    .createTable('notification')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    // Rendered when queued: the holder is told what was true at the change.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('serial', 'text')
    .addColumn('application_id', 'uuid')
    // e.g. 'expiry:<serial>': a reminder is queued once however often the scan runs.
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('queued', 'sent', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('notification_due').on('notification').column('next_attempt_at')
    .where(sql.ref('state'), '=', 'queued').execute();
  await db.schema.createIndex('notification_serial').on('notification').column('serial').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notification').execute();
  await db.schema.dropTable('idempotent_request').execute();
  await db.schema.dropTable('application_certificate').execute();
  await db.schema.dropTable('application_event').execute();
  await db.schema.dropTable('application').execute();
  await db.schema.dropTable('operator').execute();
  await db.schema.dropTable('office').execute();
}
