import { sql, type Kysely } from 'kysely';

/**
 * Frozen once landed. Bulk issuance for ID-card personalisation: a batch of up to 1,000 requests,
 * each item answered on its own (a certificate or an error code). The work itself is queued on the
 * job queue (pg-boss, in its own schema).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batch')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('principal', 'text', (c) => c.notNull())
    // The client's own id: the same id again is the same batch (idempotent submission).
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('batch_principal_client_id', ['principal', 'client_id'])
    .execute();

  await db.schema
    .createTable('batch_item')
    .addColumn('batch_id', 'uuid', (c) => c.notNull().references('batch.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('holder', 'jsonb', (c) => c.notNull())
    .addColumn('csr', 'text', (c) => c.notNull())
    .addColumn('card_number', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('queued', 'issued', 'failed')`))
    .addColumn('serial', 'text', (c) => c.references('certificate.serial'))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('finished_at', 'timestamptz')
    // A worker claims an item before it signs: a second worker (the job retried after the first
    // was presumed dead) skips it until the lease runs out.
    .addColumn('claimed_until', 'timestamptz')
    .addPrimaryKeyConstraint('batch_item_pk', ['batch_id', 'seq'])
    .addUniqueConstraint('batch_item_id', ['batch_id', 'item_id'])
    .execute();
  await db.schema.createIndex('batch_item_queued').on('batch_item').columns(['batch_id', 'seq']).where(sql.ref('state'), '=', 'queued').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('batch_item').execute();
  await db.schema.dropTable('batch').execute();
}
