import { pingDatabase } from '../store/database.js';
import type { CaDeps } from './deps.js';

export type CheckResult = 'ok' | 'failed' | 'timeout';

export interface Readiness {
  ready: boolean;
  checks: { database: CheckResult; keyStore: CheckResult };
}

/**
 * Whether this node can do its work (GET /health/ready): the database answers a trivial query,
 * and every CA's signing keys (the CA key and its OCSP responder key) are open, with the key
 * store's own check (for PKCS#11: the token is still present). Each check has `timeoutMs`, so a
 * hanging database or HSM makes the probe fail fast rather than hang with it.
 */
export async function checkReadiness(deps: CaDeps, timeoutMs = 2000): Promise<Readiness> {
  const [database, keyStore] = await Promise.all([
    within(timeoutMs, () => pingDatabase(deps.db)),
    within(timeoutMs, async () => {
      for (const ca of await deps.cas.list()) {
        await ca.signer();
        if (ca.record.ocspKeyUri) await ca.ocspSigner();
      }
      await deps.keys.check();
    }),
  ]);
  return { ready: database === 'ok' && keyStore === 'ok', checks: { database, keyStore } };
}

async function within(ms: number, check: () => Promise<unknown>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  try {
    return await Promise.race([check().then((): CheckResult => 'ok', (): CheckResult => 'failed'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
