import type { CaDeps } from './deps.js';
import { issueOcspSigner } from './hierarchy.js';
import { inspectCertificate } from '../x509/inspect.js';

/** Renewed this long before the responder certificate expires (it lives 30 days by default). */
export const OCSP_SIGNER_RENEW_BEFORE_DAYS = 10;

/**
 * Delegated OCSP responders are short-lived (RFC 6960 §4.2.2.2; profiles.md: about 30 days), so a
 * running service renews each one well before it expires: a new key and certificate from the same
 * CA, with the key's algorithm unchanged. `serve` runs it at start and every few hours.
 */
export async function renewOcspSigners(deps: CaDeps, actor: string, renewBeforeDays = OCSP_SIGNER_RENEW_BEFORE_DAYS): Promise<string[]> {
  const now = deps.clock.now().getTime();
  const renewed: string[] = [];
  for (const ca of await deps.cas.list()) {
    if (!ca.ocspCertificateDer) continue;
    const notAfter = inspectCertificate(ca.ocspCertificateDer).notAfter.getTime();
    if (notAfter - now > renewBeforeDays * 86_400_000) continue;
    const current = await ca.ocspSigner();
    await issueOcspSigner(deps, ca.record.name, current.algorithm, actor);
    renewed.push(ca.record.name);
  }
  return renewed;
}
