import { KeyGenMechanism, KeyType, ObjectClass, type IKeyPair, type ITemplate, type PrivateKey, type Session } from 'graphene-pk11';
import { CaError, isCaError } from '../src/errors.js';
import { callPkcs11, translatePkcs11Error } from './pkcs11-errors.js';
import { findTokenKey, type TokenKey } from './pkcs11-keys.js';
import { ecParametersFor } from './pkcs11-public-key.js';

/**
 * Key pairs of a holder's smart card. Unlike the CA key store (pkcs11-keys.ts), the caller picks
 * CKA_ID and CKA_LABEL: middleware (OpenSC, browsers, the national signing client) pairs a key
 * with its certificate by CKA_ID and shows the label, so both are fixed per certificate type.
 */
export type CardKeyUsage =
  /** Signature and authentication keys: CKA_SIGN only. */
  | 'sign'
  /**
   * The encryption key: CKA_DERIVE for ECDH key agreement, and CKA_SIGN as well, because the
   * only proof of possession a CA can check in a PKCS#10 request is a signature by the key it
   * certifies (RFC 2986 §3). The certificate's keyUsage (keyAgreement) still restricts it.
   */
  | 'sign-and-derive';

export interface CardKeySpec {
  id: Uint8Array;
  label: string;
  usage: CardKeyUsage;
}

/** How a private key on the card is protected and what it may do (PKCS#11 v2.40 §4.9). */
export interface CardKeyProtection {
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  /** Generated on the card (CKA_LOCAL), not imported. */
  local: boolean;
  sign: boolean;
  derive: boolean;
}

/**
 * C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN, P-256) on the libuv thread pool: key generation on a
 * card takes seconds. Both halves are token objects; the private key is private, sensitive and
 * not extractable, so the card also sets CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE.
 */
export function generateCardKeyPair(session: Session, spec: CardKeySpec): Promise<TokenKey> {
  const id = Buffer.from(spec.id);
  const common = { token: true, id, label: spec.label, keyType: KeyType.EC };
  const publicTemplate: ITemplate = {
    ...common,
    class: ObjectClass.PUBLIC_KEY,
    private: false,
    paramsEC: ecParametersFor('P-256'),
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
    derive: spec.usage === 'sign-and-derive',
    decrypt: false,
    unwrap: false,
  };
  return new Promise((resolve, reject) => {
    try {
      session.generateKeyPair(KeyGenMechanism.EC, publicTemplate, privateTemplate, (error: Error | null, keys: IKeyPair | null) => {
        if (error || !keys) return reject(translatePkcs11Error(error, 'C_GenerateKeyPair'));
        try {
          resolve(findTokenKey(session, { id }));
        } catch (describeError) {
          reject(describeError);
        }
      });
    } catch (error) {
      reject(translatePkcs11Error(error, 'C_GenerateKeyPair'));
    }
  });
}

/** The key pair with this CKA_ID, or undefined when the card has no private key with it. */
export function findCardKeyPair(session: Session, id: Uint8Array): TokenKey | undefined {
  try {
    return findTokenKey(session, { id });
  } catch (error) {
    if (isCaError(error) && error.code === 'keyNotFound') return undefined;
    throw error;
  }
}

export function cardKeyProtection(privateKey: PrivateKey): CardKeyProtection {
  return callPkcs11('C_GetAttributeValue', () =>
    privateKey.getAttribute({
      sensitive: null,
      extractable: null,
      alwaysSensitive: null,
      neverExtractable: null,
      local: null,
      sign: null,
      derive: null,
    }),
  ) as CardKeyProtection;
}

/**
 * A key found on the card is reused (a run that generated it stopped before its certificate was
 * issued) only if it could have come from this command: generated on the card, never
 * extractable, EC P-256, able to sign. Anything else is a card someone else prepared.
 */
export function checkReusableKey(key: Pick<TokenKey, 'label' | 'algorithm'>, protection: CardKeyProtection, spec: CardKeySpec): void {
  const isP256 = key.algorithm.kind === 'ec' && key.algorithm.curve === 'P-256';
  const protectedKey = protection.sensitive && protection.alwaysSensitive && !protection.extractable && protection.neverExtractable;
  const usable = protection.sign && (spec.usage === 'sign' || protection.derive);
  if (!isP256 || !protectedKey || !protection.local || !usable) {
    throw new CaError('conflict', `the card holds a key "${key.label}" with the id of "${spec.label}" that this command did not generate; use a blank card`, {
      code: 'cardKeyForeign',
    });
  }
}
