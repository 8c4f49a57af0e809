/**
 * Who a certificate is for, as the desk or the CLI hands it to the CA (`--holder FILE.json`).
 * Which fields a profile needs is policy (src/policy/subjects.ts); this is only the shape.
 */
export interface Holder {
  /** Personal identification number (FIN), 7 characters of [0-9A-Z] without I and O. */
  fin?: string;
  givenName?: string;
  surname?: string;
  email?: string;
  phone?: string;
  /** Representatives of a legal person or state agency. */
  organization?: string;
  voen?: string;
  /** Security-server members and servers (X-Road). */
  memberName?: string;
  memberClass?: string;
  memberCode?: string;
  dnsName?: string;
}

export const HOLDER_FIELDS = [
  'fin',
  'givenName',
  'surname',
  'email',
  'phone',
  'organization',
  'voen',
  'memberName',
  'memberClass',
  'memberCode',
  'dnsName',
] as const satisfies readonly (keyof Holder)[];
