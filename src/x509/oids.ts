/** Object identifiers x509/ encodes or reads, with where they are defined. */

/** Name attribute types (X.520; organizationIdentifier: X.520 2012 / ETSI EN 319 412-1 §5.1.4). */
export const NAME_ATTRIBUTE_OIDS = {
  C: '2.5.4.6',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  givenName: '2.5.4.42',
  surname: '2.5.4.4',
  serialNumber: '2.5.4.5',
  organizationIdentifier: '2.5.4.97',
  businessCategory: '2.5.4.15',
} as const;

/** Certificate extensions (RFC 5280 §4.2, RFC 6960 §4.2.2.2.1, RFC 3739 §3.2.6). */
export const EXTENSION_OIDS = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  qcStatements: '1.3.6.1.5.5.7.1.3',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
} as const;

/** Access methods of AuthorityInfoAccess (RFC 5280 §4.2.2.1). */
export const ACCESS_METHOD_OIDS = {
  ocsp: '1.3.6.1.5.5.7.48.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
} as const;

/** Key and signature algorithms (RFC 3279, RFC 4055, RFC 5480, RFC 5758). */
export const ALGORITHM_OIDS = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

/** Named curves (RFC 5480 §2.1.1.1). */
export const CURVE_OIDS = {
  'P-256': '1.2.840.10045.3.1.7',
  'P-384': '1.3.132.0.34',
} as const;

/** ETSI EN 319 412-5 §4.2 and §4.3 statements, RFC 3739 §3.2.6 and ETSI EN 319 412-1 §5.1. */
export const QC_OIDS = {
  compliance: '0.4.0.1862.1.1',
  sscd: '0.4.0.1862.1.4',
  pds: '0.4.0.1862.1.5',
  type: '0.4.0.1862.1.6',
  typeEsign: '0.4.0.1862.1.6.1',
  typeEseal: '0.4.0.1862.1.6.2',
  typeWeb: '0.4.0.1862.1.6.3',
  ccLegislation: '0.4.0.1862.1.7',
  pkixQcSyntaxV2: '1.3.6.1.5.5.7.11.2',
  semanticsIdNatural: '0.4.0.194121.1.1',
  semanticsIdLegal: '0.4.0.194121.1.2',
} as const;

/**
 * CMP and CRMF (RFC 4210 §5.1.3, App. F; RFC 4211 §4.4, §6.5; RFC 9480 §2, §4.3; RFC 9481 §2,
 * §6.1, §6.2; RFC 8018 §5.2, App. B.1.2) and the CRL reason extension (RFC 5280 §5.3.1).
 */
export const CMP_OIDS = {
  passwordBasedMac: '1.2.840.113533.7.66.13',
  pbmac1: '1.2.840.113549.1.5.14',
  pbkdf2: '1.2.840.113549.1.5.12',
  sha1: '1.3.14.3.2.26',
  /** hmac-sha1 of RFC 2104/RFC 4211 §4.4 (OpenSSL's default PBM mac); hmacWithSHA1 is RFC 8018's. */
  hmacSha1: '1.3.6.1.5.5.8.1.2',
  hmacWithSha1: '1.2.840.113549.2.7',
  hmacWithSha256: '1.2.840.113549.2.9',
  hmacWithSha384: '1.2.840.113549.2.10',
  hmacWithSha512: '1.2.840.113549.2.11',
  sha1WithRsa: '1.2.840.113549.1.1.5',
  ecdsaWithSha1: '1.2.840.10045.4.1',
  ed25519: '1.3.101.112',
  implicitConfirm: '1.3.6.1.5.5.7.4.13',
  confirmWaitTime: '1.3.6.1.5.5.7.4.14',
  caCerts: '1.3.6.1.5.5.7.4.17',
  rootCaKeyUpdate: '1.3.6.1.5.5.7.4.18',
  rootCaCert: '1.3.6.1.5.5.7.4.20',
  regCtrlOldCertId: '1.3.6.1.5.5.7.5.1.5',
  crlReason: '2.5.29.21',
} as const;
