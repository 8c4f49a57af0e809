import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How the CLI is started: `prefix` runs it through another command (e.g. `nsenter … --` into a mount namespace). */
export interface LaunchOptions {
  prefix?: string[];
}

function cliCommand(args: string[], options: LaunchOptions): [string, string[]] {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, path.resolve('cli/eimza.js'), ...args];
  return [command!, rest];
}

/** Runs `eimza …` as a user would: a separate process, the real bin script. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: LaunchOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...cliCommand(args, options), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `eimza serve --port 0` and resolves with its URL once it prints it. */
export function startServe(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: LaunchOptions = {},
): Promise<{ url: string; child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...cliCommand(args, options), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /health\s+(http:\/\/\S+)\/health/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          output: () => out,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
}
