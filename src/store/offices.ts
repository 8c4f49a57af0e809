import type { Executor } from './transaction.js';

export interface OfficeRecord {
  code: string;
  kind: 'post-office' | 'asan' | 'hq';
  name: string;
  region: string | null;
  createdAt: Date;
  disabledAt: Date | null;
}

export async function insertOffice(db: Executor, office: Omit<OfficeRecord, 'disabledAt'>): Promise<void> {
  await db
    .insertInto('office')
    .values({ code: office.code, kind: office.kind, name: office.name, region: office.region, created_at: office.createdAt, disabled_at: null })
    .execute();
}

export async function findOffice(db: Executor, code: string): Promise<OfficeRecord | null> {
  const row = await db.selectFrom('office').selectAll().where('code', '=', code).executeTakeFirst();
  return row ? toOffice(row) : null;
}

export async function listOffices(db: Executor): Promise<OfficeRecord[]> {
  const rows = await db.selectFrom('office').selectAll().orderBy('code').execute();
  return rows.map(toOffice);
}

function toOffice(row: { code: string; kind: OfficeRecord['kind']; name: string; region: string | null; created_at: Date; disabled_at: Date | null }): OfficeRecord {
  return { code: row.code, kind: row.kind, name: row.name, region: row.region, createdAt: row.created_at, disabledAt: row.disabled_at };
}
