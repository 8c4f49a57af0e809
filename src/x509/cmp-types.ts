import type { RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import type { ParsedCsr } from './csr.js';

/**
 * The values of the CMP codec (RFC 4210, CRMF RFC 4211, the Lightweight CMP Profile RFC 9483):
 * what parsePkiMessage returns and buildPkiMessage takes. Byte fields are fresh copies; every
 * `der` is the exact encoding that was read, for echoing and for signatures over it.
 */

/**
 * PKIBody ::= CHOICE { ir [0], ip [1], cr [2], cp [3], p10cr [4], popdecc [5], popdecr [6], kur [7],
 *   kup [8], krr [9], krp [10], rr [11], rp [12], ccr [13], ccp [14], ckuann [15], cann [16],
 *   rann [17], crlann [18], pkiconf [19], nested [20], genm [21], genp [22], error [23],
 *   certConf [24], pollReq [25], pollRep [26] }                                  -- RFC 4210 §5.1.2
 * The index is the tag number (EXPLICIT: the module is DEFINITIONS EXPLICIT TAGS, App. F).
 */
export const PKI_BODY_TYPES = [
  'ir', 'ip', 'cr', 'cp', 'p10cr', 'popdecc', 'popdecr', 'kur', 'kup', 'krr', 'krp', 'rr', 'rp', 'ccr',
  'ccp', 'ckuann', 'cann', 'rann', 'crlann', 'pkiConf', 'nested', 'genm', 'genp', 'error', 'certConf',
  'pollReq', 'pollRep',
] as const;
export type PkiBodyType = (typeof PKI_BODY_TYPES)[number];

/** PKIStatus ::= INTEGER { accepted (0), grantedWithMods (1), rejection (2), waiting (3), revocationWarning (4), revocationNotification (5), keyUpdateWarning (6) } (§5.2.3). */
export const PKI_STATUSES = ['accepted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification', 'keyUpdateWarning'] as const;
export type PkiStatus = (typeof PKI_STATUSES)[number];

/** PKIFailureInfo ::= BIT STRING { badAlg (0), … duplicateCertReq (26) } (§5.2.3): the index is the bit number. */
export const PKI_FAILURE_INFO = [
  'badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId', 'badDataFormat', 'wrongAuthority',
  'incorrectData', 'missingTimeStamp', 'badPOP', 'certRevoked', 'certConfirmed', 'wrongIntegrity',
  'badRecipientNonce', 'timeNotAvailable', 'unacceptedPolicy', 'unacceptedExtension', 'addInfoNotAvailable',
  'badSenderNonce', 'badCertTemplate', 'signerNotTrusted', 'transactionIdInUse', 'unsupportedVersion',
  'notAuthorized', 'systemUnavail', 'systemFailure', 'duplicateCertReq',
] as const;
export type PkiFailureInfo = (typeof PKI_FAILURE_INFO)[number];
/** Bit numbers by name, e.g. PKI_FAILURE_BITS.badMessageCheck === 1. */
export const PKI_FAILURE_BITS = Object.fromEntries(PKI_FAILURE_INFO.map((name, bit) => [name, bit])) as Readonly<Record<PkiFailureInfo, number>>;

/** A DER Name and its one-line form (formatName: "C=AZ, O=…, CN=…"; "" for the NULL-DN). */
export interface CmpName {
  der: Uint8Array;
  text: string;
}

/** A GeneralName (RFC 5280 §4.2.1.6) as DER, readable ("CN=…", "DNS:…", "email:…"), and its Name when a directoryName. */
export interface CmpGeneralName {
  der: Uint8Array;
  text: string;
  directoryName: Uint8Array | null;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }. */
export interface AlgorithmId {
  oid: string;
  /** The DER of the parameters, null when absent. */
  parameters: Uint8Array | null;
  der: Uint8Array;
}

/** InfoTypeAndValue ::= SEQUENCE { infoType OBJECT IDENTIFIER, infoValue ANY OPTIONAL } (§5.3.19); also AttributeTypeAndValue of CRMF controls. */
export interface InfoTypeAndValue {
  oid: string;
  /** The DER of the value, null when absent. */
  value: Uint8Array | null;
}

/**
 * PKIHeader ::= SEQUENCE { pvno INTEGER { cmp1999 (1), cmp2000 (2), cmp2021 (3) }, sender GeneralName,
 *   recipient GeneralName, messageTime [0] GeneralizedTime OPTIONAL, protectionAlg [1] AlgorithmIdentifier
 *   OPTIONAL, senderKID [2] KeyIdentifier OPTIONAL, recipKID [3] KeyIdentifier OPTIONAL, transactionID [4]
 *   OCTET STRING OPTIONAL, senderNonce [5] OCTET STRING OPTIONAL, recipNonce [6] OCTET STRING OPTIONAL,
 *   freeText [7] PKIFreeText OPTIONAL, generalInfo [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
 *                                                                    -- RFC 4210 §5.1.1, RFC 9480
 */
export interface PkiHeader {
  /** 2 or 3 (cmp1999 is refused). */
  pvno: number;
  sender: CmpGeneralName;
  recipient: CmpGeneralName;
  messageTime: Date | null;
  protectionAlg: AlgorithmId | null;
  senderKID: Uint8Array | null;
  recipKID: Uint8Array | null;
  transactionID: Uint8Array | null;
  senderNonce: Uint8Array | null;
  recipNonce: Uint8Array | null;
  freeText: string[];
  generalInfo: InfoTypeAndValue[];
  /** generalInfo holds id-it-implicitConfirm (§5.1.1.1). */
  implicitConfirm: boolean;
}

/** PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL } (§5.2.3). */
export interface PkiStatusInfo {
  status: PkiStatus;
  statusString: string[];
  /** The bits set, by name (bits beyond duplicateCertReq are ignored). */
  failInfo: PkiFailureInfo[];
}

/**
 * CertTemplate ::= SEQUENCE { version [0] Version OPTIONAL, serialNumber [1] INTEGER OPTIONAL,
 *   signingAlg [2] AlgorithmIdentifier OPTIONAL, issuer [3] Name OPTIONAL, validity [4] OptionalValidity
 *   OPTIONAL, subject [5] Name OPTIONAL, publicKey [6] SubjectPublicKeyInfo OPTIONAL, issuerUID [7]
 *   UniqueIdentifier OPTIONAL, subjectUID [8] UniqueIdentifier OPTIONAL, extensions [9] Extensions OPTIONAL }
 *                                                     -- RFC 4211 §5 (DEFINITIONS IMPLICIT TAGS, App. B)
 */
export interface CertTemplate {
  der: Uint8Array;
  version: number | null;
  serial: Serial | null;
  signingAlg: AlgorithmId | null;
  issuer: CmpName | null;
  validity: { notBefore: Date | null; notAfter: Date | null } | null;
  subject: CmpName | null;
  /** The DER SubjectPublicKeyInfo (the [6] IMPLICIT tag put back to SEQUENCE). */
  publicKey: Uint8Array | null;
  /** The DER Extensions, SEQUENCE OF Extension (the [9] IMPLICIT tag put back to SEQUENCE). */
  extensions: Uint8Array | null;
}

/**
 * ProofOfPossession ::= CHOICE { raVerified [0] NULL, signature [1] POPOSigningKey, keyEncipherment [2]
 *   POPOPrivKey, keyAgreement [3] POPOPrivKey }; POPOSigningKey ::= SEQUENCE { poposkInput [0]
 *   POPOSigningKeyInput OPTIONAL, algorithmIdentifier AlgorithmIdentifier, signature BIT STRING } (RFC 4211 §4)
 */
export type ProofOfPossession =
  | { kind: 'signature'; algorithm: AlgorithmId; signature: Uint8Array; /** The DER of poposkInput ([0] IMPLICIT), null when absent. */ poposkInput: Uint8Array | null }
  | { kind: 'raVerified' }
  | { kind: 'keyEncipherment' | 'keyAgreement' };

/**
 * CertReqMsg ::= SEQUENCE { certReq CertRequest, popo ProofOfPossession OPTIONAL, regInfo SEQUENCE SIZE
 *   (1..MAX) OF AttributeTypeAndValue OPTIONAL }; CertRequest ::= SEQUENCE { certReqId INTEGER,
 *   certTemplate CertTemplate, controls Controls OPTIONAL } (RFC 4211 §3, §5, §6)
 */
export interface CertReqMsg {
  certReqId: number;
  /** The DER CertRequest: what a POPOSigningKey without poposkInput signs (RFC 4211 §4.1). */
  certRequest: Uint8Array;
  template: CertTemplate;
  controls: InfoTypeAndValue[];
  /** id-regCtrl-oldCertID (RFC 4211 §6.5), which kur carries: CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER }. */
  oldCertId: { issuer: CmpGeneralName; serial: Serial } | null;
  popo: ProofOfPossession | null;
  regInfo: InfoTypeAndValue[];
}

/** RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL } (RFC 4210 §5.3.9). */
export interface RevDetails {
  certDetails: CertTemplate;
  /** certDetails.serial and certDetails.issuer, the two fields RFC 9483 §4.2 requires. */
  serial: Serial | null;
  issuer: CmpName | null;
  /** CRLReason (RFC 5280 §5.3.1) from crlEntryDetails; null without a reasonCode extension. */
  reasonCode: number | null;
  reason: RevocationReason | null;
  crlEntryDetails: Uint8Array | null;
}

/** CertStatus ::= SEQUENCE { certHash OCTET STRING, certReqId INTEGER, statusInfo PKIStatusInfo OPTIONAL, hashAlg [0] AlgorithmIdentifier OPTIONAL } (§5.3.18, RFC 9480). */
export interface CertStatus {
  certHash: Uint8Array;
  certReqId: number;
  statusInfo: PkiStatusInfo | null;
  hashAlg: AlgorithmId | null;
}

/**
 * CertResponse ::= SEQUENCE { certReqId INTEGER, status PKIStatusInfo, certifiedKeyPair CertifiedKeyPair
 *   OPTIONAL, rspInfo OCTET STRING OPTIONAL }; CertifiedKeyPair ::= SEQUENCE { certOrEncCert CertOrEncCert,
 *   … }; CertOrEncCert ::= CHOICE { certificate [0] CMPCertificate, encryptedCert [1] EncryptedKey } (§5.3.4)
 */
export interface CertResponse {
  certReqId: number;
  status: PkiStatusInfo;
  /** The DER certificate of certOrEncCert, null when absent (or encrypted). */
  certificate: Uint8Array | null;
}

export type PkiBody =
  | { type: 'ir' | 'cr' | 'kur'; requests: CertReqMsg[] }
  /** The request passed parseCsr: its signature (proof of possession) is checked. */
  | { type: 'p10cr'; csr: ParsedCsr }
  | { type: 'rr'; revocations: RevDetails[] }
  | { type: 'certConf'; statuses: CertStatus[] }
  | { type: 'genm' | 'genp'; infos: InfoTypeAndValue[] }
  | { type: 'pkiConf' }
  /** ErrorMsgContent ::= SEQUENCE { pKIStatusInfo PKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails PKIFreeText OPTIONAL } (§5.3.21). */
  | { type: 'error'; status: PkiStatusInfo; errorCode: number | null; errorDetails: string[] }
  /** CertRepMessage ::= SEQUENCE { caPubs [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL, response SEQUENCE OF CertResponse } (§5.3.4). */
  | { type: 'ip' | 'cp' | 'kup'; caPubs: Uint8Array[]; responses: CertResponse[] }
  /** RevRepContent ::= SEQUENCE { status SEQUENCE SIZE (1..MAX) OF PKIStatusInfo, revCerts [0] …, crls [1] … } (§5.3.10): status only. */
  | { type: 'rp'; statuses: PkiStatusInfo[] };

/**
 * PKIMessage ::= SEQUENCE { header PKIHeader, body PKIBody, protection [0] PKIProtection OPTIONAL,
 *   extraCerts [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }; PKIProtection ::= BIT STRING;
 *   ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody }             -- RFC 4210 §5.1, §5.1.3
 */
export interface PkiMessage {
  der: Uint8Array;
  header: PkiHeader;
  body: PkiBody;
  /** The PKIProtection bits, null when the message is unprotected. */
  protection: Uint8Array | null;
  /** DER certificates; with signature protection the first is the signer's (RFC 9483 §3.3). */
  extraCerts: Uint8Array[];
  /** The DER of ProtectedPart, what the protection covers (§5.1.3). */
  protectedPart: Uint8Array;
}
