import { sql } from 'kysely';
import type { CertificateStatus, RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { lockAuditChain } from './audit.js';
import type { Executor } from './transaction.js';

/** What a CRL entry needs of a certificate row. */
export interface RevocationRow {
  serial: Serial;
  status: CertificateStatus;
  reason: RevocationReason | null;
  /** When it was revoked or suspended (for a restored certificate: when it was restored). */
  changedAt: Date;
  invalidityDate: Date | null;
}

export interface StoredCrl {
  caName: string;
  scope: string;
  number: bigint;
  kind: 'full' | 'delta';
  baseNumber: bigint | null;
  statusSeqWatermark: bigint;
  entryCount: number;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Uint8Array;
}

/**
 * The highest status_seq of a CA's certificates, read under the audit-chain lock: every status
 * change takes that lock before its status_seq and holds it to commit, so no change at or below
 * the watermark can still be in flight. Run it in a transaction of its own and commit at once.
 */
export async function crlWatermark(tx: Executor, caName: string): Promise<bigint> {
  await lockAuditChain(tx);
  const row = await tx
    .selectFrom('certificate')
    .select((eb) => eb.fn.max('status_seq').as('w'))
    .where('ca_name', '=', caName)
    .executeTakeFirst();
  return BigInt((row?.w as string | null | undefined) ?? 0);
}

const PAGE = 20_000;

/**
 * Every certificate of the scope that a full CRL lists: revoked or suspended and not yet expired
 * at `now` (RFC 5280 §3.3: an entry may go once the certificate expires), in pages by serial so a
 * million entries never sit in memory as rows at once.
 */
export async function* listRevoked(db: Executor, caName: string, scope: string, now: Date): AsyncGenerator<RevocationRow[]> {
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('certificate')
      .select(['serial', 'status', 'revocation_reason', 'revoked_at', 'status_changed_at', 'invalidity_date'])
      .where('ca_name', '=', caName)
      .$if(scope !== '', (q) => q.where('crl_scope', '=', scope))
      .where('status', 'in', ['revoked', 'suspended'])
      .where('not_after', '>', now)
      .where('serial', '>', after)
      .orderBy('serial')
      .limit(PAGE)
      .execute();
    if (rows.length === 0) return;
    yield rows.map(toRevocationRow);
    after = rows[rows.length - 1]!.serial;
    if (rows.length < PAGE) return;
  }
}

/** The certificates of the scope whose status changed after `watermark`: a delta CRL's contents. */
export async function listChangedSince(db: Executor, caName: string, scope: string, watermark: bigint, now: Date): Promise<RevocationRow[]> {
  const rows = await db
    .selectFrom('certificate')
    .select(['serial', 'status', 'revocation_reason', 'revoked_at', 'status_changed_at', 'invalidity_date'])
    .where('ca_name', '=', caName)
    .$if(scope !== '', (q) => q.where('crl_scope', '=', scope))
    .where('status_seq', '>', watermark.toString())
    .where('status', 'in', ['revoked', 'suspended', 'active'])
    .where('not_after', '>', now)
    .orderBy('serial')
    .execute();
  return rows.map(toRevocationRow);
}

function toRevocationRow(r: {
  serial: string;
  status: CertificateStatus;
  revocation_reason: string | null;
  revoked_at: Date | null;
  status_changed_at: Date;
  invalidity_date: Date | null;
}): RevocationRow {
  return {
    serial: r.serial as Serial,
    status: r.status,
    reason: r.revocation_reason as RevocationReason | null,
    changedAt: r.revoked_at ?? r.status_changed_at,
    invalidityDate: r.invalidity_date,
  };
}

/** The CRL scopes a CA's certificates were given at issuance ('' always exists). */
export async function listCrlScopes(db: Executor, caName: string): Promise<string[]> {
  const rows = await db.selectFrom('certificate').select('crl_scope').distinct().where('ca_name', '=', caName).execute();
  return [...new Set(['', ...rows.map((r) => r.crl_scope)])].sort();
}

export async function nextCrlNumber(db: Executor, caName: string, scope: string): Promise<bigint> {
  const row = await db
    .selectFrom('crl')
    .select((eb) => eb.fn.max('number').as('n'))
    .where('ca_name', '=', caName)
    .where('scope', '=', scope)
    .executeTakeFirst();
  return BigInt((row?.n as string | null | undefined) ?? 0) + 1n;
}

export async function insertCrl(db: Executor, crl: StoredCrl): Promise<void> {
  await db
    .insertInto('crl')
    .values({
      ca_name: crl.caName,
      scope: crl.scope,
      number: crl.number.toString(),
      kind: crl.kind,
      base_number: crl.baseNumber?.toString() ?? null,
      status_seq_watermark: crl.statusSeqWatermark.toString(),
      entry_count: crl.entryCount,
      this_update: crl.thisUpdate,
      next_update: crl.nextUpdate,
      der: crl.der,
    })
    .execute();
}

/** The newest CRL of a kind for a scope. */
export async function latestCrl(db: Executor, caName: string, scope: string, kind: 'full' | 'delta'): Promise<StoredCrl | undefined> {
  const row = await db
    .selectFrom('crl')
    .selectAll()
    .where('ca_name', '=', caName)
    .where('scope', '=', scope)
    .where('kind', '=', kind)
    .orderBy('number', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    caName: row.ca_name,
    scope: row.scope,
    number: BigInt(row.number),
    kind: row.kind,
    baseNumber: row.base_number === null ? null : BigInt(row.base_number),
    statusSeqWatermark: BigInt(row.status_seq_watermark),
    entryCount: row.entry_count,
    thisUpdate: row.this_update,
    nextUpdate: row.next_update,
    der: row.der,
  };
}

/** Old CRLs beyond the newest `keep` of each scope and kind: they are history, not needed to serve. */
export async function pruneCrls(db: Executor, caName: string, keep: number): Promise<void> {
  await sql`
    delete from crl c using (
      select ca_name, scope, number, row_number() over (partition by ca_name, scope, kind order by number desc) as rank
        from crl where ca_name = ${caName}
    ) r
    where c.ca_name = r.ca_name and c.scope = r.scope and c.number = r.number and r.rank > ${keep}`.execute(db);
}
