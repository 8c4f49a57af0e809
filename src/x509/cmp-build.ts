import { randomBytes } from 'node:crypto';
import { REVOCATION_REASON_BY_CODE } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import type { Signer } from '../signing/types.js';
import { bytesEqual } from './asn1.js';
import { CMP_CODE, directoryName, freeText, generalizedTime, infoDer, NULL_DN, statusInfoDer, type PkiStatusInfoInput } from './cmp-asn1.js';
import { macProtection, type MacProtectionInput } from './cmp-protection.js';
import { PKI_BODY_TYPES, PKI_FAILURE_INFO, type InfoTypeAndValue, type PkiBodyType, type PkiFailureInfo, type PkiHeader } from './cmp-types.js';
import { certReqMsgDer, certTemplateDer, type CertRequestInput } from './crmf.js';
import { checkDer, contextConstructed } from './der-reader.js';
import { bitString, DER_NULL, integer, octetString, oid, sequence, tlv } from './der-writer.js';
import { inspectCertificate } from './inspect.js';
import { CMP_OIDS } from './oids.js';
import { signatureAlgorithmDer, subjectKeyIdentifier } from './public-key.js';

/**
 * Writing PKIMessages (RFC 4210 §5.1): the answers of a CA (ip, cp, kup, rp, genp, pkiConf,
 * error) and, for clients and tests, the requests (ir, cr, kur, p10cr, rr, certConf, genm). The
 * header follows from the message answered (`inReplyTo`, RFC 4210 §5.1.1 and RFC 9483 §3.1):
 * pvno 3 only when the request had 3, recipient = its sender, transactionID copied, recipNonce =
 * its senderNonce; senderNonce is 16 fresh random octets, messageTime now. Protection is a
 * signature by a Signer whose certificate (and chain) go first in extraCerts, with senderKID its
 * key identifier and sender its subject (RFC 9483 §3.1, §3.3), or a MAC from a shared secret.
 */

export type CmpProtectionInput =
  /** `certificate` (DER) must hold `signer`'s key; `chain` follows it in extraCerts. */
  | { kind: 'signature'; signer: Signer; certificate: Uint8Array; chain?: readonly Uint8Array[] }
  /** PBM or PBMAC1 with a fresh salt; `senderKID` is the reference the peer knows the secret by. */
  | ({ kind: 'mac'; senderKID?: Uint8Array } & MacProtectionInput)
  /** Unprotected: only for tests of what the other side refuses. */
  | { kind: 'none' };

export interface CertResponseInput {
  /** The request's certReqId; -1 for p10cr (RFC 9483 §4.1.4). */
  certReqId: number;
  status: PkiStatusInfoInput;
  /** DER certificate, for status accepted or grantedWithMods. */
  certificate?: Uint8Array;
}

export type PkiBodyInput =
  | { type: 'ip' | 'cp' | 'kup'; caPubs?: readonly Uint8Array[]; responses: readonly CertResponseInput[] }
  | { type: 'rp'; statuses: readonly PkiStatusInfoInput[] }
  | { type: 'pkiConf' }
  | { type: 'genm' | 'genp'; infos: readonly InfoTypeAndValue[] }
  | { type: 'error'; status: PkiStatusInfoInput; errorCode?: number; errorDetails?: readonly string[] }
  | { type: 'certConf'; statuses: readonly { certHash: Uint8Array; certReqId: number; statusInfo?: PkiStatusInfoInput }[] }
  /** DER CertificationRequest. */
  | { type: 'p10cr'; csr: Uint8Array }
  /** issuer: DER Name; reasonCode: CRLReason (RFC 5280 §5.3.1). */
  | { type: 'rr'; revocations: readonly { serial: Serial; issuer: Uint8Array; reasonCode?: number }[] }
  | { type: 'ir' | 'cr' | 'kur'; requests: readonly CertRequestInput[] };

export interface PkiMessageInput {
  /** The header of the message answered; null or absent starts a transaction (or answers one that could not be read). */
  inReplyTo?: PkiHeader | null;
  body: PkiBodyInput;
  protection: CmpProtectionInput;
  /** DER Name of the sender; with signature protection the certificate's subject is the default, else the NULL-DN. */
  sender?: Uint8Array;
  /** DER Name of the recipient when there is no `inReplyTo` (default NULL-DN). */
  recipient?: Uint8Array;
  /** Default: inReplyTo's, else 16 fresh random octets. */
  transactionID?: Uint8Array;
  /** Adds id-it-implicitConfirm to generalInfo: in a request, asks for it; in ip/cp/kup, grants it (§5.1.1.1). */
  implicitConfirm?: boolean;
  generalInfo?: readonly InfoTypeAndValue[];
  freeText?: readonly string[];
  /** Default now. */
  messageTime?: Date;
  /** Appended to extraCerts (after a signer's certificate and chain), e.g. the chain of an issued certificate. */
  extraCerts?: readonly Uint8Array[];
}

