/**
 * Child processes and private network namespaces for the benchmarks (ocsp.ts, load.ts): every
 * child is tracked, so that killEverything can end them all however a run ends.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

const children = new Set<ChildProcess>();
const namespaces = new Set<Namespace>();
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * A network to run a child in: a private namespace with loopback only, or the machine's own (nsPath
 * null; `where` null says the same).
 */
export interface Namespace {
  label: string;
  /** /proc/PID/ns/net of the namespace's holder process; null: the machine's network. */
  nsPath: string | null;
  /** readlink of nsPath ("net:[inode]"), to find every process inside. */
  nsId: string | null;
  holder: ChildProcess | null;
}

/** cmd wrapped so that it dies with us (setpriv --pdeathsig) and runs in `where` (nsenter). */
function wrap(where: Namespace | null, cmd: string, args: string[]): [string, string[]] {
  let full = [cmd, ...args];
  if (where?.nsPath) full = ['nsenter', `--net=${where.nsPath}`, '--', ...full];
  if (hasSetpriv) full = ['setpriv', '--pdeathsig', 'KILL', '--', ...full];
  return [full[0]!, full.slice(1)];
}

/** cmd started wrapped (wrap), in the repository's root, and tracked; the pid stays the command's. */
export function launch(
  where: Namespace | null,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdout?: 'pipe' | 'ignore' | number; stderr?: 'pipe' | 'ignore' | number } = {},
): ChildProcess {
  const [file, argv] = wrap(where, cmd, args);
  const child = spawn(file, argv, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

/** Resolves with the first match of `pattern` in the child's stdout/stderr; rejects on exit or timeout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const finish = (error: Error | null, match?: RegExpExecArray) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(match!);
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) finish(null, m);
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${out.slice(-2000)}`));
    const timer = setTimeout(() => finish(new Error(`${what} not ready after ${timeoutMs / 1000} s:\n${out.slice(-2000)}`)), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Runs a child to its end, killed after timeoutMs. stderrTail: keep only the last so many
 * characters of stderr (a long-running child's), else all of it.
 */
export function runToEnd(
  where: Namespace | null,
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: { stderrTail?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = launch(where, cmd, args);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.stderrTail !== undefined) stderr = stderr.slice(-opts.stderrTail);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, timedOut });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Every process inside one of our namespaces (the holder, and whatever was started there). */
export function pidsIn(ns: Namespace): number[] {
  if (!ns.nsId) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === ns.nsId) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Kills every process in one of our namespaces (SIGKILL, by pid) and forgets it; the machine's network has none. */
export function closeNamespace(ns: Namespace): void {
  for (const pid of pidsIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  namespaces.delete(ns);
}

/** Every child and every namespace of ours killed: at exit, on a signal, at the end of a run. */
export function killEverything(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const ns of [...namespaces]) closeNamespace(ns);
}

/**
 * A private network namespace with only `lo` (up): unshare -n, held by a sleeping process that
 * outlives the run's watchdog (maxMinutes) by a minute. name: which one, in the error messages.
 */
export async function privateNamespace(maxMinutes: number, name?: string): Promise<Namespace> {
  const holder = launch(null, 'unshare', ['-n', 'bash', '-c', `ip link set lo up && echo ready && exec sleep ${Math.ceil(maxMinutes * 60) + 60}`]);
  await waitForOutput(holder, /^ready$/m, 10_000, name === undefined ? 'network namespace' : `network namespace for ${name}`);
  const nsPath = `/proc/${holder.pid}/ns/net`;
  const ns: Namespace = { label: 'netns', nsPath, nsId: readlinkSync(nsPath), holder };
  namespaces.add(ns);
  if (ns.nsId === readlinkSync('/proc/self/ns/net')) throw new Error('unshare -n gave the machine network namespace');
  const links = execFileSync('nsenter', [`--net=${nsPath}`, '--', 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
  const names = links.map((l) => l.split(':')[1]?.trim());
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Error(name === undefined ? `the namespace has other links than lo: ${links.join('; ')}` : `namespace for ${name} has other links than lo: ${names.join(', ')}`);
  }
  return ns;
}
