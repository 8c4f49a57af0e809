import { createHash } from 'node:crypto';
import { MechanismEnum, type PrivateKey, type Session } from 'graphene-pk11';
import { CaError, isCaError } from '../src/errors.js';
import { rawEcdsaToDer } from '../src/signing/ecdsa-signature.js';
import type { Signer } from '../src/signing/types.js';
import { translatePkcs11Error } from './pkcs11-errors.js';
import type { TokenKey } from './pkcs11-keys.js';

/**
 * Where a signer gets its sessions: a Pkcs11SessionPool, or a token connection that replaces its
 * pool after an outage (hsm/pkcs11-token.ts). `epoch` changes whenever object handles found
 * before may have become invalid or, worse, name other objects now.
 */
export interface SessionRunner {
  use<T>(work: (session: Session, epoch: number) => T | Promise<T>): Promise<T>;
}

/**
 * RSA: CKM_SHA256_RSA_PKCS, the token hashes and pads (PKCS#1 v1.5, RFC 8017 §8.2).
 * EC: the host hashes (SHA-256 for P-256, SHA-384 for P-384, RFC 5758 §3.2) and the token signs
 * the digest with plain CKM_ECDSA, because SoftHSM2 (and some HSMs) lack CKM_ECDSA_SHA256/384.
 * CKM_ECDSA returns r || s, which becomes a DER Ecdsa-Sig-Value for X.509.
 *
 * The private key's handle is kept with the epoch it was found in (`keyEpoch`). In a later epoch
 * (the token connection was rebuilt), and whenever the handle is refused, the key is looked up
 * again by CKA_ID, and must still have the public key this signer was opened with.
 */
export function createPkcs11Signer(
  sessions: SessionRunner,
  keyUri: string,
  key: TokenKey,
  findKeyAgain: (session: Session) => TokenKey,
  keyEpoch = 0,
): Signer {
  const { algorithm } = key;
  const isEc = algorithm.kind === 'ec';
  const digest = isEc && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  const mechanism = isEc ? MechanismEnum.ECDSA : MechanismEnum.SHA256_RSA_PKCS;
  let current = { epoch: keyEpoch, privateKey: key.privateKey };

  function refind(session: Session, epoch: number): PrivateKey {
    const found = findKeyAgain(session);
    if (!Buffer.from(found.publicKeySpki).equals(Buffer.from(key.publicKeySpki))) {
      throw new CaError('internal', 'the token now holds another key under this key\'s CKA_ID', { code: 'keyChanged' });
    }
    current = { epoch, privateKey: found.privateKey };
    return found.privateKey;
  }

  async function signInSession(session: Session, epoch: number, input: Buffer): Promise<Buffer> {
    const privateKey = current.epoch === epoch ? current.privateKey : refind(session, epoch);
    try {
      return await signOnce(session, mechanism, privateKey, input);
    } catch (error) {
      // Object handles change when the module reloads its object store or logs out (SoftHSM2
      // drops private objects' handles when the last session closes); look the key up once.
      if (!isCaError(error) || error.code !== 'keyNotFound') throw error;
      return signOnce(session, mechanism, refind(session, epoch), input);
    }
  }

  return {
    keyUri,
    algorithm,
    publicKeySpki: key.publicKeySpki,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const input = isEc ? createHash(digest).update(data).digest() : Buffer.from(data);
      const signature = await sessions.use((session, epoch) => signInSession(session, epoch, input));
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