function invalidInput(detail: string): CaError {
  return new CaError('internal', detail, { code: 'invalidCmpInput' });
}

const NONCE_OCTETS = 16;

// ---- InfoTypeAndValues of genp ---------------------------------------------------------------

/** id-it-caCerts with CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate (RFC 9480 §4.3.1). */
export function caCertsInfo(certificates: readonly Uint8Array[]): InfoTypeAndValue {
  if (certificates.length === 0) return { oid: CMP_OIDS.caCerts, value: null };
  for (const cert of certificates) checkDer(cert, 'invalidCmpInput', 'CA certificate');
  return { oid: CMP_OIDS.caCerts, value: sequence(...certificates) };
}

/**
 * The answer to id-it-rootCaCert: id-it-rootCaKeyUpdate with RootCaKeyUpdateValue ::= SEQUENCE {
 * newWithNew CMPCertificate, newWithOld [0] CMPCertificate OPTIONAL, oldWithNew [1] CMPCertificate
 * OPTIONAL } (RFC 9480 §4.3.2; absent value: no update).
 */
export function rootCaKeyUpdateInfo(update: { newWithNew: Uint8Array; newWithOld?: Uint8Array; oldWithNew?: Uint8Array } | null): InfoTypeAndValue {
  if (!update) return { oid: CMP_OIDS.rootCaKeyUpdate, value: null };
  return {
    oid: CMP_OIDS.rootCaKeyUpdate,
    value: sequence(
      update.newWithNew,
      ...(update.newWithOld ? [tlv(contextConstructed(0), update.newWithOld)] : []),
      ...(update.oldWithNew ? [tlv(contextConstructed(1), update.oldWithNew)] : []),
    ),
  };
}

// ---- bodies ----------------------------------------------------------------------------------

async function bodyContent(body: PkiBodyInput): Promise<Uint8Array> {
  switch (body.type) {
    case 'ip':
    case 'cp':
    case 'kup': {
      const responses = body.responses.map((response) =>
        sequence(
          integer(response.certReqId),
          statusInfoDer(response.status),
          // CertifiedKeyPair { certOrEncCert certificate [0] }
          ...(response.certificate ? [sequence(tlv(contextConstructed(0), response.certificate))] : []),
        ),
      );
      const caPubs = body.caPubs ?? [];
      return sequence(...(caPubs.length > 0 ? [tlv(contextConstructed(1), sequence(...caPubs))] : []), sequence(...responses));
    }
    case 'rp':
      if (body.statuses.length === 0) throw invalidInput('an rp needs at least one status');
      return sequence(sequence(...body.statuses.map(statusInfoDer)));
    case 'pkiConf':
      return DER_NULL;
    case 'genm':
    case 'genp':
      return sequence(...body.infos.map(infoDer));
    case 'error':
      return sequence(
        statusInfoDer(body.status),
        ...(body.errorCode === undefined ? [] : [integer(body.errorCode)]),
        ...(body.errorDetails && body.errorDetails.length > 0 ? [freeText(body.errorDetails)] : []),
      );
    case 'certConf':
      return sequence(
        ...body.statuses.map((s) => sequence(octetString(s.certHash), integer(s.certReqId), ...(s.statusInfo ? [statusInfoDer(s.statusInfo)] : []))),
      );
    case 'p10cr':
      checkDer(body.csr, 'invalidCmpInput', 'CSR');
      return body.csr;
    case 'rr':
      return sequence(
        ...body.revocations.map((r) => {
          if (r.reasonCode !== undefined && !REVOCATION_REASON_BY_CODE.has(r.reasonCode)) throw invalidInput(`${r.reasonCode} is not a CRLReason`);
          // crlEntryDetails: one Extension, reasonCode (2.5.29.21) with extnValue = DER ENUMERATED.
          const reason = r.reasonCode === undefined ? [] : [sequence(sequence(oid(CMP_OIDS.crlReason), octetString(tlv(0x0a, Uint8Array.of(r.reasonCode)))))];
          return sequence(certTemplateDer({ serial: r.serial, issuer: r.issuer }), ...reason);
        }),
      );
    case 'ir':
    case 'cr':
    case 'kur':
      if (body.requests.length === 0) throw invalidInput(`${body.type} needs at least one request`);
      return sequence(...(await Promise.all(body.requests.map(certReqMsgDer))));
  }
}

async function bodyDer(body: PkiBodyInput): Promise<Uint8Array> {
  const number = PKI_BODY_TYPES.indexOf(body.type as PkiBodyType);
  return tlv(contextConstructed(number), await bodyContent(body));
}

// ---- protection ------------------------------------------------------------------------------

interface Protector {
  algorithm: Uint8Array | null;
  senderKID: Uint8Array | null;
  sender: Uint8Array | null;
  extraCerts: Uint8Array[];
  protect(protectedPart: Uint8Array): Promise<Uint8Array | null>;
}

