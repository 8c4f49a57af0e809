import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import type { Signer } from '../signing/types.js';
import {
  algorithmFromDer,
  algorithmOf,
  badMessage,
  Fields,
  generalNameOf,
  infoOf,
  listOf,
  nameOf,
  serialOf,
  smallInt,
  timeOf,
} from './cmp-asn1.js';
import { verifyWithSpki } from './cmp-protection.js';
import type { CertReqMsg, CertTemplate, InfoTypeAndValue, ProofOfPossession } from './cmp-types.js';
import { contextConstructed, contextPrimitive, DerReader, TAG, type DerElement } from './der-reader.js';
import { bitString, integer, integerFromOctets, oid, sequence, tlv } from './der-writer.js';
import { CMP_OIDS } from './oids.js';
import { signatureAlgorithmDer } from './public-key.js';

/**
 * CRMF (RFC 4211) as CMP carries it: CertReqMessages of ir/cr/kur, the CertTemplate that rr also
 * uses, and proof of possession. The module is DEFINITIONS IMPLICIT TAGS (App. B): a tagged
 * SEQUENCE keeps its members under the context tag (publicKey [6] is A6 { algorithm, bits }), a
 * tagged CHOICE such as Name stays EXPLICIT (subject [5] is A5 { 30 … }).
 */

// ---- CertTemplate ----------------------------------------------------------------------------

/** The contents of an IMPLICIT-tagged SEQUENCE, re-tagged as the SEQUENCE it stands for. */
function retagged(reader: DerReader, element: DerElement): Uint8Array {
  return sequence(reader.content(element));
}

/** OptionalValidity ::= SEQUENCE { notBefore [0] Time OPTIONAL, notAfter [1] Time OPTIONAL } (§5). */
function validityOf(reader: DerReader, element: DerElement): CertTemplate['validity'] {
  const fields = new Fields(reader, element, 'OptionalValidity');
  const notBefore = fields.explicit(0, 'notBefore');
  const notAfter = fields.explicit(1, 'notAfter');
  fields.end();
  return {
    notBefore: notBefore ? timeOf(reader, notBefore, 'notBefore') : null,
    notAfter: notAfter ? timeOf(reader, notAfter, 'notAfter') : null,
  };
}

/** CertTemplate (RFC 4211 §5), the members in their order, each at most once. */
export function certTemplateOf(reader: DerReader, element: DerElement | undefined): CertTemplate {
  const template = reader.expect(element, TAG.sequence, 'CertTemplate');
  const fields = new Fields(reader, template, 'CertTemplate');
  const version = fields.optional(contextPrimitive(0));
  const serial = fields.optional(contextPrimitive(1));
  const signingAlg = fields.optional(contextConstructed(2));
  const issuer = fields.optional(contextConstructed(3));
  const validity = fields.optional(contextConstructed(4));
  const subject = fields.optional(contextConstructed(5));
  const publicKey = fields.optional(contextConstructed(6));
  fields.optional(contextPrimitive(7)); // issuerUID, subjectUID: deprecated (RFC 5280 §4.1.2.8), not used
  fields.optional(contextPrimitive(8));
  const extensions = fields.optional(contextConstructed(9));
  fields.end();
  return {
    der: reader.copy(template),
    version: version ? reader.smallInteger(version) : null,
    serial: serial ? serialOf(reader, serial, 'CertTemplate serialNumber') : null,
    signingAlg: signingAlg ? algorithmFromDer(retagged(reader, signingAlg), 'CertTemplate signingAlg') : null,
    issuer: issuer ? nameOf(reader, reader.children(issuer)[0], 'CertTemplate issuer') : null,
    validity: validity ? validityOf(reader, validity) : null,
    subject: subject ? nameOf(reader, reader.children(subject)[0], 'CertTemplate subject') : null,
    publicKey: publicKey ? retagged(reader, publicKey) : null,
    extensions: extensions ? retagged(reader, extensions) : null,
  };
}

// ---- CertReqMessages -------------------------------------------------------------------------

/** CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER } (§6.5). */
function oldCertIdOf(value: Uint8Array | null): CertReqMsg['oldCertId'] {
  if (!value) throw badMessage('id-regCtrl-oldCertID has no value');
  const reader = new DerReader(value, 'badCmpMessage', 'CertId');
  const fields = new Fields(reader, reader.expect(reader.root(), TAG.sequence, 'CertId'), 'CertId');
  const issuer = generalNameOf(reader, fields.any('issuer'), 'CertId issuer');
  const serial = serialOf(reader, fields.next(TAG.integer, 'serialNumber'), 'CertId serialNumber');
  fields.end();
  return { issuer, serial };
}

/** ProofOfPossession (RFC 4211 §4): signature is [1] IMPLICIT POPOSigningKey; POPOPrivKey, a CHOICE, is EXPLICIT. */
function popoOf(reader: DerReader, element: DerElement): ProofOfPossession {
  if (element.tag === contextPrimitive(0)) {
    if (element.end !== element.contentStart) throw badMessage('raVerified is not NULL');
    return { kind: 'raVerified' };
  }
  if (element.tag === contextConstructed(2)) return { kind: 'keyEncipherment' };
  if (element.tag === contextConstructed(3)) return { kind: 'keyAgreement' };
  const fields = new Fields(reader, reader.expect(element, contextConstructed(1), 'ProofOfPossession'), 'POPOSigningKey');
  const input = fields.optional(contextConstructed(0));
  const algorithm = algorithmOf(reader, fields.next(TAG.sequence, 'algorithmIdentifier'), 'POPOSigningKey algorithmIdentifier');
  const signature = new Uint8Array(reader.bitString(fields.next(TAG.bitString, 'signature')).bits);
  fields.end();
  return { kind: 'signature', algorithm, signature, poposkInput: input ? reader.copy(input) : null };
}

function certReqMsgOf(reader: DerReader, element: DerElement): CertReqMsg {
  const message = new Fields(reader, reader.expect(element, TAG.sequence, 'CertReqMsg'), 'CertReqMsg');
  const certReq = message.next(TAG.sequence, 'certReq');
  const popo = message.peek() !== undefined && message.peek() !== TAG.sequence ? message.any('popo') : undefined;
  const regInfo = message.optional(TAG.sequence);
  message.end();

  const request = new Fields(reader, certReq, 'CertRequest');
  const certReqId = smallInt(reader, request.next(TAG.integer, 'certReqId'), 'certReqId');
  const template = certTemplateOf(reader, request.next(TAG.sequence, 'certTemplate'));
  const controlList = request.optional(TAG.sequence);
  request.end();
  const controls: InfoTypeAndValue[] = controlList ? listOf(reader, controlList, 'controls').map((c) => infoOf(reader, c, 'control')) : [];
  const oldCertIds = controls.filter((control) => control.oid === CMP_OIDS.regCtrlOldCertId);
  if (oldCertIds.length > 1) throw badMessage('id-regCtrl-oldCertID appears twice');
  return {
    certReqId,
    certRequest: reader.copy(certReq),
    template,
    controls,
    oldCertId: oldCertIds[0] ? oldCertIdOf(oldCertIds[0].value) : null,
    popo: popo ? popoOf(reader, popo) : null,
    regInfo: regInfo ? listOf(reader, regInfo, 'regInfo').map((item) => infoOf(reader, item, 'regInfo')) : [],
  };
}

/** CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg (§3). */
export function certReqMessagesOf(reader: DerReader, element: DerElement): CertReqMsg[] {
  return listOf(reader, element, 'CertReqMessages').map((item) => certReqMsgOf(reader, item));
}

// ---- proof of possession ---------------------------------------------------------------------

function badPop(detail: string): CaError {
  return new CaError('badCsr', detail, { code: 'badPop' });
}

export interface PopoOptions {
  /** Accept raVerified (RFC 4211 §4.1 lets an RA vouch for possession): only for requests an RA signed. */
  allowRaVerified?: boolean;
}

/**
 * Proof of possession (RFC 4211 §4.1): a POPOSigningKey without poposkInput is a signature over the
 * DER CertRequest with the key of the template. poposkInput, which §4.1 keeps for templates without
 * subject or publicKey, is not supported (OpenSSL never sends it). Throws badCsr/badPop
 * when the proof is missing, of another kind, or does not verify; unsupported signature algorithms
 * are policyForbids/unsupportedCmpAlgorithm.
 */
