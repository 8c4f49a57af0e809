import { execFile } from 'node:child_process';
import { openssl } from './env.js';

/** SoftHSM2 as the holder's card, and the independent tools that look at it (pkcs11-tool, OpenSSL). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface CardTools {
  run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** pkcs11-tool on the card's module; throws with its stderr when it fails. */
  pkcs11Tool(...args: string[]): Promise<string>;
  /** openssl, stdout and stderr together; throws when it fails. */
  sslOk(args: string[]): Promise<string>;
}

/** `env` carries the test's own SOFTHSM2_CONF. */
export function cardTools(env: NodeJS.ProcessEnv, module = SOFTHSM_MODULE): CardTools {
  const run: CardTools['run'] = (command, args) =>
    new Promise((resolve) => {
      execFile(command, args, { env, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  return {
    run,
    async pkcs11Tool(...args) {
      const result = await run('pkcs11-tool', ['--module', module, ...args]);
      if (result.code !== 0) throw new Error(`pkcs11-tool ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout;
    },
    async sslOk(args) {
      const result = await openssl(args);
      if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
      return result.stdout + result.stderr;
    },
  };
}
