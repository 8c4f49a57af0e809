import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { startServer, type RunningServer } from '../../src/api/server.js';
import { createLogger, type Logger } from '../../src/logging.js';
import { issueCertificate, type IssueRequest } from '../../src/ca/issue.js';
import { addOffice, addOperator } from '../../src/ra/principals.js';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config/config.js';
import type { Provenance } from '../../src/domain/certificate.js';
import type { Holder } from '../../src/domain/holder.js';
import { openTestContext, type TestContext } from './context.js';
import { CITIZEN, opensslCsr } from './csr.js';
import { removeDir, tempDir } from './env.js';

/**
 * A running CA for status tests: the demo hierarchy (P-256), its certificates as PEM files in a
 * directory (root.pem, eimza.pem, chain-eimza.pem, eimza-ocsp.pem…), and `eimza serve`'s HTTP
 * server in this process on a free port.
 */
export interface PkiFixture {
  ctx: TestContext;
  dir: string;
  server: RunningServer;
  /** Bearer token of a ca-operator at office HQ. */
  adminToken: string;
  pem(name: string): string;
  /** Issues a certificate from a fresh OpenSSL key; the certificate PEM is written to `<dir>/<name>.pem`. */
  issue(name: string, profile?: string, holder?: Holder, provenance?: Provenance): Promise<{ serial: string; certPath: string; keyPath: string }>;
  close(): Promise<void>;
}

export const SERVER_HOLDER: Holder = { memberName: 'Vergilər Nazirliyi', memberClass: 'GOV', memberCode: '1400057421', dnsName: 'ss1.taxes.gov.az' };

/**
 * The servers' logger in tests: silent, unless EIMZA_LOG_FILE is set (test/run.sh sets it), then
 * every line at debug level goes to that file, and test/log-scan.sh looks for leaked secrets in it.
 */
export function testLogger(): Logger {
  const file = process.env.EIMZA_LOG_FILE;
  return file ? createLogger({ level: process.env.EIMZA_LOG_LEVEL ?? 'debug', file }) : createLogger({ level: 'silent' });
}

/**
 * `pki`: overrides of the PKI settings (config.json `pki`), e.g. { revocation: { crlPartitions: 4 } };
 * `logger`: the server's logger (default testLogger()).
 */
export async function openPkiFixture(
  options: { clock?: Clock; pki?: Record<string, unknown>; configure?: (config: Config) => void; logger?: Logger } = {},
): Promise<PkiFixture> {
  const ctx = await openTestContext({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.pki ? { pki: options.pki } : {}),
    ...(options.configure ? { configure: options.configure } : {}),
  });
  const dir = tempDir('eimza-pki-');
  await runOperation(operationContext(ctx, 'test', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' }), 'ca.init', {});
  const cas = (await runOperation(operationContext(ctx, 'test'), 'ca.list', {})) as { name: string; certificatePem: string; chainPem: string; ocspSignerPem: string | null }[];
  for (const c of cas) {
    writeFileSync(path.join(dir, `${c.name}.pem`), c.certificatePem);
    writeFileSync(path.join(dir, `chain-${c.name}.pem`), c.chainPem);
    if (c.ocspSignerPem) writeFileSync(path.join(dir, `${c.name}-ocsp.pem`), c.ocspSignerPem);
  }
  // A CA operator's token: what changes status over HTTP.
  await addOffice(ctx.ra, { code: 'HQ', kind: 'hq', name: 'e-imza headquarters', actor: 'test' });
  const { token: adminToken } = await addOperator(ctx.ra, { name: 'test CA operator', officeCode: 'HQ', role: 'ca-operator', actor: 'test' });
  const server = await startServer(ctx, { host: '127.0.0.1', port: 0, logger: options.logger ?? testLogger() });
  let n = 0;
  return {
    ctx,
    dir,
    server,
    adminToken,
    pem: (name) => path.join(dir, `${name}.pem`),
    async issue(name, profile = 'authentication', holder = CITIZEN, provenance) {
      const { csrPem, keyPath } = await opensslCsr(dir, `${name}-${n++}`);
      const req: IssueRequest = { profile, csr: csrPem, holder, actor: 'test', ...(provenance ? { provenance } : {}) };
      const issued = await issueCertificate(ctx.ca, req);
      const certPath = path.join(dir, `${name}.pem`);
      writeFileSync(certPath, issued.pem);
      return { serial: issued.serial, certPath, keyPath };
    },
    async close() {
      await server.close();
      await ctx.dispose();
      removeDir(dir);
    },
  };
}
