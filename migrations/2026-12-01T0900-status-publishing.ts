import { sql, type Kysely } from 'kysely';

/**
 * Frozen. Status publishing: the order of status changes (for delta CRLs), the CRL partition a
 * certificate was given at issuance, published CRLs, and pre-signed OCSP responses.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Every status change takes the next value, under the audit-chain lock, so the order of the
  // values is the order of the commits: a CRL records the highest value it saw, and the next
  // delta lists exactly the changes above it.
  await sql`create sequence certificate_status_seq`.execute(db);
  await db.schema.alterTable('certificate').addColumn('status_seq', 'bigint').execute();
  // '' = the whole CA; 'p<N>' = partition N (RFC 5280 §5.2.5), fixed at issuance with the CDP.
  await db.schema.alterTable('certificate').addColumn('crl_scope', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.createIndex('certificate_by_status_seq').on('certificate').columns(['ca_name', 'status_seq'])
    .where(sql.ref('status_seq'), 'is not', null).execute();

  await db.schema
    .createTable('crl')
    .addColumn('ca_name', 'text', (c) => c.notNull().references('ca.name'))
    .addColumn('scope', 'text', (c) => c.notNull())
    // Full and delta CRLs of one scope share one numbering (RFC 5280 §5.2.3).
    .addColumn('number', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('full', 'delta')`))
    .addColumn('base_number', 'bigint')
    .addColumn('status_seq_watermark', 'bigint', (c) => c.notNull())
    .addColumn('entry_count', 'integer', (c) => c.notNull())
    .addColumn('this_update', 'timestamptz', (c) => c.notNull())
    .addColumn('next_update', 'timestamptz', (c) => c.notNull())
    .addColumn('der', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('crl_pk', ['ca_name', 'scope', 'number'])
    .execute();

  await db.schema
    .createTable('ocsp_response')
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('ca_name', 'text', (c) => c.notNull())
    // The signed tbsResponseData and its signature; the responder certificate is appended when
    // served, so it is not stored once per certificate.
    .addColumn('response_data', 'bytea', (c) => c.notNull())
    .addColumn('signature', 'bytea', (c) => c.notNull())
    .addColumn('this_update', 'timestamptz', (c) => c.notNull())
    .addColumn('next_update', 'timestamptz', (c) => c.notNull())
    // The certificate's status_seq the answer was signed for: an answer for an older status never
    // replaces one for a newer (a slow first-request signing racing a status change).
    .addColumn('status_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('ocsp_response_pk', ['serial', 'hash'])
    .execute();
  await db.schema.createIndex('ocsp_response_this_update').on('ocsp_response').column('this_update').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ocsp_response').execute();
  await db.schema.dropTable('crl').execute();
  await db.schema.dropIndex('certificate_by_status_seq').execute();
  await db.schema.alterTable('certificate').dropColumn('crl_scope').execute();
  await db.schema.alterTable('certificate').dropColumn('status_seq').execute();
  await sql`drop sequence certificate_status_seq`.execute(db);
}