function protector(input: CmpProtectionInput): Protector {
  if (input.kind === 'none') return { algorithm: null, senderKID: null, sender: null, extraCerts: [], protect: async () => null };
  if (input.kind === 'mac') {
    const mac = macProtection(input);
    return { algorithm: mac.algorithm, senderKID: input.senderKID ?? null, sender: null, extraCerts: [], protect: async (data) => mac.mac(data) };
  }
  const certificate = inspectCertificate(input.certificate);
  if (!bytesEqual(certificate.subjectPublicKeySpki, input.signer.publicKeySpki)) {
    throw new CaError('internal', 'the CMP signer certificate does not hold the signer’s key', { code: 'cmpSignerMismatch' });
  }
  const keyId = certificate.subjectKeyId ? new Uint8Array(Buffer.from(certificate.subjectKeyId, 'hex')) : subjectKeyIdentifier(certificate.subjectPublicKeySpki);
  return {
    algorithm: signatureAlgorithmDer(input.signer.algorithm),
    senderKID: keyId,
    sender: certificate.subjectNameDer,
    extraCerts: [input.certificate, ...(input.chain ?? [])],
    protect: (data) => input.signer.sign(data),
  };
}

// ---- the message -----------------------------------------------------------------------------

const explicit = (n: number, value: Uint8Array): Uint8Array => tlv(contextConstructed(n), value);

/**
 * The DER PKIMessage of `input`, protected as asked. Throws internal/invalidCmpInput for inputs
 * that cannot be encoded, cmpSignerMismatch when the certificate is not the signer's.
 */
export async function buildPkiMessage(input: PkiMessageInput): Promise<Uint8Array> {
  const request = input.inReplyTo ?? null;
  const protection = protector(input.protection);
  const sender = input.sender ?? protection.sender;
  const transactionID = input.transactionID ?? request?.transactionID ?? new Uint8Array(randomBytes(NONCE_OCTETS));
  const generalInfo = [...(input.implicitConfirm ? [{ oid: CMP_OIDS.implicitConfirm, value: DER_NULL }] : []), ...(input.generalInfo ?? [])];
  const text = input.freeText ?? [];
  const header = sequence(
    integer(request?.pvno === 3 ? 3 : 2),
    sender ? directoryName(sender) : NULL_DN,
    request ? request.sender.der : input.recipient ? directoryName(input.recipient) : NULL_DN,
    explicit(0, generalizedTime(input.messageTime ?? new Date())),
    ...(protection.algorithm ? [explicit(1, protection.algorithm)] : []),
    ...(protection.senderKID ? [explicit(2, octetString(protection.senderKID))] : []),
    explicit(4, octetString(transactionID)),
    explicit(5, octetString(new Uint8Array(randomBytes(NONCE_OCTETS)))),
    ...(request?.senderNonce ? [explicit(6, octetString(request.senderNonce))] : []),
    ...(text.length > 0 ? [explicit(7, freeText(text))] : []),
    ...(generalInfo.length > 0 ? [explicit(8, sequence(...generalInfo.map(infoDer)))] : []),
  );
  const body = await bodyDer(input.body);
  const signatureOrMac = await protection.protect(sequence(header, body));
  const extraCerts = [...protection.extraCerts, ...(input.extraCerts ?? [])];
  return sequence(
    header,
    body,
    ...(signatureOrMac ? [explicit(0, bitString(signatureOrMac))] : []),
    ...(extraCerts.length > 0 ? [explicit(1, sequence(...extraCerts))] : []),
  );
}

// ---- errors to PKIFailureInfo ----------------------------------------------------------------

const FAILURE_BY_CODE: Readonly<Record<string, PkiFailureInfo>> = {
  [CMP_CODE]: 'badDataFormat',
  cmpProtectionMissing: 'badMessageCheck',
  /** For callers whose verifyMacProtection / verifySignatureProtection returned false. */
  cmpProtectionInvalid: 'badMessageCheck',
  cmpProtectionMismatch: 'wrongIntegrity',
  unsupportedCmpAlgorithm: 'badAlg',
  badPbmIterationCount: 'badAlg',
  badPop: 'badPOP',
  csrSignatureInvalid: 'badPOP',
  unsupportedSignatureAlgorithm: 'badAlg',
  malformedCsr: 'badDataFormat',
};

/**
 * The PKIFailureInfo bit for an error (RFC 4210 §5.2.3), for the error message that answers it: an
 * undecodable message is badDataFormat, missing or failed protection badMessageCheck
 * (`cmpProtectionInvalid` is the code for a verify… that returned false), a POPO badPOP, a refused
 * key badCertTemplate; a CaError whose code is itself a PKIFailureInfo name (`badCertId`, …) maps
 * to that bit; anything else is systemFailure.
 */
export function cmpFailureFor(error: unknown): PkiFailureInfo {
  if (!isCaError(error)) return 'systemFailure';
  const named = PKI_FAILURE_INFO.find((name) => name === error.code);
  return FAILURE_BY_CODE[error.code] ?? named ?? (error.kind === 'badPublicKey' ? 'badCertTemplate' : 'systemFailure');
}
