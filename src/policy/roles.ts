/**
 * Who may do what at the registration authority (issue 4): roles are data, checked in one place
 * (src/ra/access.ts). `scope` says whether a role's reach ends at its own office.
 */
export const PERMISSIONS = [
  'application.create',
  'application.read',
  'application.pay',
  'application.identify',
  'application.approve',
  'application.reject',
  'application.cancel',
  'application.issue',
  'application.handover',
  'holder.read',
  'certificate.suspend',
  'certificate.restore',
  'certificate.revoke',
  'certificate.bulk',
  'statistics.read',
  'audit.read',
  'member.manage',
  'server.approve',
  'server.read',
  'batch.submit',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const PERSON_ROLES = ['clerk', 'supervisor', 'ca-operator', 'auditor'] as const;
/** Machine clients are principals of their own: never a person's token on a machine. */
export const MACHINE_ROLES = ['personalisation-centre'] as const;
export const ROLES = [...PERSON_ROLES, ...MACHINE_ROLES] as const;
export type Role = (typeof ROLES)[number];

export interface RoleDefinition {
  kind: 'person' | 'machine';
  /** 'office': applications, statistics and bulk actions of the operator's own office only. */
  scope: 'office' | 'all';
  permissions: readonly Permission[];
}

const CLERK: readonly Permission[] = [
  'application.create',
  'application.read',
  'application.pay',
  'application.identify',
  'application.cancel',
  'application.issue',
  'application.handover',
  'holder.read',
  // profiles.md: suspension may come over any channel once the holder is identified.
  'certificate.suspend',
];

export const ROLE_DEFINITIONS: Readonly<Record<Role, RoleDefinition>> = {
  clerk: { kind: 'person', scope: 'office', permissions: CLERK },
  supervisor: {
    kind: 'person',
    scope: 'office',
    permissions: [...CLERK, 'application.approve', 'application.reject', 'certificate.restore', 'certificate.revoke', 'certificate.bulk', 'statistics.read'],
  },
  'ca-operator': { kind: 'person', scope: 'all', permissions: PERMISSIONS },
  // Read-only, every office: auditors look at the whole CA.
  auditor: { kind: 'person', scope: 'all', permissions: ['application.read', 'holder.read', 'statistics.read', 'audit.read', 'server.read'] },
  // The ID-card personalisation centre reads approved applications of every office and issues for them.
  'personalisation-centre': { kind: 'machine', scope: 'all', permissions: ['application.read', 'application.issue', 'batch.submit'] },
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((r) => ROLE_DEFINITIONS[r].permissions.includes(permission));
}
