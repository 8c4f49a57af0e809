import { createHash } from 'node:crypto';
import { MechanismEnum, type PrivateKey, type Session } from 'graphene-pk11';
import { isCaError } from '../src/errors.js';
import { rawEcdsaToDer } from '../src/signing/ecdsa-signature.js';
import type { Signer } from '../src/signing/types.js';
import { translatePkcs11Error } from './pkcs11-errors.js';
import type { TokenKey } from './pkcs11-keys.js';
import type { Pkcs11SessionPool } from './pkcs11-session-pool.js';

/**
 * RSA: CKM_SHA256_RSA_PKCS, the token hashes and pads (PKCS#1 v1.5, RFC 8017 §8.2).
 * EC: the host hashes (SHA-256 for P-256, SHA-384 for P-384, RFC 5758 §3.2) and the token signs
 * the digest with plain CKM_ECDSA, because SoftHSM2 (and some HSMs) lack CKM_ECDSA_SHA256/384.
 * CKM_ECDSA returns r || s, which becomes a DER Ecdsa-Sig-Value for X.509.
 */
export function createPkcs11Signer(
  pool: Pkcs11SessionPool,
  keyUri: string,
  key: TokenKey,
  findKeyAgain: (session: Session) => TokenKey,
): Signer {
  const { algorithm } = key;
  const isEc = algorithm.kind === 'ec';
  const digest = isEc && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  const mechanism = isEc ? MechanismEnum.ECDSA : MechanismEnum.SHA256_RSA_PKCS;
  let privateKey = key.privateKey;

  async function signInSession(session: Session, input: Buffer): Promise<Buffer> {
    try {
      return await signOnce(session, mechanism, privateKey, input);
    } catch (error) {
      // Object handles may change if the module reloads its object store; look the key up by id once.
      if (!isCaError(error) || error.code !== 'keyNotFound') throw error;
      privateKey = findKeyAgain(session).privateKey;
      return signOnce(session, mechanism, privateKey, input);
    }
  }

  return {
    keyUri,
    algorithm,
    publicKeySpki: key.publicKeySpki,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const input = isEc ? createHash(digest).update(data).digest() : Buffer.from(data);
      const signature = await pool.use((session) => signInSession(session, input));
      return isEc ? rawEcdsaToDer(signature) : new Uint8Array(signature);
    },
  };
}

/**
 * C_SignInit runs on the calling thread (it only sets up the operation); C_Sign, which does the
 * private-key work, runs on the libuv thread pool through graphene's callback form of once().
 */
function signOnce(session: Session, mechanism: MechanismEnum, privateKey: PrivateKey, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let operation;
    try {
      operation = session.createSign(mechanism, privateKey);
    } catch (error) {
      return reject(translatePkcs11Error(error, 'C_SignInit'));
    }
    operation.once(input, (error: Error | null, signature: Buffer | null) => {
      if (error || !signature) reject(translatePkcs11Error(error, 'C_Sign'));
      else resolve(Buffer.from(signature));
    });
  });
}
