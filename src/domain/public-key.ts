/**
 * What a subject public key is, as plain data: x509/ (describePublicKey) produces it from a
 * SubjectPublicKeyInfo, policy/ (checkKeyPolicy) judges it. Neither side knows the other.
 */
export type NamedCurve = 'P-256' | 'P-384';

export type PublicKeyDescription =
  | { kind: 'rsa'; bits: number; publicExponent: bigint }
  /**
   * `curveOid` is the namedCurve OID (RFC 5480 §2.1.1), or '' when the parameters are not a
   * namedCurve (explicit or implicit parameters, which RFC 5480 forbids). `curve` is set only for
   * the curves e-imza knows.
   */
  | { kind: 'ec'; curveOid: string; curve?: NamedCurve }
  | { kind: 'other'; algorithmOid: string };

/** The key family a profile needs to know (encryption and TLS key usages depend on it). */
export type PublicKeyKind = 'rsa' | 'ec';
