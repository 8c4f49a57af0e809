/**
 * The PKCS#11 layer: the only code that speaks PKCS#11 (through graphene-pk11). The composition
 * root (src/context.ts) is its only importer in src/.
 */
export { createPkcs11KeyStore, type Pkcs11KeyStoreOptions } from './pkcs11-keystore.js';
export { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11ObjectType, type Pkcs11Uri } from './pkcs11-uri.js';
export { CKR, translatePkcs11Error } from './pkcs11-errors.js';
export { ensureSoftHsmToken, findSoftHsmModule, type SoftHsmToken } from './softhsm.js';
