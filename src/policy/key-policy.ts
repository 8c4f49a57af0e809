import type { PublicKeyDescription } from '../domain/public-key.js';
import { CaError } from '../errors.js';
import { DEFAULT_PKI_SETTINGS, type KeyPolicySettings } from './settings.js';

export type { PublicKeyDescription } from '../domain/public-key.js';

function reject(code: string, detail: string): CaError {
  return new CaError('badPublicKey', detail, { code });
}

/**
 * Which subject keys e-imza certifies (profiles.md, "Common"): RSA 2048–4096 bits with
 * e = 65537 and a modulus of whole octets; EC on P-256 or P-384 (RFC 5480 namedCurve).
 * Throws `badPublicKey`; returns nothing when the key is acceptable.
 */
export function checkKeyPolicy(publicKey: PublicKeyDescription, policy: KeyPolicySettings = DEFAULT_PKI_SETTINGS.keyPolicy): void {
  switch (publicKey.kind) {
    case 'rsa': {
      if (publicKey.bits < policy.rsaMinBits) throw reject('weakRsaKey', `RSA key of ${publicKey.bits} bits; at least ${policy.rsaMinBits} needed`);
      if (publicKey.bits > policy.rsaMaxBits) throw reject('rsaKeySize', `RSA key of ${publicKey.bits} bits; at most ${policy.rsaMaxBits} accepted`);
      // CA/B Baseline Requirements §6.1.5: the modulus size is a multiple of 8 bits.
      if (publicKey.bits % 8 !== 0) throw reject('rsaKeySize', `RSA key of ${publicKey.bits} bits is not a whole number of octets`);
      if (!policy.rsaPublicExponents.some((e) => BigInt(e) === publicKey.publicExponent)) {
        throw reject('rsaExponent', `RSA public exponent ${publicKey.publicExponent} is not accepted (${policy.rsaPublicExponents.join(', ')})`);
      }
      return;
    }
    case 'ec':
      if (!publicKey.curve || !policy.ecCurves.includes(publicKey.curve)) {
        throw reject('unsupportedCurve', `EC curve ${publicKey.curveOid || '(explicit parameters)'} is not accepted (${policy.ecCurves.join(', ')})`);
      }
      return;
    case 'other':
      throw reject('unsupportedKeyType', `key algorithm ${publicKey.algorithmOid} is not accepted (RSA or EC)`);
  }
}
