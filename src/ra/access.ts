import { CaError } from '../errors.js';
import { ROLE_DEFINITIONS, type Permission, type Role } from '../policy/roles.js';

/** Who is asking: an operator at a desk or a machine client, authenticated by its bearer token. */
export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'machine';
  role: Role;
  officeCode: string;
}

/** The audit actor and certificate provenance of a principal: readable, and unique by the id. */
export function actorOf(p: Principal): string {
  return p.id === LOCAL_ID ? p.name : `operator:${p.name}@${p.officeCode}#${p.id.slice(0, 8)}`;
}

const LOCAL_ID = 'local';

/**
 * The CLI on the CA host: it runs as the service's own user (who can read the keys and the
 * database anyway), so it acts with every permission, under the local user's name.
 */
export function localPrincipal(actor: string): Principal {
  return { id: LOCAL_ID, name: actor, kind: 'person', role: 'ca-operator', officeCode: 'HQ' };
}

export function authorize(p: Principal, permission: Permission): void {
  if (!ROLE_DEFINITIONS[p.role].permissions.includes(permission)) {
    throw new CaError('forbidden', `the ${p.role} role may not do ${permission}`, { code: 'roleForbids' });
  }
}

/** The office a principal is limited to, or undefined for every office. */
export function officeScope(p: Principal): string | undefined {
  return ROLE_DEFINITIONS[p.role].scope === 'office' ? p.officeCode : undefined;
}

export function assertOffice(p: Principal, officeCode: string): void {
  const scope = officeScope(p);
  if (scope !== undefined && scope !== officeCode) {
    throw new CaError('forbidden', 'this application belongs to another office', { code: 'otherOffice' });
  }
}
