import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { AppContext } from '../../src/context.js';
import { addOffice, addOperator } from '../../src/ra/principals.js';
import { localActor, operationContext, runOperation } from '../../src/admin/operations.js';
import { startServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/context.js';
import { CaError } from '../../src/errors.js';
import { createLogger } from '../../src/logging.js';
import { progress, resolveDataDir } from '../runner.js';

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the service: REST API, status endpoints and the admin socket for the CLI')
    .option('--port <n>', 'TCP port (default 8080, or EIMZA_PORT); 0 picks a free one', (v) => Number(v))
    .option('--host <addr>', 'address to bind (default 127.0.0.1, or EIMZA_HOST)')
    .option('--init-if-empty', 'create the demo CA hierarchy first if the data directory has none (what `npm start` does)')
    .addHelpText('after', '\nExample:\n  eimza --data-dir /var/lib/eimza serve --port 8080')
    .action(async (opts: { port?: number; host?: string; initIfEmpty?: boolean }, cmd: Command) => {
      const config = loadConfig(resolveDataDir(cmd.optsWithGlobals()));
      if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
        throw new CaError('malformed', '--port must be a port number', { code: 'invalidArgument' });
      }
      // The one logger of the process: JSON lines on stderr, or appended to EIMZA_LOG_FILE / log.file.
      const logger = createLogger({ level: config.log.level, ...(config.log.file ? { file: config.log.file } : {}) });
      const app = await openContext(config);
      if (opts.initIfEmpty && (await app.ca.cas.isEmpty())) {
        process.stdout.write(`First start: creating the demo CA hierarchy in ${config.dataDir} (key store: ${app.ca.keys.defaultBackend})\n`);
        await runOperation(operationContext(app, localActor(), progress), 'ca.init', {});
        process.stderr.write('\n');
        await createDemoOperator(app, config.dataDir);
      }
      const server = await startServer(app, { host: opts.host ?? config.server.host, port: opts.port ?? config.server.port, logger });
      const cas = await app.ca.cas.list();
      process.stdout.write(
        [
          `e-imza is running (data: ${config.dataDir}, database: ${config.database.kind}, keys: ${app.ca.keys.defaultBackend})`,
          `  health      ${server.url}/health`,
          `  probes      ${server.url}/health/live  ${server.url}/health/ready`,
          ...(config.server.metrics === 'off' ? [] : [`  metrics     ${server.url}/metrics${config.server.metrics === 'loopback' ? '  (loopback clients)' : ''}`]),
          `  OCSP        ${server.url}/ocsp`,
          ...cas.flatMap((c) => [
            `  CA ${c.record.name.padEnd(8)} ${c.certificate.subject}`,
            `              ${server.url}/ca/${c.record.name}.crt  CRL ${server.url}/crl/${c.record.name}.crl`,
          ]),
          `  REST API    ${server.url}/api/v1  (docs ${server.url}/api/docs, OpenAPI ${server.url}/api/openapi.json)`,
          ...(existsSync(demoTokenFile(config.dataDir)) ? [`              demo CA operator token: ${demoTokenFile(config.dataDir)}`] : []),
          `  admin CLI   npx eimza --data-dir ${config.dataDir} cert list`,
          '',
        ].join('\n'),
      );
      const stop = async () => {
        await server.close();
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

const demoTokenFile = (dataDir: string) => path.join(dataDir, 'secrets', 'demo-operator.token');

/**
 * The demo's first principal: a headquarters office and a CA operator, whose token goes to a 0600
 * file (never to the terminal or a log). A real deployment adds its own with `eimza operator add`.
 */
async function createDemoOperator(app: AppContext, dataDir: string): Promise<void> {
  await addOffice(app.ra, { code: 'HQ', kind: 'hq', name: 'e-imza headquarters', actor: localActor() });
  const { token } = await addOperator(app.ra, { name: 'demo CA operator', officeCode: 'HQ', role: 'ca-operator', actor: localActor() });
  const file = demoTokenFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
}
