/**
 * The narrow key interface the CA needs (after step-ca's KMS layer): a key is named by a URI
 * ("pkcs11:token=…;object=…" or "file:…"), and a Signer only signs. Private key material never
 * crosses this interface.
 */
export type KeyAlgorithm =
  | { kind: 'rsa'; bits: 2048 | 3072 | 4096 }
  | { kind: 'ec'; curve: 'P-256' | 'P-384' };

export interface Signer {
  readonly keyUri: string;
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the key. */
  readonly publicKeySpki: Uint8Array;
  /**
   * Signs `data` (the message, not a digest) with the hash that goes with the key: SHA-256 for
   * RSA (PKCS#1 v1.5) and P-256, SHA-384 for P-384. Returns the bytes that go into an X.509
   * signatureValue: for ECDSA a DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), never raw r||s.
   * Never blocks the event loop.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface KeyStore {
  readonly kind: 'pkcs11' | 'software';
  /** Generates a new non-exportable key pair named `label` and returns its signer. */
  generateKey(label: string, algorithm: KeyAlgorithm): Promise<Signer>;
  /** Opens an existing key by the URI a previous generateKey returned. */
  openSigner(keyUri: string): Promise<Signer>;
  /** Readiness: throws (hsmUnavailable) when the store cannot sign now, e.g. the HSM token is gone. */
  check?(): Promise<void>;
  close(): Promise<void>;
}
