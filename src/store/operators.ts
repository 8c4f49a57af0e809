import type { Selectable } from 'kysely';
import type { OperatorTable } from './schema.js';
import type { Executor } from './transaction.js';

export interface OperatorRecord {
  id: string;
  name: string;
  kind: 'person' | 'machine';
  role: string;
  officeCode: string;
  createdAt: Date;
  createdBy: string;
  disabledAt: Date | null;
  disabledBy: string | null;
}

export async function insertOperator(db: Executor, op: Omit<OperatorRecord, 'disabledAt' | 'disabledBy'>, tokenSha256: Uint8Array): Promise<void> {
  await db
    .insertInto('operator')
    .values({
      id: op.id,
      name: op.name,
      kind: op.kind,
      role: op.role,
      office_code: op.officeCode,
      token_sha256: tokenSha256,
      created_at: op.createdAt,
      created_by: op.createdBy,
      disabled_at: null,
      disabled_by: null,
    })
    .execute();
}

/** The operator a token digest belongs to, with the office's state: a disabled office disables its operators. */
export async function findOperatorByToken(db: Executor, tokenSha256: Uint8Array): Promise<(OperatorRecord & { officeDisabled: boolean }) | null> {
  const row = await db
    .selectFrom('operator')
    .innerJoin('office', 'office.code', 'operator.office_code')
    .selectAll('operator')
    .select('office.disabled_at as office_disabled_at')
    .where('operator.token_sha256', '=', tokenSha256)
    .executeTakeFirst();
  return row ? { ...toOperator(row), officeDisabled: row.office_disabled_at !== null } : null;
}

export async function findOperator(db: Executor, id: string): Promise<OperatorRecord | null> {
  const row = await db.selectFrom('operator').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toOperator(row) : null;
}

export async function findOperatorsByName(db: Executor, name: string): Promise<OperatorRecord[]> {
  const rows = await db.selectFrom('operator').selectAll().where('name', '=', name).orderBy('created_at').execute();
  return rows.map(toOperator);
}

export async function listOperators(db: Executor, officeCode?: string): Promise<OperatorRecord[]> {
  let q = db.selectFrom('operator').selectAll().orderBy('office_code').orderBy('name');
  if (officeCode) q = q.where('office_code', '=', officeCode);
  return (await q.execute()).map(toOperator);
}

/** Returns whether it was still enabled. */
export async function disableOperator(db: Executor, id: string, at: Date, by: string): Promise<boolean> {
  const result = await db
    .updateTable('operator')
    .set({ disabled_at: at, disabled_by: by })
    .where('id', '=', id)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

function toOperator(row: Selectable<OperatorTable>): OperatorRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    role: row.role,
    officeCode: row.office_code,
    createdAt: row.created_at,
    createdBy: row.created_by,
    disabledAt: row.disabled_at,
    disabledBy: row.disabled_by,
  };
}
