import path from 'node:path';
import { Module } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import { translatePkcs11Error } from './pkcs11-errors.js';

/**
 * Cryptoki is initialized once per process, not per caller (PKCS#11 v2.40 §5.4: C_Initialize /
 * C_Finalize act on the whole library). Two key stores on the same module must therefore share
 * one initialization, and only the last one to close may call C_Finalize. This map mirrors that
 * process-wide state of the native library; it is the one module-level mutable in hsm/.
 */
interface LoadedModule {
  module: Module;
  users: number;
}

const loadedModules = new Map<string, LoadedModule>();

/**
 * CKF_OS_LOCKING_OK: the library may use OS threads and locks. Required because pkcs11js runs
 * asynchronous calls on the libuv thread pool; SoftHSM crashes under concurrent calls without it.
 */
const CKF_OS_LOCKING_OK = 0x2;

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
  loadedModules.set(key, { module, users: 1 });
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
      } finally {
        module.close();
      }
    }
    return;
  }
}
