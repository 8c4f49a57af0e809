import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config/config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { CaError, isCaError } from './errors.js';

/**
 * The data directory of the embedded database, checked before anything is written to it: a
 * read-only file system, a full disk or a directory this user cannot write is one clear error at
 * start (`dataDirReadOnly`, `dataDirFull`, `dataDirNotWritable`), never a stack trace or a
 * half-made database. What the operator sees and does: docs/operations.md.
 */
export const DATA_DIR_FAULT_CODES = ['dataDirReadOnly', 'dataDirFull', 'dataDirNotWritable'] as const;

const MB = 1024 * 1024;
/** Written, fsynced and removed in each directory; large enough that a nearly full disk fails it. */
const PROBE_BYTES = 64 * 1024;

/**
 * Checks the data directory, takes its lock and opens the embedded database with `open`. On a
 * failure to open, an error the directory explains (no space, read-only) is reported as such, and
 * a database directory that this start found empty is removed again, so the next start begins
 * afresh instead of resuming a half-initialised one.
 */
export async function openEmbeddedDataDir<T>(config: Config, open: () => Promise<T>): Promise<{ value: T; lock: DataDirLock }> {
  const { dataDir } = config;
  const dbDir = config.database.kind === 'pglite' ? config.database.directory : null;
  const { minFreeMb } = config.storage;
  checkDataDir(dataDir, dbDir, minFreeMb);
  let lock: DataDirLock;
  try {
    lock = acquireDataDirLock(dataDir);
  } catch (e) {
    throw explainFault(dataDir, dataDir, minFreeMb, e) ?? e;
  }
  // Only with the lock held is an empty database directory ours to remove.
  const fresh = dbDir !== null && isEmptyDir(dbDir);
  try {
    return { value: await open(), lock };
  } catch (e) {
    const explained = diagnose(dataDir, dbDir, minFreeMb, e);
    if (fresh) {
      try {
        rmSync(dbDir, { recursive: true, force: true });
      } catch {
        /* best effort: left behind, the next start resumes it or reports the same fault */
      }
    }
    lock.release();
    throw explained;
  }
}

/**
 * The preflight: the data directory (made when missing) and, when it exists, the database
 * directory take a small file written and fsynced, and have at least `minFreeMb` free (0: no
 * minimum). Throws the first fault found.
 */
export function checkDataDir(dataDir: string, dbDir: string | null, minFreeMb: number): void {
  try {
    makeDir(dataDir);
  } catch (e) {
    throw explainFault(dataDir, dataDir, minFreeMb, e) ?? e;
  }
  const dirs = dbDir && existsSync(dbDir) ? [dataDir, dbDir] : [dataDir];
  for (const dir of dirs) {
    try {
      probe(dir);
    } catch (e) {
      throw explainFault(dataDir, dir, minFreeMb, e) ?? e;
    }
  }
  for (const dir of dirs) {
    const free = freeMb(dir);
    if (free !== null && free < minFreeMb) throw tooLittleSpace(dataDir, dir, free, minFreeMb);
  }
}

/** Why opening failed, when the directory is the reason; otherwise the error as it was. */
function diagnose(dataDir: string, dbDir: string | null, minFreeMb: number, error: unknown): unknown {
  if (isCaError(error) && (DATA_DIR_FAULT_CODES as readonly string[]).includes(error.code)) return error;
  // An errno anywhere in the cause chain (a write of ours, or one PGlite passes on) about a file in the directory.
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const file = (e as { path?: unknown }).path;
    if (typeof file === 'string' && !isInside(dataDir, file)) continue;
    const dir = dbDir && typeof file === 'string' && isInside(dbDir, file) ? dbDir : dataDir;
    const fault = explainFault(dataDir, dir, minFreeMb, e, error);
    if (fault) return fault;
  }
  // PGlite reports a failed write as "failed to initialize" or a bare object: look again.
  const dirs = dbDir && existsSync(dbDir) ? [dbDir, dataDir] : [dataDir];
  for (const dir of dirs) {
    try {
      probe(dir);
    } catch (e) {
      return explainFault(dataDir, dir, minFreeMb, e, error) ?? error;
    }
    const free = freeMb(dir);
    if (free !== null && free < 1) return noSpace(dataDir, dir, error);
  }
  return error;
}

function explainFault(dataDir: string, dir: string, minFreeMb: number, error: unknown, cause: unknown = error): CaError | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case 'EROFS':
      return new CaError('unavailable', `${subject(dataDir, dir)} is on a read-only file system`, { code: 'dataDirReadOnly', cause });
    case 'ENOSPC':
    case 'EDQUOT': {
      const free = freeMb(dir);
      if (code === 'ENOSPC' && free !== null && free >= Math.max(minFreeMb, 1)) return noSpace(dataDir, dir, cause);
      return free !== null && minFreeMb > 0 ? tooLittleSpace(dataDir, dir, free, minFreeMb, cause) : noSpace(dataDir, dir, cause);
    }
    case 'EACCES':
    case 'EPERM':
      return new CaError('unavailable', `${subject(dataDir, dir)} is not writable by this user`, { code: 'dataDirNotWritable', cause });
    default:
      return null;
  }
}

function tooLittleSpace(dataDir: string, dir: string, free: number, minFreeMb: number, cause?: unknown): CaError {
  return new CaError('unavailable', `${subject(dataDir, dir)} has ${free} MB free, needs at least ${minFreeMb} MB (storage.minFreeMb)`, {
    code: 'dataDirFull',
    cause,
  });
}

function noSpace(dataDir: string, dir: string, cause: unknown): CaError {
  const free = freeMb(dir);
  const inodes = freeInodes(dir) === 0 ? ', no free inodes' : '';
  return new CaError('unavailable', `${subject(dataDir, dir)} is full: no space left on device (${free ?? '?'} MB free${inodes})`, {
    code: 'dataDirFull',
    cause,
  });
}

/** mkdir -p, one level at a time: a recursive mkdirSync reports ENOENT where the cause is EROFS. */
function makeDir(dir: string): void {
  if (existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeDir(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** "the data directory /x", or "the data directory /x (its db/)" when a directory inside it is at fault. */
function subject(dataDir: string, dir: string): string {
  return dir !== dataDir && isInside(dataDir, dir) ? `the data directory ${dataDir} (its ${path.relative(dataDir, dir)}/)` : `the data directory ${dataDir}`;
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, path.resolve(file));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

function probe(dir: string): void {
  const file = path.join(dir, `.eimza-write-probe-${process.pid}`);
  let fd: number | null = null;
  try {
    fd = openSync(file, 'w', 0o600);
    writeSync(fd, Buffer.alloc(PROBE_BYTES));
    fsyncSync(fd);
    const closing = fd;
    fd = null;
    closeSync(closing);
  } finally {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(file);
    } catch {
      /* never made */
    }
  }
}

/** Space an unprivileged writer may still use, in whole MB; null where the platform cannot tell. */
function freeMb(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return Math.floor((s.bavail * s.bsize) / MB);
  } catch {
    return null;
  }
}

function freeInodes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    // Some file systems (tmpfs without nr_inodes, btrfs) report 0 files in all: no inode limit.
    return s.files > 0 ? s.ffree : null;
  } catch {
    return null;
  }
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
