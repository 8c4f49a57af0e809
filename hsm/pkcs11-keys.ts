import { randomBytes } from 'node:crypto';
import {
  KeyGenMechanism,
  KeyType,
  ObjectClass,
  type IKeyPair,
  type ITemplate,
  type PrivateKey,
  type Session,
  type SessionObject,
} from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import type { KeyAlgorithm } from '../src/signing/types.js';
import { callPkcs11, translatePkcs11Error } from './pkcs11-errors.js';
import { curveFromEcParameters, ecParametersFor, ecSpki, rsaModulusBits, rsaSpki } from './pkcs11-public-key.js';

/** A key pair found in (or generated in) the token, described well enough to sign with it. */
export interface TokenKey {
  privateKey: PrivateKey;
  id: Buffer;
  label: string;
  algorithm: KeyAlgorithm;
  publicKeySpki: Uint8Array;
}

/** CKA_ID is random; 16 bytes make collisions between independently generated keys negligible. */
const KEY_ID_LENGTH = 16;
const RSA_PUBLIC_EXPONENT = Buffer.from([0x01, 0x00, 0x01]); // 65537

/**
 * Generates a key pair inside the token (PKCS#11 v2.40 §5.14, C_GenerateKeyPair) on the libuv
 * thread pool. The private key is a token object that never leaves the device: CKA_SENSITIVE
 * true and CKA_EXTRACTABLE false, so the token also sets CKA_ALWAYS_SENSITIVE and
 * CKA_NEVER_EXTRACTABLE (PKCS#11 v2.40 §4.9, private key objects).
 */
export function generateTokenKeyPair(session: Session, label: string, algorithm: KeyAlgorithm): Promise<TokenKey> {
  const id = randomBytes(KEY_ID_LENGTH);
  const common = { token: true, label, id };
  const publicTemplate: ITemplate = {
    ...common,
    class: ObjectClass.PUBLIC_KEY,
    private: false,
    verify: true,
    encrypt: false,
    wrap: false,
  };
  const privateTemplate: ITemplate = {
    ...common,
    class: ObjectClass.PRIVATE_KEY,
    private: true,
    sensitive: true,
    extractable: false,
    sign: true,
    decrypt: false,
    unwrap: false,
    derive: false,
  };
  let mechanism: KeyGenMechanism;
  if (algorithm.kind === 'rsa') {
    mechanism = KeyGenMechanism.RSA; // CKM_RSA_PKCS_KEY_PAIR_GEN
    Object.assign(publicTemplate, { keyType: KeyType.RSA, modulusBits: algorithm.bits, publicExponent: RSA_PUBLIC_EXPONENT });
    privateTemplate['keyType'] = KeyType.RSA;
  } else {
    mechanism = KeyGenMechanism.EC; // CKM_EC_KEY_PAIR_GEN
    Object.assign(publicTemplate, { keyType: KeyType.EC, paramsEC: ecParametersFor(algorithm.curve) });
    privateTemplate['keyType'] = KeyType.EC;
  }
  return new Promise((resolve, reject) => {
    try {
      session.generateKeyPair(mechanism, publicTemplate, privateTemplate, (error: Error | null, keys: IKeyPair | null) => {
        if (error || !keys) return reject(translatePkcs11Error(error, 'C_GenerateKeyPair'));
        try {
          resolve(describeKeyPair(keys.privateKey, keys.publicKey));
        } catch (describeError) {
          reject(describeError);
        }
      });
    } catch (error) {
      reject(translatePkcs11Error(error, 'C_GenerateKeyPair'));
    }
  });
}

export function privateKeyLabelExists(session: Session, label: string): boolean {
  return findObjects(session, { class: ObjectClass.PRIVATE_KEY, token: true, label }).length > 0;
}

/** Finds exactly one private key by CKA_ID and/or CKA_LABEL, and its public key by the same id. */
export function findTokenKey(session: Session, criteria: { id?: Uint8Array; label?: string }): TokenKey {
  const template: ITemplate = { class: ObjectClass.PRIVATE_KEY, token: true };
  if (criteria.id !== undefined) template['id'] = Buffer.from(criteria.id);
  if (criteria.label !== undefined) template['label'] = criteria.label;
  const privateKeys = findObjects(session, template);
  if (privateKeys.length === 0) throw new CaError('notFound', 'no such private key in the token', { code: 'keyNotFound' });
  if (privateKeys.length > 1) {
    throw new CaError('conflict', 'the key URI matches several private keys; add its id', { code: 'keyAmbiguous' });
  }
  const privateKey = callPkcs11('C_GetAttributeValue', () => (privateKeys[0] as SessionObject).toType<PrivateKey>());
  const { id } = callPkcs11('C_GetAttributeValue', () => privateKey.getAttribute({ id: null })) as { id: Buffer };
  const publicKeys = findObjects(session, { class: ObjectClass.PUBLIC_KEY, id });
  if (publicKeys.length !== 1) {
    throw new CaError('notFound', 'the private key has no single public key object with the same id', {
      code: 'publicKeyNotFound',
    });
  }
  return describeKeyPair(privateKey, publicKeys[0] as SessionObject);
}

function describeKeyPair(privateKey: PrivateKey, publicKey: SessionObject): TokenKey {
  const { id, label, keyType } = callPkcs11('C_GetAttributeValue', () =>
    privateKey.getAttribute({ id: null, label: null, keyType: null }),
  ) as { id: Buffer; label: string; keyType: number };
  if (keyType === KeyType.RSA) {
    const { modulus, publicExponent } = callPkcs11('C_GetAttributeValue', () =>
      publicKey.getAttribute({ modulus: null, publicExponent: null }),
    ) as { modulus: Buffer; publicExponent: Buffer };
    const bits = rsaModulusBits(modulus);
    if (bits !== 2048 && bits !== 3072 && bits !== 4096) throw unsupportedKey(`RSA ${bits}`);
    return { privateKey, id, label, algorithm: { kind: 'rsa', bits }, publicKeySpki: rsaSpki(modulus, publicExponent) };
  }
  if (keyType === KeyType.EC) {
    // CKA_EC_PARAMS and CKA_ECDSA_PARAMS are one attribute (0x180); graphene reads it back under
    // the older name.
    const { paramsECDSA, pointEC } = callPkcs11('C_GetAttributeValue', () =>
      publicKey.getAttribute({ paramsECDSA: null, pointEC: null }),
    ) as { paramsECDSA: Buffer; pointEC: Buffer };
    const curve = curveFromEcParameters(paramsECDSA);
    if (curve === undefined) throw unsupportedKey('EC on an unsupported curve');
    return { privateKey, id, label, algorithm: { kind: 'ec', curve }, publicKeySpki: ecSpki(curve, pointEC) };
  }
  throw unsupportedKey(`key type ${keyType}`);
}

function findObjects(session: Session, template: ITemplate): SessionObject[] {
  return callPkcs11('C_FindObjects', () => Array.from(session.find(template)));
}

function unsupportedKey(what: string): CaError {
  return new CaError('internal', `token key is ${what}; e-imza signs with RSA 2048/3072/4096 or EC P-256/P-384`, {
    code: 'keyAlgorithmUnsupported',
  });
}
