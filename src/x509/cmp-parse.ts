import { REVOCATION_REASON_BY_CODE } from '../domain/certificate.js';
import {
  algorithmOf,
  asBadMessage,
  badMessage,
  CMP_CODE,
  Fields,
  freeTextOf,
  generalNameOf,
  infoOf,
  listOf,
  octets,
  only,
  smallInt,
  statusInfoOf,
  timeOf,
} from './cmp-asn1.js';
import { PKI_BODY_TYPES, type CertResponse, type CertStatus, type PkiBody, type PkiBodyType, type PkiHeader, type PkiMessage, type RevDetails } from './cmp-types.js';
import { parseCsr } from './csr.js';
import { certReqMessagesOf, certTemplateOf } from './crmf.js';
import { contextConstructed, DerReader, TAG, type DerElement } from './der-reader.js';
import { sequence } from './der-writer.js';
import { CMP_OIDS } from './oids.js';

/**
 * Reading PKIMessages (RFC 4210 §5.1) with the strict DER reader: protection is computed over the
 * DER of ProtectedPart (§5.1.3), so a message that is not DER could not be checked anyway. What is
 * refused, always as `malformed`/`badCmpMessage` (never a crash): anything not DER, pvno other than
 * 2 or 3 (cmp1999 is not spoken), a body parsePkiMessage does not take, lists longer than
 * MAX_CMP_LIST, and every deviation from the ASN.1 quoted in cmp-types.ts. A p10cr whose CSR
 * signature fails keeps parseCsr's error (badCsr/csrSignatureInvalid, badPublicKey …).
 */

/** Bodies a CA receives (plus pkiConf and error, which travel both ways). */
const REQUEST_BODIES: ReadonlySet<PkiBodyType> = new Set(['ir', 'cr', 'kur', 'p10cr', 'rr', 'certConf', 'genm', 'pkiConf', 'error']);
/** inspectPkiMessage reads the answers too. */
const ALL_BODIES: ReadonlySet<PkiBodyType> = new Set([...REQUEST_BODIES, 'ip', 'cp', 'kup', 'rp', 'genp']);

// ---- header ----------------------------------------------------------------------------------

function headerOf(reader: DerReader, element: DerElement | undefined): PkiHeader {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, 'PKIHeader'), 'PKIHeader');
  const pvno = smallInt(reader, fields.next(TAG.integer, 'pvno'), 'pvno');
  if (pvno !== 2 && pvno !== 3) throw badMessage(`pvno ${pvno} is not supported (cmp2000 or cmp2021)`);
  const sender = generalNameOf(reader, fields.any('sender'), 'sender');
  const recipient = generalNameOf(reader, fields.any('recipient'), 'recipient');
  const time = fields.explicit(0, 'messageTime');
  const algorithm = fields.explicit(1, 'protectionAlg');
  const optionalOctets = (n: number, what: string): Uint8Array | null => {
    const inner = fields.explicit(n, what);
    return inner ? octets(reader, inner, what) : null;
  };
  const senderKID = optionalOctets(2, 'senderKID');
  const recipKID = optionalOctets(3, 'recipKID');
  const transactionID = optionalOctets(4, 'transactionID');
  const senderNonce = optionalOctets(5, 'senderNonce');
  const recipNonce = optionalOctets(6, 'recipNonce');
  const text = fields.explicit(7, 'freeText');
  const info = fields.explicit(8, 'generalInfo');
  fields.end();
  const generalInfo = info ? listOf(reader, info, 'generalInfo').map((item) => infoOf(reader, item, 'InfoTypeAndValue')) : [];
  return {
    pvno,
    sender,
    recipient,
    messageTime: time ? timeOf(reader, reader.expect(time, TAG.generalizedTime, 'messageTime'), 'messageTime') : null,
    protectionAlg: algorithm ? algorithmOf(reader, algorithm, 'protectionAlg') : null,
    senderKID,
    recipKID,
    transactionID,
    senderNonce,
    recipNonce,
    freeText: text ? freeTextOf(reader, text, 'freeText') : [],
    generalInfo,
    implicitConfirm: generalInfo.some((item) => item.oid === CMP_OIDS.implicitConfirm),
  };
}

// ---- bodies ----------------------------------------------------------------------------------

