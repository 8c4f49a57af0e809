import { CaError } from '../errors.js';

/**
 * Security servers of the data-exchange layer (X-Road): what a server's certificate request may
 * say. The profile builds the subject; a CSR that names someone else is refused, never rewritten.
 */
export const SERVER_CERTIFICATE_TYPES = ['signing', 'tls'] as const;
export type ServerCertificateType = (typeof SERVER_CERTIFICATE_TYPES)[number];

export const SERVER_PROFILES: Record<ServerCertificateType, 'server-signing' | 'server-tls'> = { signing: 'server-signing', tls: 'server-tls' };

/** X-Road server codes: letters, digits and - _ . (identifiers in X-Road are case-sensitive). */
export function validateServerCode(code: string): string {
  const c = code.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(c)) {
    throw new CaError('malformed', 'server code must be 1 to 64 letters, digits, dots, hyphens or underscores', { code: 'invalidServerCode' });
  }
  return c;
}

export interface RegisteredServer {
  memberName: string;
  memberClass: string;
  memberCode: string;
  dnsName: string;
}

/** Short name (as decodeName gives it) -> the values the registered server allows for that type. */
function allowedValues(type: ServerCertificateType, s: RegisteredServer): Record<string, string[]> {
  const common: Record<string, string[]> = {
    C: ['AZ'],
    O: [s.memberName],
    serialNumber: [s.memberCode],
    businessCategory: [s.memberClass],
  };
  // X-Road tools put the member code or name in a signing CSR's CN; a TLS CSR names the host.
  return type === 'signing' ? { ...common, CN: [s.memberName, s.memberCode] } : { ...common, CN: [s.dnsName] };
}

/**
 * Every attribute the CSR's subject carries must agree with the registration (attributes it
 * leaves out are filled in by the profile); an attribute we do not issue is refused too.
 */
export function checkRequestedSubject(type: ServerCertificateType, server: RegisteredServer, subject: { shortName: string; value: string }[]): void {
  const allowed = allowedValues(type, server);
  for (const a of subject) {
    const values = allowed[a.shortName];
    const ok = values?.some((v) => (a.shortName === 'CN' && type === 'tls' ? v.toLowerCase() === a.value.toLowerCase() : v === a.value));
    if (!ok) {
      throw new CaError('policyForbids', `the CSR subject's ${a.shortName}=${a.value} does not match the registered ${values ? `value (${values.join(' or ')})` : 'server'}`, {
        code: 'subjectMismatch',
      });
    }
  }
}
