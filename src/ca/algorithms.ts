import { CaError } from '../errors.js';
import type { KeyAlgorithm } from '../signing/types.js';

/** The names operators type (`--algorithm ec-p256`). */
export const CA_ALGORITHMS = {
  'ec-p256': { kind: 'ec', curve: 'P-256' },
  'ec-p384': { kind: 'ec', curve: 'P-384' },
  'rsa-3072': { kind: 'rsa', bits: 3072 },
  'rsa-4096': { kind: 'rsa', bits: 4096 },
} as const satisfies Record<string, KeyAlgorithm>;
export type CaAlgorithmName = keyof typeof CA_ALGORITHMS;

export function parseCaAlgorithm(name: string): KeyAlgorithm {
  const alg = (CA_ALGORITHMS as Record<string, KeyAlgorithm>)[name];
  if (!alg) {
    throw new CaError('malformed', `unknown algorithm ${name}; use one of ${Object.keys(CA_ALGORITHMS).join(', ')}`, {
      code: 'unknownAlgorithm',
    });
  }
  return alg;
}