export function verifyPopo(request: CertReqMsg, options: PopoOptions = {}): void {
  const popo = request.popo;
  if (!popo) throw badPop(`certReqId ${request.certReqId} carries no proof of possession`);
  if (popo.kind === 'raVerified') {
    if (options.allowRaVerified) return;
    throw badPop('raVerified proof of possession is not accepted here');
  }
  if (popo.kind !== 'signature') throw badPop(`${popo.kind} proof of possession is not supported; sign the request`);
  if (popo.poposkInput) throw badPop('POPOSigningKey with poposkInput is not supported; sign the certReq (RFC 4211 §4.1)');
  if (!request.template.publicKey) throw badPop('the certificate template has no publicKey to check the proof with');
  if (!verifyWithSpki(request.template.publicKey, popo.algorithm, request.certRequest, popo.signature)) {
    throw badPop(`the proof of possession of certReqId ${request.certReqId} does not verify with the template key`);
  }
}

// ---- building (clients, tests) ---------------------------------------------------------------

export interface CertRequestInput {
  certReqId: number;
  /** DER Name. */
  subject?: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  publicKey: Uint8Array;
  /** DER Extensions (SEQUENCE OF Extension). */
  extensions?: Uint8Array;
  /** kur: the certificate being updated (id-regCtrl-oldCertID): its issuer Name DER and serial. */
  oldCertId?: { issuer: Uint8Array; serial: Serial };
  /** Signs the POPO with the key being certified, or raVerified; absent: no POPO. */
  popo?: Signer | 'raVerified';
}

function contentOf(der: Uint8Array, what: string): Uint8Array {
  const reader = new DerReader(der, 'invalidCmpInput', what);
  return reader.content(reader.expect(reader.root(), TAG.sequence, what));
}

function serialDer(serial: Serial): Uint8Array {
  const hex = serial.length % 2 ? `0${serial}` : serial;
  const octets = Buffer.from(hex, 'hex');
  return integerFromOctets(octets[0]! & 0x80 ? Uint8Array.of(0, ...octets) : octets);
}

/** A CertTemplate with the given members (the IMPLICIT tags of §5). */
export function certTemplateDer(input: { serial?: Serial; issuer?: Uint8Array; subject?: Uint8Array; publicKey?: Uint8Array; extensions?: Uint8Array }): Uint8Array {
  return sequence(
    ...(input.serial ? [tlv(contextPrimitive(1), serialDer(input.serial).subarray(2))] : []),
    ...(input.issuer ? [tlv(contextConstructed(3), input.issuer)] : []),
    ...(input.subject ? [tlv(contextConstructed(5), input.subject)] : []),
    ...(input.publicKey ? [tlv(contextConstructed(6), contentOf(input.publicKey, 'SubjectPublicKeyInfo'))] : []),
    ...(input.extensions ? [tlv(contextConstructed(9), contentOf(input.extensions, 'Extensions'))] : []),
  );
}

/** A CertReqMsg; the POPO signature covers the DER CertRequest (RFC 4211 §4.1). */
export async function certReqMsgDer(input: CertRequestInput): Promise<Uint8Array> {
  const controls = input.oldCertId
    ? [sequence(sequence(oid(CMP_OIDS.regCtrlOldCertId), sequence(tlv(0xa4, input.oldCertId.issuer), serialDer(input.oldCertId.serial))))]
    : [];
  const certRequest = sequence(
    integer(input.certReqId),
    certTemplateDer({ ...(input.subject ? { subject: input.subject } : {}), publicKey: input.publicKey, ...(input.extensions ? { extensions: input.extensions } : {}) }),
    ...controls,
  );
  if (input.popo === undefined) return sequence(certRequest);
  if (input.popo === 'raVerified') return sequence(certRequest, Uint8Array.of(0x80, 0x00));
  const signature = await input.popo.sign(certRequest);
  return sequence(certRequest, tlv(contextConstructed(1), signatureAlgorithmDer(input.popo.algorithm), bitString(signature)));
}
