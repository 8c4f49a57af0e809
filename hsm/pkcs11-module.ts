import path from 'node:path';
import { Module } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import { translatePkcs11Error } from './pkcs11-errors.js';

/**
 * Cryptoki is initialized once per process, not per caller (PKCS#11 v2.40 §5.4: C_Initialize /
 * C_Finalize act on the whole library). Two key stores on the same module must therefore share
 * one initialization, and only the last one to close may call C_Finalize. This map mirrors that
 * process-wide state of the native library; it is the one module-level mutable in hsm/.
 *
 * A store that lost its token may re-initialize the library (reinitializeModule): SoftHSM2, for
 * one, sees a token that came back only after C_Finalize + C_Initialize. That invalidates every
 * session and object handle of every user of the module, so each initialization has a
 * generation number, and users compare it with the one their sessions were opened under.
 */
interface LoadedModule {
  module: Module;
  users: number;
  /** Grows by one at each re-initialization. */
  generation: number;
  /** pool.use() calls whose work runs now (C_Sign and C_GenerateKeyPair run on libuv threads). */
  inFlight: number;
  onIdle: Array<() => void>;
  reinitializing: Promise<void> | undefined;
}

const loadedModules = new Map<string, LoadedModule>();

/**
 * CKF_OS_LOCKING_OK: the library may use OS threads and locks. Required because pkcs11js runs
 * asynchronous calls on the libuv thread pool; SoftHSM crashes under concurrent calls without it.
 */
const CKF_OS_LOCKING_OK = 0x2;

/** How long a re-initialization waits for running operations before it gives up (never C_Finalize under a C_Sign). */
const DRAIN_TIMEOUT_MS = 2000;

export function acquireModule(modulePath: string): Module {
  const key = path.resolve(modulePath);
  const loaded = loadedModules.get(key);
  if (loaded) {
    loaded.users++;
    return loaded.module;
  }
  let module: Module;
  try {
    module = Module.load(key);
  } catch (error) {
    throw new CaError('hsmUnavailable', `cannot load PKCS#11 module ${key}`, { code: 'hsmModuleLoad', cause: error });
  }
  try {
    module.initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (error) {
    module.close();
    throw translatePkcs11Error(error, 'C_Initialize');
  }
  loadedModules.set(key, { module, users: 1, generation: 0, inFlight: 0, onIdle: [], reinitializing: undefined });
  return module;
}

export function releaseModule(module: Module): void {
  for (const [key, loaded] of loadedModules) {
    if (loaded.module !== module) continue;
    loaded.users--;
    if (loaded.users === 0) {
      loadedModules.delete(key);
      try {
        module.finalize();
      } catch {
        // Not initialized any more (a failed re-initialization, or finalized by someone else).
      } finally {
        module.close();
      }
    }
    return;
  }
}

function loadedOf(module: Module | undefined): LoadedModule | undefined {
  if (module === undefined) return undefined;
  for (const loaded of loadedModules.values()) if (loaded.module === module) return loaded;
  return undefined;
}

/** The module's initialization generation: a session or object handle from an older one is dead. */
export function moduleGeneration(module: Module): number {
  return loadedOf(module)?.generation ?? 0;
}

/** Resolves when no re-initialization of the module is running (at once, usually). */
export async function moduleReady(module: Module): Promise<void> {
  await loadedOf(module)?.reinitializing?.catch(() => undefined);
}

/**
 * Runs `work` counted as in flight on the module, so that a re-initialization waits for it.
 * Work that arrives while a re-initialization runs starts after it. `module` is undefined for
 * the fake slots of unit tests.
 */
export async function trackModuleWork<T>(module: Module | undefined, work: () => T | Promise<T>): Promise<T> {
  const loaded = loadedOf(module);
  if (!loaded) return work();
  if (loaded.reinitializing) await loaded.reinitializing.catch(() => undefined);
  loaded.inFlight++;
  try {
    return await work();
  } finally {
    loaded.inFlight--;
    if (loaded.inFlight === 0) for (const resolve of loaded.onIdle.splice(0)) resolve();
  }
}

/**
 * C_Finalize then C_Initialize, once running operations have finished, unless the module was
 * re-initialized already since `sinceGeneration` (another store did it: nothing more to do).
 * Concurrent calls share one re-initialization. Fails with hsmUnavailable when operations do not
 * finish within DRAIN_TIMEOUT_MS (a hanging device) or C_Initialize fails; the module is then left
 * finalized, and the next attempt initializes it again.
 */
export function reinitializeModule(module: Module, sinceGeneration: number): Promise<void> {
  const loaded = loadedOf(module);
  if (!loaded) return Promise.reject(new CaError('hsmUnavailable', 'the PKCS#11 module is not loaded', { code: 'hsmUnavailable' }));
  if (loaded.reinitializing) return loaded.reinitializing;
  if (loaded.generation !== sinceGeneration) return Promise.resolve();
  const run = (async () => {
    await drained(loaded);
    try {
      module.finalize();
    } catch {
      // CKR_CRYPTOKI_NOT_INITIALIZED (finalized by someone else, or a failed earlier attempt), or
      // a library in trouble: C_Initialize is what decides.
    }
    // Every session and handle is gone from here on, whether or not C_Initialize succeeds.
    loaded.generation++;
    try {
      module.initialize({ flags: CKF_OS_LOCKING_OK });
    } catch (error) {
      const translated = translatePkcs11Error(error, 'C_Initialize');
      throw translated.kind === 'hsmUnavailable' ? translated : new CaError('hsmUnavailable', translated.detail, { code: 'hsmUnavailable', cause: error });
    }
  })();
  loaded.reinitializing = run;
  void run.finally(() => {
    if (loaded.reinitializing === run) loaded.reinitializing = undefined;
  }).catch(() => undefined);
  return run;
}

function drained(loaded: LoadedModule): Promise<void> {
  if (loaded.inFlight === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      loaded.onIdle.splice(loaded.onIdle.indexOf(done), 1);
      reject(
        new CaError('hsmUnavailable', `PKCS#11 operations still running after ${DRAIN_TIMEOUT_MS} ms; the module was not re-initialized`, {
          code: 'hsmUnavailable',
        }),
      );
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    loaded.onIdle.push(done);
  });
}