/** RevDetails (§5.3.9); crlEntryDetails carries the CRLReason extension (RFC 5280 §5.3.1). */
function revDetailsOf(reader: DerReader, element: DerElement): RevDetails {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, 'RevDetails'), 'RevDetails');
  const certDetails = certTemplateOf(reader, fields.next(TAG.sequence, 'certDetails'));
  const extensions = fields.optional(TAG.sequence);
  fields.end();
  let reasonCode: number | null = null;
  for (const extension of extensions ? listOf(reader, extensions, 'crlEntryDetails') : []) {
    const parts = new Fields(reader, reader.expect(extension, TAG.sequence, 'Extension'), 'Extension');
    const id = reader.oid(parts.next(TAG.oid, 'extnID'));
    parts.optional(TAG.boolean); // critical or not, the reason reads the same
    const value = parts.next(TAG.octetString, 'extnValue');
    parts.end();
    if (id !== CMP_OIDS.crlReason) continue;
    if (reasonCode !== null) throw badMessage('reasonCode appears twice in crlEntryDetails');
    const inner = new DerReader(reader.content(value), CMP_CODE, 'CRLReason');
    reasonCode = inner.smallInteger(inner.expect(inner.root(), 0x0a, 'CRLReason ENUMERATED'));
  }
  const reason = reasonCode === null ? null : (REVOCATION_REASON_BY_CODE.get(reasonCode) ?? null);
  if (reasonCode !== null && reason === null) throw badMessage(`${reasonCode} is not a CRLReason`);
  return {
    certDetails,
    serial: certDetails.serial,
    issuer: certDetails.issuer,
    reasonCode,
    reason,
    crlEntryDetails: extensions ? reader.copy(extensions) : null,
  };
}

function certStatusOf(reader: DerReader, element: DerElement): CertStatus {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, 'CertStatus'), 'CertStatus');
  const certHash = octets(reader, fields.next(TAG.octetString, 'certHash'), 'certHash');
  const certReqId = smallInt(reader, fields.next(TAG.integer, 'certReqId'), 'certReqId');
  const status = fields.optional(TAG.sequence);
  const hashAlg = fields.explicit(0, 'hashAlg');
  fields.end();
  return {
    certHash,
    certReqId,
    statusInfo: status ? statusInfoOf(reader, status, 'CertStatus statusInfo') : null,
    hashAlg: hashAlg ? algorithmOf(reader, hashAlg, 'hashAlg') : null,
  };
}

function certResponseOf(reader: DerReader, element: DerElement): CertResponse {
  const fields = new Fields(reader, reader.expect(element, TAG.sequence, 'CertResponse'), 'CertResponse');
  const certReqId = smallInt(reader, fields.next(TAG.integer, 'certReqId'), 'certReqId');
  const status = statusInfoOf(reader, fields.next(TAG.sequence, 'status'), 'CertResponse status');
  const pair = fields.optional(TAG.sequence);
  fields.optional(TAG.octetString); // rspInfo
  fields.end();
  let certificate: Uint8Array | null = null;
  if (pair) {
    const choice = new Fields(reader, pair, 'CertifiedKeyPair').any('certOrEncCert');
    if (choice.tag === contextConstructed(0)) certificate = reader.copy(reader.expect(only(reader, choice, 'certificate'), TAG.sequence, 'certificate'));
    else if (choice.tag !== contextConstructed(1)) throw badMessage('certOrEncCert is neither certificate nor encryptedCert');
  }
  return { certReqId, status, certificate };
}

function certificatesOf(reader: DerReader, element: DerElement, what: string): Uint8Array[] {
  return listOf(reader, element, what).map((cert) => reader.copy(reader.expect(cert, TAG.sequence, 'CMPCertificate')));
}

