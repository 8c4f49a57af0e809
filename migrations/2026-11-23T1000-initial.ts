import { sql, type Kysely } from 'kysely';

/**
 * Frozen. CA hierarchy, holders, certificates (with the reserved -> active cycle) and the
 * hash-chained audit log. Never edit a landed migration: add a new one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('holder')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // 'fin:<FIN>' for persons, 'member:<code>' for exchange-layer members: the stable identity
    // a certificate points at, so an identifier change never rewrites history.
    .addColumn('identity_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('certificate')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('ca_name', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('reserved', 'active', 'suspended', 'revoked')`),
    )
    .addColumn('holder_id', 'uuid', (c) => c.references('holder.id'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('spki_sha256', 'bytea', (c) => c.notNull())
    .addColumn('tbs', 'bytea', (c) => c.notNull())
    .addColumn('der', 'bytea')
    .addColumn('not_before', 'timestamptz', (c) => c.notNull())
    .addColumn('not_after', 'timestamptz', (c) => c.notNull())
    .addColumn('reserved_at', 'timestamptz', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz')
    .addColumn('status_changed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revocation_reason', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('invalidity_date', 'timestamptz')
    // Provenance (profiles.md: "which office, operator, device/card batch and key-generation
    // method produced it") so a bulk action is one query.
    .addColumn('office_code', 'text')
    .addColumn('operator', 'text')
    .addColumn('batch', 'text')
    .addColumn('key_generation', 'text')
    .addColumn('holder_snapshot', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('certificate_ca_status').on('certificate').columns(['ca_name', 'status']).execute();
  await db.schema.createIndex('certificate_holder').on('certificate').column('holder_id').execute();
  await db.schema.createIndex('certificate_spki').on('certificate').column('spki_sha256').execute();
  await db.schema.createIndex('certificate_status_reserved').on('certificate').column('reserved_at')
    .where(sql.ref('status'), '=', 'reserved').execute();

  await db.schema
    .createTable('ca')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('root', 'issuing')`))
    .addColumn('parent_name', 'text', (c) => c.references('ca.name'))
    .addColumn('key_uri', 'text', (c) => c.notNull())
    .addColumn('certificate_serial', 'text', (c) => c.notNull().references('certificate.serial'))
    .addColumn('ocsp_key_uri', 'text')
    .addColumn('ocsp_certificate_serial', 'text', (c) => c.references('certificate.serial'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_event')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('ca_name', 'text')
    .addColumn('serial', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'bytea', (c) => c.notNull())
    .addColumn('hash', 'bytea', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_event_serial').on('audit_event').column('serial').execute();
  // Append-only at the database too: an application bug cannot rewrite history; someone with DDL
  // rights can, which is what the hash chain is there to expose.
  await sql`
    create function audit_event_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_event is append-only' using errcode = '42501';
    end $$`.execute(db);
  await sql`
    create trigger audit_event_no_rewrite before update or delete on audit_event
    for each row execute function audit_event_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_event').execute();
  await sql`drop function if exists audit_event_append_only()`.execute(db);
  await db.schema.dropTable('ca').execute();
  await db.schema.dropTable('certificate').execute();
  await db.schema.dropTable('holder').execute();
}
