import path from 'node:path';
import type { FaultHooks } from '../../src/ca/deps.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { openContext, type AppContext } from '../../src/context.js';
import { createTestDatabase, removeDir, tempDir, type TestDatabase } from './env.js';

export interface TestContext extends AppContext {
  dataDir: string;
  dispose(): Promise<void>;
}

/**
 * A whole service context on a throw-away data directory and database. `keyStore` picks the
 * backend for new keys: 'software' (fast) or 'pkcs11' (a SoftHSM token in the data directory).
 */
export async function openTestContext(
  options: {
    keyStore?: 'software' | 'pkcs11';
    clock?: Clock;
    faults?: FaultHooks;
    reservationGraceSeconds?: number;
    pki?: Record<string, unknown>;
    /** Last changes to the configuration (e.g. an SMTP relay) before the context opens. */
    configure?: (config: Config) => void;
  } = {},
): Promise<TestContext> {
  const dataDir = tempDir();
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig(dataDir, {
    EIMZA_KEYSTORE: options.keyStore ?? 'software',
    EIMZA_KEYSTORE_PASSPHRASE: 'test passphrase',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
  });
  config.ca.reservationGraceMs = (options.reservationGraceSeconds ?? 300) * 1000;
  if (options.pki) config.pki = { ...config.pki, ...options.pki };
  options.configure?.(config);
  const app = await openContext(config, { ...(options.clock ? { clock: options.clock } : {}), ...(options.faults ? { faults: options.faults } : {}) });
  return {
    ...app,
    dataDir,
    async dispose() {
      await app.close();
      await database.drop();
      removeDir(dataDir);
    },
  };
}

export function cliPath(): string {
  return path.resolve('cli/eimza.js');
}