function bodyOf(reader: DerReader, element: DerElement | undefined, allowed: ReadonlySet<PkiBodyType>): PkiBody {
  const tag = element?.tag ?? 0;
  const type = (tag & 0xe0) === 0xa0 ? PKI_BODY_TYPES[tag & 0x1f] : undefined;
  if (!element || !type) throw badMessage('PKIBody is not one of the RFC 4210 §5.1.2 choices');
  if (!allowed.has(type)) throw badMessage(`PKIBody ${type} is not supported here`);
  const content = only(reader, element, `PKIBody ${type}`);
  switch (type) {
    case 'ir':
    case 'cr':
    case 'kur':
      return { type, requests: certReqMessagesOf(reader, content) };
    case 'p10cr':
      return { type, csr: parseCsr(reader.copy(reader.expect(content, TAG.sequence, 'CertificationRequest'))) };
    case 'rr':
      return { type, revocations: listOf(reader, content, 'RevReqContent').map((item) => revDetailsOf(reader, item)) };
    case 'certConf':
      // CertConfirmContent ::= SEQUENCE OF CertStatus: empty means "reject all" (§5.3.18).
      return { type, statuses: listOf(reader, content, 'CertConfirmContent', true).map((item) => certStatusOf(reader, item)) };
    case 'genm':
    case 'genp':
      return { type, infos: listOf(reader, content, `${type} content`, true).map((item) => infoOf(reader, item, 'InfoTypeAndValue')) };
    case 'pkiConf':
      if (content.tag !== TAG.null || content.end !== content.contentStart) throw badMessage('PKIConfirmContent is not NULL');
      return { type };
    case 'error': {
      const fields = new Fields(reader, reader.expect(content, TAG.sequence, 'ErrorMsgContent'), 'ErrorMsgContent');
      const status = statusInfoOf(reader, fields.next(TAG.sequence, 'pKIStatusInfo'), 'pKIStatusInfo');
      const code = fields.optional(TAG.integer);
      const details = fields.optional(TAG.sequence);
      fields.end();
      return { type, status, errorCode: code ? reader.smallInteger(code) : null, errorDetails: details ? freeTextOf(reader, details, 'errorDetails') : [] };
    }
    case 'ip':
    case 'cp':
    case 'kup': {
      const fields = new Fields(reader, reader.expect(content, TAG.sequence, 'CertRepMessage'), 'CertRepMessage');
      const caPubs = fields.explicit(1, 'caPubs');
      const responses = listOf(reader, fields.next(TAG.sequence, 'response'), 'response', true).map((item) => certResponseOf(reader, item));
      fields.end();
      return { type, caPubs: caPubs ? certificatesOf(reader, caPubs, 'caPubs') : [], responses };
    }
    case 'rp': {
      const fields = new Fields(reader, reader.expect(content, TAG.sequence, 'RevRepContent'), 'RevRepContent');
      const statuses = listOf(reader, fields.next(TAG.sequence, 'status'), 'RevRepContent status').map((item) => statusInfoOf(reader, item, 'PKIStatusInfo'));
      fields.optional(contextConstructed(0)); // revCerts
      fields.optional(contextConstructed(1)); // crls
      fields.end();
      return { type, statuses };
    }
    default:
      throw badMessage(`PKIBody ${type} is not supported here`);
  }
}

// ---- the message -----------------------------------------------------------------------------

function messageOf(der: Uint8Array, allowed: ReadonlySet<PkiBodyType>): PkiMessage {
  try {
    const reader = new DerReader(der, CMP_CODE, 'PKIMessage');
    const fields = new Fields(reader, reader.expect(reader.root(true), TAG.sequence, 'PKIMessage'), 'PKIMessage');
    const headerElement = fields.next(TAG.sequence, 'header');
    const bodyElement = fields.any('body');
    const protection = fields.explicit(0, 'protection');
    const extraCerts = fields.explicit(1, 'extraCerts');
    fields.end();
    const header = headerOf(reader, headerElement);
    const body = bodyOf(reader, bodyElement, allowed);
    return {
      der: new Uint8Array(der),
      header,
      body,
      protection: protection ? new Uint8Array(reader.bitString(reader.expect(protection, TAG.bitString, 'PKIProtection')).bits) : null,
      extraCerts: extraCerts ? certificatesOf(reader, extraCerts, 'extraCerts') : [],
      protectedPart: sequence(reader.raw(headerElement), reader.raw(bodyElement)),
    };
  } catch (e) {
    throw asBadMessage(e);
  }
}

/**
 * A PKIMessage a CA receives: ir, cr, kur, p10cr, rr, certConf, genm, pkiConf or error. Protection
 * is read, not checked: see verifyMacProtection and verifySignatureProtection.
 */
export function parsePkiMessage(der: Uint8Array): PkiMessage {
  return messageOf(der, REQUEST_BODIES);
}

/** For tests, tools and clients: also the answers (ip, cp, kup, rp, genp). */
export function inspectPkiMessage(der: Uint8Array): PkiMessage {
  return messageOf(der, ALL_BODIES);
}

/**
 * The header of a message whose body parsePkiMessage refused, so the error answer can still echo
 * transactionID and nonces (RFC 4210 §5.1.1); null when even the header cannot be read.
 */
export function tryParsePkiHeader(der: Uint8Array): PkiHeader | null {
  try {
    const reader = new DerReader(der, CMP_CODE, 'PKIMessage');
    const [header] = reader.children(reader.expect(reader.root(true), TAG.sequence, 'PKIMessage'));
    return headerOf(reader, header);
  } catch {
    return null;
  }
}
