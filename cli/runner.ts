import { adminSocketPath } from '../src/admin/socket.js';
import { localActor, operationContext, runOperation, type OperationName } from '../src/admin/operations.js';
import { loadConfig, type Config } from '../src/config/config.js';
import { openContext, type AppContext } from '../src/context.js';
import { CaError, isCaError, type ErrorKind } from '../src/errors.js';
import { callAdminSocket, probeAdminSocket } from './remote.js';

/** Global options every command sees. */
export interface GlobalOptions {
  dataDir: string;
}

export function resolveDataDir(opts: { dataDir?: string }): string {
  return opts.dataDir ?? process.env.EIMZA_DATA_DIR ?? './data';
}

/** Progress goes to stderr so stdout stays clean for what scripts read (serials, JSON). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K… ${message}`);
  else process.stderr.write(`… ${message}\n`);
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/**
 * Runs one operation where the database is: in this process, or — when `eimza serve` holds the
 * embedded database of this data directory — inside the server, over its admin socket.
 */
export async function execute<T = unknown>(dataDir: string, name: OperationName, input: unknown): Promise<T> {
  const config = loadConfig(dataDir);
  const actor = localActor();
  try {
    if (config.database.kind === 'pglite') {
      const socket = adminSocketPath(config.dataDir);
      if (await probeAdminSocket(socket)) return (await callAdminSocket(socket, name, input, actor, progress)) as T;
    }
    return await withLocalContext(config, (app) =>
      runOperation(operationContext(app, actor, progress), name, input),
    ) as T;
  } finally {
    endProgress();
  }
}

export async function withLocalContext<T>(config: Config, work: (app: AppContext) => Promise<T>): Promise<T> {
  const app = await openContext(config);
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

/** kind -> exit code; documented in docs/errors.md. 1 is kept for unexpected failures. */
export const EXIT_CODES: Record<ErrorKind, number> = {
  internal: 1,
  malformed: 2,
  badCsr: 3,
  badPublicKey: 4,
  policyForbids: 5,
  unauthorized: 6,
  forbidden: 7,
  notFound: 8,
  conflict: 9,
  invalidTransition: 10,
  rateLimited: 11,
  hsmUnavailable: 12,
  unavailable: 14,
};
export const EXIT_AUDIT_BROKEN = 13;

/** One line on stderr with a stable code, then a non-zero exit. Internals stay out of it. */
export function reportAndExit(e: unknown): never {
  const err = isCaError(e) ? e : new CaError('internal', 'unexpected error', { cause: e });
  process.stderr.write(`eimza: error [${err.code}]: ${err.detail}\n`);
  if (!isCaError(e) || err.kind === 'internal') {
    const cause = isCaError(e) ? e.cause : e;
    if (process.env.EIMZA_DEBUG && cause) process.stderr.write(`${cause instanceof Error ? cause.stack : String(cause)}\n`);
  }
  process.exit(EXIT_CODES[err.kind]);
}
