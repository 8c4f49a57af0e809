import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { CaError } from '../src/errors.js';

/**
 * A SoftHSM2 token in a directory of its own, for tests, demos and `npm start` on a machine
 * without an HSM. Layout of `directory`:
 *   softhsm2.conf   tokendir = <directory>/tokens, file object store, log level ERROR
 *   tokens/         the token (SoftHSM encrypts private objects under the user PIN)
 *   user.pin        the user PIN (0600), generated at random when the token is created
 *   so.pin          the SO PIN (0600); with it an operator can reset the user PIN. Anyone able to
 *                   read this directory can read user.pin anyway, so keeping it costs nothing.
 */
export interface SoftHsmToken {
  modulePath: string;
  confPath: string;
  tokenLabel: string;
  pin: string;
}

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so', // Debian, Ubuntu
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', // Debian multiarch
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so', // built from source
];

/** CK_TOKEN_INFO.label is 32 bytes, blank padded (PKCS#11 v2.40 §3.2). */
const MAX_TOKEN_LABEL_BYTES = 32;

export function findSoftHsmModule(): string | undefined {
  return MODULE_CANDIDATES.find((candidate) => existsSync(candidate));
}

export async function ensureSoftHsmToken(options: { directory: string; tokenLabel: string }): Promise<SoftHsmToken> {
  const { tokenLabel } = options;
  checkTokenLabel(tokenLabel);
  const modulePath = findSoftHsmModule();
  if (modulePath === undefined) {
    throw new CaError('hsmUnavailable', `SoftHSM2 is not installed (looked for ${MODULE_CANDIDATES.join(', ')})`, {
      code: 'softHsmNotInstalled',
    });
  }
  const directory = path.resolve(options.directory);
  const confPath = path.join(directory, 'softhsm2.conf');
  const userPinPath = path.join(directory, 'user.pin');
  await mkdir(path.join(directory, 'tokens'), { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700);
  await writeFile(confPath, softHsmConf(path.join(directory, 'tokens')), { mode: 0o600 });
  setSoftHsmConf(confPath);
  const utilEnvironment = { ...process.env, SOFTHSM2_CONF: confPath };

  if (await tokenExists(tokenLabel, utilEnvironment)) {
    return { modulePath, confPath, tokenLabel, pin: await readPinFile(userPinPath) };
  }
  const pin = randomBytes(16).toString('hex');
  const soPin = randomBytes(16).toString('hex');
  await writeFile(userPinPath, pin + '\n', { mode: 0o600 });
  await writeFile(path.join(directory, 'so.pin'), soPin + '\n', { mode: 0o600 });
  try {
    // softhsm2-util reads PINs only from arguments or a terminal. The PINs are random, for this
    // private token only, and visible in the process list for the few milliseconds it runs.
    await runSoftHsmUtil(
      ['--init-token', '--free', '--label', tokenLabel, '--so-pin', soPin, '--pin', pin],
      utilEnvironment,
    );
  } catch (error) {
    await rm(userPinPath, { force: true });
    await rm(path.join(directory, 'so.pin'), { force: true });
    throw error;
  }
  return { modulePath, confPath, tokenLabel, pin };
}

function softHsmConf(tokenDirectory: string): string {
  return [
    '# Written by e-imza (hsm/softhsm.ts); SoftHSM2 reads it through SOFTHSM2_CONF.',
    `directories.tokendir = ${tokenDirectory}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    '',
  ].join('\n');
}

/**
 * SoftHSM reads SOFTHSM2_CONF with getenv(3) in C_Initialize. Under a sandbox that gives each
 * test file a copy of process.env (Jest does), assigning process.env does not reach getenv, so
 * the variable is also set on the host process (the same object outside a sandbox).
 */
function setSoftHsmConf(confPath: string): void {
  process.env['SOFTHSM2_CONF'] = confPath;
  const hostProcess = vm.runInThisContext('process') as NodeJS.Process;
  hostProcess.env['SOFTHSM2_CONF'] = confPath;
}

/** `softhsm2-util --show-slots` lists each initialized token's "Label:" (blank padded). */
async function tokenExists(tokenLabel: string, environment: NodeJS.ProcessEnv): Promise<boolean> {
  const listing = await runSoftHsmUtil(['--show-slots'], environment);
  return listing.split('\n').some((line) => /^\s*Label:/.test(line) && line.replace(/^\s*Label:/, '').trim() === tokenLabel);
}

async function readPinFile(pinPath: string): Promise<string> {
  try {
    return (await readFile(pinPath, 'utf8')).trim();
  } catch (error) {
    throw new CaError('hsmUnavailable', `the SoftHSM token exists but its PIN file ${pinPath} cannot be read`, {
      code: 'softHsmPinMissing',
      cause: error,
    });
  }
}

/**
 * Errors are rebuilt from the exit status and stderr only: execFile's own error message repeats
 * the command line, which holds the PINs.
 */
function runSoftHsmUtil(args: string[], environment: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('softhsm2-util', args, { env: environment, timeout: 30_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const notInstalled = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new CaError(
          'hsmUnavailable',
          notInstalled ? 'softhsm2-util is not installed' : `softhsm2-util ${args[0]} failed: ${stderr.trim() || stdout.trim()}`,
          { code: notInstalled ? 'softHsmNotInstalled' : 'softHsmUtilFailed' },
        ),
      );
    });
  });
}

function checkTokenLabel(tokenLabel: string): void {
  const bytes = Buffer.byteLength(tokenLabel, 'utf8');
  if (bytes === 0 || bytes > MAX_TOKEN_LABEL_BYTES || tokenLabel.trim() !== tokenLabel) {
    throw new CaError('malformed', 'token label must be 1 to 32 bytes without leading or trailing blanks', {
      code: 'tokenLabelInvalid',
    });
  }
}
