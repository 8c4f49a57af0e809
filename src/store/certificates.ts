import { sql, type Selectable } from 'kysely';
import type { CertificateRecord, CertificateStatus, Provenance, RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import type { CertificateTable } from './schema.js';
import { lockAuditChain } from './audit.js';
import type { Executor } from './transaction.js';

type CertificateRow = Selectable<CertificateTable>;

export interface NewReservation {
  serial: Serial;
  caName: string;
  profile: string;
  crlScope: string;
  holderId: string | null;
  subject: string;
  spkiSha256: Uint8Array;
  tbs: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  reservedAt: Date;
  provenance: Provenance;
  holderSnapshot: unknown;
}

/** Step 3 of the issuance cycle: serials and the exact bytes to be signed, before signing. */
export async function insertReservations(db: Executor, reservations: NewReservation[]): Promise<void> {
  if (reservations.length === 0) return;
  await db
    .insertInto('certificate')
    .values(
      reservations.map((r) => ({
        serial: r.serial,
        ca_name: r.caName,
        profile: r.profile,
        crl_scope: r.crlScope,
        status: 'reserved' as const,
        holder_id: r.holderId,
        subject: r.subject,
        spki_sha256: r.spkiSha256,
        tbs: r.tbs,
        der: null,
        not_before: r.notBefore,
        not_after: r.notAfter,
        reserved_at: r.reservedAt,
        issued_at: null,
        status_changed_at: r.reservedAt,
        office_code: r.provenance.officeCode ?? null,
        operator: r.provenance.operator ?? null,
        batch: r.provenance.batch ?? null,
        key_generation: r.provenance.keyGeneration ?? null,
        holder_snapshot: JSON.stringify(r.holderSnapshot ?? null),
      })),
    )
    .execute();
}

/**
 * Step 5: reserved -> active with the signed bytes, for many certificates in one statement.
 * Returns the serials that were still reserved (a serial missing from the answer was resolved by
 * the reconciler meanwhile and must not be resurrected).
 */
export async function markIssued(db: Executor, issued: { serial: Serial; der: Uint8Array }[], at: Date): Promise<Set<string>> {
  if (issued.length === 0) return new Set();
  // Arrays as text (DER as hex): both node-postgres and PGlite send those the same way.
  const { rows } = await sql<{ serial: string }>`
    update certificate c
       set status = 'active', der = decode(s.der_hex, 'hex'), issued_at = ${at}, status_changed_at = ${at}
      from unnest(${issued.map((i) => i.serial)}::text[], ${issued.map((i) => Buffer.from(i.der).toString('hex'))}::text[]) as s(serial, der_hex)
     where c.serial = s.serial and c.status = 'reserved'
    returning c.serial`.execute(db);
  return new Set(rows.map((r) => r.serial));
}

export interface StatusChange {
  serial: Serial;
  from: CertificateStatus;
  to: CertificateStatus;
  at: Date;
  reason: RevocationReason | null;
  revokedAt: Date | null;
  invalidityDate: Date | null;
}

/**
 * Compare-and-set on the status, so two concurrent changes cannot both win. Takes the audit-chain
 * lock first and then the next status_seq: status changes commit in status_seq order, which is
 * what lets a delta CRL list exactly the changes after its base (see crlWatermark). Returns the
 * new status_seq, or null when the status was no longer `from`.
 */
export async function changeStatus(tx: Executor, c: StatusChange): Promise<bigint | null> {
  await lockAuditChain(tx);
  const row = await tx
    .updateTable('certificate')
    .set({
      status: c.to,
      status_changed_at: c.at,
      revocation_reason: c.reason,
      revoked_at: c.revokedAt,
      invalidity_date: c.invalidityDate,
      status_seq: sql<string>`nextval('certificate_status_seq')`,
    })
    .where('serial', '=', c.serial)
    .where('status', '=', c.from)
    .returning('status_seq')
    .executeTakeFirst();
  return row ? BigInt(row.status_seq!) : null;
}

/** The row, locked until the end of the transaction (a status change reads, decides, writes). */
export async function findCertificateForUpdate(tx: Executor, serial: Serial): Promise<CertificateRecord | undefined> {
  const row = await tx.selectFrom('certificate').selectAll().where('serial', '=', serial).forUpdate().executeTakeFirst();
  return row && toRecord(row);
}

export async function findCertificate(db: Executor, serial: Serial): Promise<CertificateRecord | undefined> {
  const row = await db.selectFrom('certificate').selectAll().where('serial', '=', serial).executeTakeFirst();
  return row && toRecord(row);
}

/** Several certificates by serial in one query (those that exist). */
export async function findCertificatesBySerial(db: Executor, serials: Serial[]): Promise<Map<string, CertificateRecord>> {
  if (serials.length === 0) return new Map();
  const rows = await db.selectFrom('certificate').selectAll().where('serial', 'in', serials).execute();
  return new Map(rows.map((r) => [r.serial, toRecord(r)]));
}

export interface CertificateFilter {
  status?: CertificateStatus;
  statuses?: CertificateStatus[];
  profile?: string;
  caName?: string;
  officeCode?: string;
  operator?: string;
  batch?: string;
  /** The holder's stable identity key ('fin:<FIN>'). */
  holderIdentityKey?: string;
  issuedFrom?: Date;
  issuedTo?: Date;
  limit?: number;
  afterSerial?: Serial;
}

export async function listCertificates(db: Executor, f: CertificateFilter): Promise<CertificateRecord[]> {
  let q = db.selectFrom('certificate').selectAll('certificate').orderBy('certificate.serial');
  if (f.status) q = q.where('certificate.status', '=', f.status);
  if (f.statuses) q = q.where('certificate.status', 'in', f.statuses);
  if (f.profile) q = q.where('certificate.profile', '=', f.profile);
  if (f.caName) q = q.where('certificate.ca_name', '=', f.caName);
  if (f.officeCode) q = q.where('certificate.office_code', '=', f.officeCode);
  if (f.operator) q = q.where('certificate.operator', '=', f.operator);
  if (f.batch) q = q.where('certificate.batch', '=', f.batch);
  if (f.issuedFrom) q = q.where('certificate.issued_at', '>=', f.issuedFrom);
  if (f.issuedTo) q = q.where('certificate.issued_at', '<', f.issuedTo);
  if (f.holderIdentityKey) {
    q = q.innerJoin('holder', 'holder.id', 'certificate.holder_id').where('holder.identity_key', '=', f.holderIdentityKey);
  }
  if (f.afterSerial) q = q.where('certificate.serial', '>', f.afterSerial);
  const rows = await q.limit(f.limit ?? 1000).execute();
  return rows.map(toRecord);
}

/** Reservations older than `before`: issuance that never completed (crash between sign and store). */
export async function listStaleReservations(db: Executor, before: Date): Promise<CertificateRecord[]> {
  const rows = await db
    .selectFrom('certificate')
    .selectAll()
    .where('status', '=', 'reserved')
    .where('reserved_at', '<', before)
    .orderBy('reserved_at')
    .execute();
  return rows.map(toRecord);
}

export async function countByStatus(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('certificate')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

function toRecord(row: CertificateRow): CertificateRecord {
  return {
    serial: row.serial as Serial,
    caName: row.ca_name,
    profile: row.profile,
    status: row.status,
    holderId: row.holder_id,
    subject: row.subject,
    spkiSha256: row.spki_sha256,
    tbs: row.tbs,
    der: row.der,
    notBefore: row.not_before,
    notAfter: row.not_after,
    reservedAt: row.reserved_at,
    issuedAt: row.issued_at,
    statusChangedAt: row.status_changed_at,
    revocationReason: row.revocation_reason as RevocationReason | null,
    revokedAt: row.revoked_at,
    invalidityDate: row.invalidity_date,
    provenance: {
      ...(row.office_code ? { officeCode: row.office_code } : {}),
      ...(row.operator ? { operator: row.operator } : {}),
      ...(row.batch ? { batch: row.batch } : {}),
      ...(row.key_generation ? { keyGeneration: row.key_generation } : {}),
    },
    holderSnapshot: row.holder_snapshot,
    crlScope: row.crl_scope,
    statusSeq: BigInt(row.status_seq ?? 0),
  };
}

/** Whether any certificate (reserved ones included) already certifies this public key. */
export async function isKeyCertified(db: Executor, spkiSha256: Uint8Array): Promise<boolean> {
  const row = await db.selectFrom('certificate').select('serial').where('spki_sha256', '=', spkiSha256).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** What a public list of suspended and revoked certificates says of each: no holder, no provenance. */
export type CertificateStatusEntry = Pick<
  CertificateRecord,
  'serial' | 'caName' | 'profile' | 'status' | 'statusChangedAt' | 'revocationReason' | 'revokedAt' | 'invalidityDate' | 'notAfter'
>;

export interface StatusEntryFilter {
  caName: string;
  statuses: CertificateStatus[];
  /** Only certificates whose notAfter is after this (a CRL leaves expired ones out, RFC 5280 §3.3). */
  validAt: Date;
  /** Keyset paging: serials greater than this one, in serial order. */
  afterSerial?: Serial;
  limit: number;
}

/**
 * One page of a CA's certificates in the given statuses, ordered by serial: only the columns a
 * public list shows (never the DER, the TBS, the holder snapshot or where it was issued).
 */
export async function listStatusEntries(db: Executor, f: StatusEntryFilter): Promise<CertificateStatusEntry[]> {
  if (f.statuses.length === 0) return [];
  let q = db
    .selectFrom('certificate')
    .select(['serial', 'ca_name', 'profile', 'status', 'status_changed_at', 'revocation_reason', 'revoked_at', 'invalidity_date', 'not_after'])
    .where('ca_name', '=', f.caName)
    .where('status', 'in', f.statuses)
    .where('not_after', '>', f.validAt);
  if (f.afterSerial) q = q.where('serial', '>', f.afterSerial);
  const rows = await q.orderBy('serial').limit(f.limit).execute();
  return rows.map((r) => ({
    serial: r.serial as Serial,
    caName: r.ca_name,
    profile: r.profile,
    status: r.status,
    statusChangedAt: r.status_changed_at,
    revocationReason: r.revocation_reason as RevocationReason | null,
    revokedAt: r.revoked_at,
    invalidityDate: r.invalidity_date,
    notAfter: r.not_after,
  }));
}

/** Every certificate of a key, with what a batch worker needs to tell "already ours" from "someone else's". */
export async function certificatesOfKey(db: Executor, spkiSha256: Uint8Array): Promise<{ serial: string; status: CertificateStatus; batch: string | null }[]> {
  const rows = await db.selectFrom('certificate').select(['serial', 'status', 'batch']).where('spki_sha256', '=', spkiSha256).execute();
  return rows.map((r) => ({ serial: r.serial, status: r.status, batch: r.batch }));
}
