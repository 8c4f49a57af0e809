/**
 * The CMP message codec (RFC 4210 with the updates of RFC 9480, CRMF RFC 4211, the Lightweight CMP
 * Profile RFC 9483, algorithms RFC 9481): PKIMessages in, PKIMessages out, as functions over bytes.
 * No HTTP, no database: the CMP endpoint decides what to answer, this module only encodes,
 * decodes and checks protection and proof of possession. OpenSSL's `openssl cmp` is the reference
 * in the tests (client against a responder built on this codec, and its mock server).
 *
 *   cmp-types.ts       the values, with the ASN.1 they stand for
 *   cmp-parse.ts       parsePkiMessage (requests), inspectPkiMessage (answers too), tryParsePkiHeader
 *   crmf.ts            CertReqMessages, CertTemplate, proof of possession (verifyPopo)
 *   cmp-protection.ts  PasswordBasedMac, PBMAC1, signatures, certHash
 *   cmp-build.ts       buildPkiMessage, genp values, cmpFailureFor
 *   cmp-asn1.ts        shared DER pieces (GeneralName, PKIStatusInfo, PKIFreeText, times)
 */
export * from './cmp-types.js';
export { parsePkiMessage, inspectPkiMessage, tryParsePkiHeader } from './cmp-parse.js';
export { verifyPopo, type PopoOptions, type CertRequestInput } from './crmf.js';
export {
  verifyMacProtection,
  verifySignatureProtection,
  certHash,
  certHashMatches,
  MIN_MAC_ITERATIONS,
  MAX_MAC_ITERATIONS,
  DEFAULT_MAC_ITERATIONS,
  type CmpHash,
  type MacProtectionInput,
  type MacVerifyOptions,
} from './cmp-protection.js';
export {
  buildPkiMessage,
  caCertsInfo,
  rootCaKeyUpdateInfo,
  cmpFailureFor,
  type CmpProtectionInput,
  type CertResponseInput,
  type PkiBodyInput,
  type PkiMessageInput,
} from './cmp-build.js';
export { CMP_CODE, MAX_CMP_LIST, type PkiStatusInfoInput } from './cmp-asn1.js';
