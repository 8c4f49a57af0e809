import { sql, type Kysely } from 'kysely';

/**
 * Frozen once landed. Security servers of the data-exchange layer (members, servers, one-time
 * enrolment references, certificate requests with their approvals) and mobile-ID enrolments
 * (MSISDN, SIM, activation code as a digest).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('member')
    // The member code is the organisation's VÖEN (X-Road serialNumber).
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('member_class', 'text', (c) => c.notNull())
    // Technical contacts' e-mail addresses: renewal reminders go there.
    .addColumn('contacts', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('security_server')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('member_code', 'text', (c) => c.notNull().references('member.code'))
    .addColumn('server_code', 'text', (c) => c.notNull())
    .addColumn('dns_name', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('active', 'decommissioned')`))
    // Requests carrying the enrolment secret are issued without an operator (test environments).
    .addColumn('auto_approve', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('decommissioned_at', 'timestamptz')
    .addUniqueConstraint('security_server_member_code', ['member_code', 'server_code'])
    .execute();

  await db.schema
    .createTable('enrolment')
    // The reference is public (CMP senderKID); the secret is derived from it with a key the
    // database never holds, so a database dump gives no one a way in.
    .addColumn('ref', 'text', (c) => c.primaryKey())
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('security_server.id'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('enrolment_server').on('enrolment').column('server_id').execute();

  await db.schema
    .createTable('server_request')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('security_server.id'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('signing', 'tls')`))
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('rest', 'cmp')`))
    .addColumn('csr', 'bytea', (c) => c.notNull())
    .addColumn('spki_sha256', 'bytea', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'issued', 'rejected')`))
    // [{by, at}], in order: a second approver is needed when four-eyes is configured.
    .addColumn('approvals', 'jsonb', (c) => c.notNull())
    .addColumn('serial', 'text', (c) => c.unique().references('certificate.serial'))
    .addColumn('reject_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('server_request_server').on('server_request').columns(['server_id', 'state']).execute();

  // The key that signs CMP responses for a CA (RFC 9483 §3.1), certified by that CA.
  await db.schema
    .createTable('cmp_signer')
    .addColumn('ca_name', 'text', (c) => c.primaryKey().references('ca.name'))
    .addColumn('key_uri', 'text', (c) => c.notNull())
    .addColumn('certificate_serial', 'text', (c) => c.notNull().references('certificate.serial'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mobile_id')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('application.id'))
    .addColumn('fin', 'text', (c) => c.notNull())
    .addColumn('msisdn', 'text', (c) => c.notNull())
    .addColumn('iccid', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'active', 'locked', 'replaced', 'revoked')`))
    // Only the digest of the activation code, which is short-lived and tried a limited number of times.
    .addColumn('activation_code_sha256', 'bytea')
    .addColumn('activation_expires_at', 'timestamptz')
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('authentication_serial', 'text', (c) => c.references('certificate.serial'))
    .addColumn('signature_serial', 'text', (c) => c.references('certificate.serial'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('activated_at', 'timestamptz')
    .execute();
  // One mobile-ID in progress or active per phone number.
  await sql`create unique index mobile_id_one_per_msisdn on mobile_id (msisdn) where state in ('pending', 'active')`.execute(db);
  await db.schema.createIndex('mobile_id_fin').on('mobile_id').column('fin').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mobile_id').execute();
  await db.schema.dropTable('cmp_signer').execute();
  await db.schema.dropTable('server_request').execute();
  await db.schema.dropTable('enrolment').execute();
  await db.schema.dropTable('security_server').execute();
  await db.schema.dropTable('member').execute();
}
