import { createPublicKey, verify } from 'node:crypto';
import { describePublicKey, publicKeyJwk } from './public-key.js';

/**
 * A signature over some bytes by the key of a SubjectPublicKeyInfo: ECDSA (DER signature) or
 * RSA PKCS#1 v1.5, with SHA-256 unless told. Used where a holder proves it controls the key of
 * a certificate it already has (renewal); false for anything that does not verify.
 */
export function verifyDetachedSignature(spki: Uint8Array, data: Uint8Array, signature: Uint8Array, hash: 'sha256' | 'sha384' | 'sha512' = 'sha256'): boolean {
  try {
    const jwk = publicKeyJwk(spki);
    const key = jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    const kind = describePublicKey(spki).kind;
    return verify(hash, data, kind === 'ec' ? { key, dsaEncoding: 'der' } : key, signature);
  } catch {
    return false;
  }
}
