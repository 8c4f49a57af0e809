import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { CaError } from '../errors.js';
import { isRole, ROLE_DEFINITIONS, type Role } from '../policy/roles.js';
import { findOffice, insertOffice, listOffices, type OfficeRecord } from '../store/offices.js';
import {
  disableOperator as disableOperatorRow,
  findOperator,
  findOperatorByToken,
  findOperatorsByName,
  insertOperator,
  listOperators as listOperatorRows,
  type OperatorRecord,
} from '../store/operators.js';
import { inTransaction } from '../store/transaction.js';
import type { Principal } from './access.js';
import type { RaDeps } from './deps.js';

/** Offices, operators and machine clients: who may act at the registration authority. */

export const OFFICE_KINDS = ['post-office', 'asan', 'hq'] as const;
export type OfficeKind = (typeof OFFICE_KINDS)[number];

const OFFICE_CODE = /^[A-Z0-9][A-Z0-9-]{1,31}$/;

export async function addOffice(ra: RaDeps, input: { code: string; kind: OfficeKind; name: string; region?: string; actor: string }): Promise<OfficeRecord> {
  const code = input.code.trim().toUpperCase();
  if (!OFFICE_CODE.test(code)) throw new CaError('malformed', 'office code must be 2 to 32 letters, digits or hyphens', { code: 'invalidOfficeCode' });
  const name = input.name.trim();
  if (!name || name.length > 200) throw new CaError('malformed', 'office name must be 1 to 200 characters', { code: 'invalidOfficeName' });
  const office: OfficeRecord = { code, kind: input.kind, name, region: input.region?.trim() || null, createdAt: ra.ca.clock.now(), disabledAt: null };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    if (await findOffice(tx, code)) throw new CaError('conflict', `office ${code} exists`, { code: 'officeExists' });
    await insertOffice(tx, office);
    await appendAudit(tx, ra.ca.clock, [{ actor: input.actor, action: 'office.added', details: { code, kind: office.kind, name, region: office.region } }]);
  });
  return office;
}

export async function getOffices(ra: RaDeps): Promise<OfficeRecord[]> {
  return listOffices(ra.ca.db);
}

export async function getOffice(ra: RaDeps, code: string): Promise<OfficeRecord> {
  const office = await findOffice(ra.ca.db, code.trim().toUpperCase());
  if (!office || office.disabledAt) throw new CaError('notFound', `no office ${code}`, { code: 'officeNotFound' });
  return office;
}

/** `eimza_` + 256 random bits: long enough that only the digest needs storing, and greppable in leaks. */
function newToken(): string {
  return `eimza_${randomBytes(32).toString('base64url')}`;
}

function tokenDigest(token: string): Uint8Array {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface NewOperator {
  operator: OperatorRecord;
  /** Shown once; only its SHA-256 is stored. */
  token: string;
}

export async function addOperator(ra: RaDeps, input: { name: string; officeCode: string; role: string; actor: string }): Promise<NewOperator> {
  const name = input.name.trim().replace(/\s+/g, ' ');
  if (!name || name.length > 200) throw new CaError('malformed', 'operator name must be 1 to 200 characters', { code: 'invalidOperatorName' });
  if (!isRole(input.role)) {
    throw new CaError('malformed', `role must be one of ${Object.keys(ROLE_DEFINITIONS).join(', ')}`, { code: 'unknownRole' });
  }
  const role: Role = input.role;
  const office = await getOffice(ra, input.officeCode);
  const token = newToken();
  const operator: OperatorRecord = {
    id: randomUUID(),
    name,
    kind: ROLE_DEFINITIONS[role].kind,
    role,
    officeCode: office.code,
    createdAt: ra.ca.clock.now(),
    createdBy: input.actor,
    disabledAt: null,
    disabledBy: null,
  };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    await insertOperator(tx, operator, tokenDigest(token));
    await appendAudit(tx, ra.ca.clock, [
      { actor: input.actor, action: 'operator.added', details: { id: operator.id, name, role, office: office.code, kind: operator.kind } },
    ]);
  });
  return { operator, token };
}

/** By id, or by name when exactly one enabled operator has it. */
export async function disableOperator(ra: RaDeps, input: { operator: string; actor: string }): Promise<OperatorRecord> {
  const target = await resolveOperator(ra, input.operator);
  const at = ra.ca.clock.now();
  await inTransaction(ra.ca.db, async ({ tx }) => {
    if (!(await disableOperatorRow(tx, target.id, at, input.actor))) {
      throw new CaError('invalidTransition', `operator ${target.name} is already disabled`, { code: 'operatorDisabled' });
    }
    await appendAudit(tx, ra.ca.clock, [{ actor: input.actor, action: 'operator.disabled', details: { id: target.id, name: target.name } }]);
  });
  return { ...target, disabledAt: at, disabledBy: input.actor };
}

async function resolveOperator(ra: RaDeps, idOrName: string): Promise<OperatorRecord> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
  if (uuid) {
    const found = await findOperator(ra.ca.db, idOrName.toLowerCase());
    if (found) return found;
  }
  const named = (await findOperatorsByName(ra.ca.db, idOrName.trim())).filter((o) => !o.disabledAt);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new CaError('conflict', `${named.length} operators are named ${idOrName}; give the id`, { code: 'ambiguousOperator' });
  throw new CaError('notFound', `no enabled operator ${idOrName}`, { code: 'operatorNotFound' });
}

export async function listOperators(ra: RaDeps, officeCode?: string): Promise<OperatorRecord[]> {
  return listOperatorRows(ra.ca.db, officeCode?.trim().toUpperCase());
}

/**
 * The principal a bearer token stands for. One answer for every failure (unknown, disabled
 * operator, disabled office), so a caller learns nothing from the difference.
 */
export async function authenticate(ra: RaDeps, token: string): Promise<Principal> {
  const found = token.length <= 200 ? await findOperatorByToken(ra.ca.db, tokenDigest(token)) : null;
  if (!found || found.disabledAt || found.officeDisabled || !isRole(found.role)) {
    throw new CaError('unauthorized', 'the token is not valid', { code: 'invalidToken' });
  }
  return { id: found.id, name: found.name, kind: found.kind, role: found.role, officeCode: found.officeCode };
}
