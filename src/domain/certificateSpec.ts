/**
 * What a certificate must say, as plain data: policy/ (profiles) produces it, x509/ encodes it.
 * Neither side knows the other; ca/ joins them.
 */

/** Attribute types of the subject DNs we issue (profiles.md, "Subjects"). */
export type NameAttributeType =
  | 'C'
  | 'O'
  | 'OU'
  | 'CN'
  | 'givenName'
  | 'surname'
  | 'serialNumber'
  | 'organizationIdentifier'
  | 'businessCategory';

export interface NameAttribute {
  type: NameAttributeType;
  value: string;
}

export type KeyUsageBit =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

/** ETSI EN 319 412-5 qcStatements. */
export interface QcStatementsSpec {
  compliance: boolean;
  /** QcSSCD: the private key lives on a qualified signature creation device (card, SIM). */
  sscd: boolean;
  /** QcType (id-etsi-qct-esign / eseal / web). */
  type: 'esign' | 'eseal' | 'web';
  /** QcPDS: PKI disclosure statement URL (language "en"). */
  pdsUrl?: string;
  /** QcCClegislation (ISO 3166 country code). */
  legislationCountry?: string;
  /** RFC 3739 pkixQCSyntax-v2 with the ETSI semantics identifier (EN 319 412-1 §5.1). */
  semanticsId?: 'natural' | 'legal';
}

export interface CertificateSpec {
  subject: NameAttribute[];
  /** Always encoded critical. */
  keyUsage: KeyUsageBit[];
  /** OIDs (dotted). Non-critical. */
  extendedKeyUsage?: string[];
  /** Encoded critical when present. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** Policy OIDs (dotted), non-critical. */
  certificatePolicies?: string[];
  qcStatements?: QcStatementsSpec;
  authorityInfoAccess?: { ocsp?: string; caIssuers?: string };
  crlDistributionPoint?: string;
  subjectAltName?: { dnsNames?: string[]; emails?: string[]; directoryName?: NameAttribute[] };
  /** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1), for delegated OCSP signers. */
  ocspNoCheck?: boolean;
}
