import { createHash } from 'node:crypto';
import { REVOCATION_REASON_BY_CODE, REVOCATION_REASON_CODES, type RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { bytesEqual, encodeDer } from './asn1.js';
import { serialToInteger } from './certificate.js';
import { checkDer, DerReader, TAG, type DerElement } from './der-reader.js';
import { bitString, DER_NULL, octetString, oid, sequence, tlv } from './der-writer.js';
import { serialFromOctets } from './inspect.js';
import { ALGORITHM_OIDS } from './oids.js';
import { signatureAlgorithmDer, subjectKeyIdentifier } from './public-key.js';

/**
 * The OCSP codec (RFC 6960, in the lightweight profile of RFC 5019): requests in, responses out,
 * as pure functions over bytes. Hand-written DER (der-reader/der-writer) because this is the
 * responder's hot path; pkijs and OpenSSL/GnuTLS are the references in the tests. No HTTP, no
 * database: src/ocsp/ decides what to answer, this file only encodes and decodes.
 *
 * What the parser tolerates and what it refuses (all refusals: `malformed`/`malformedOcspRequest`,
 * which the responder answers with ocspErrorResponse('malformedRequest')):
 * - strict DER throughout (definite minimal lengths, no trailing bytes), the RFC 6960 §4.1.1
 *   structure, 1 to MAX_OCSP_REQUESTS requests;
 * - an explicit version v1 is accepted although DER omits the DEFAULT; any other version refused;
 * - requestorName [1] and optionalSignature [0] are accepted and not interpreted (`signed` tells
 *   the caller a signature was there; requestor signatures are not verified);
 * - a CertID hash algorithm we do not know is no error: `hash` is null and the caller answers
 *   `unknown` (RFC 6960 §4.2.1 wants a status for every request, not a refusal);
 * - serials must be positive, minimal INTEGERs of at most 20 octets (RFC 5280 §4.1.2.2): a
 *   negative or padded serial would otherwise read as the hex of a different, positive one;
 * - extensions other than the nonce are ignored, critical or not (RFC 6960 §4.4 lets a responder
 *   ignore what it does not support; answering a signed status never misleads the client, which
 *   checks the response itself). singleRequestExtensions are ignored likewise;
 * - the nonce (RFC 8954, id-pkix-ocsp-nonce) is the extnValue contents, echoed byte for byte:
 *   OpenSSL and GnuTLS put a DER OCTET STRING there, older clients raw bytes. Empty, longer than
 *   MAX_OCSP_NONCE_OCTETS or repeated is refused.
 */

export type OcspHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface OcspCertId {
  /** null: a hash algorithm e-imza does not know; the answer for it is `unknown`. */
  hash: OcspHash | null;
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Canonical hex, as parseSerial gives it (no leading zeros). */
  serial: Serial;
  /** The exact CertID bytes of the request, echoed in the SingleResponse (RFC 6960 §4.2.1). */
  der: Uint8Array;
}

export interface ParsedOcspRequest {
  certIds: OcspCertId[];
  /** The nonce extension's extnValue contents: the value to echo; null without a nonce. */
  nonce: Uint8Array | null;
  /** The request carried optionalSignature (not verified). */
  signed: boolean;
}

export type OcspCertStatus =
  | { kind: 'good' }
  /** reason null: no revocationReason field. Suspended certificates are revoked/certificateHold. */
  | { kind: 'revoked'; revokedAt: Date; reason: RevocationReason | null }
  | { kind: 'unknown' };

export interface SingleResponseInput {
  certIdDer: Uint8Array;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
}

export interface ResponseDataInput {
  /** ResponderID byKey: SHA-1 of this key's subjectPublicKey BIT STRING value (RFC 6960 §4.2.2.3). */
  responderSpki: Uint8Array;
  producedAt: Date;
  responses: SingleResponseInput[];
  /** Echoed in responseExtensions as id-pkix-ocsp-nonce, extnValue = OCTET STRING of these bytes. */
  nonce?: Uint8Array | null;
}

export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

export interface OcspResponseInfo {
  status: 'successful' | OcspErrorStatus;
  producedAt?: Date;
  /** Absent when the responder is named byName. */
  responderKeyHash?: Uint8Array;
  nonce?: Uint8Array | null;
  responses?: {
    certId: { hash: OcspHash | null; serial: Serial; issuerNameHash: Uint8Array; issuerKeyHash: Uint8Array };
    status: OcspCertStatus;
    thisUpdate: Date;
    nextUpdate: Date | null;
  }[];
  certs?: Uint8Array[];
}

/** Requests per OCSPRequest: RFC 5019 §2.1.1 clients send one; a few more are answered, not hundreds. */
export const MAX_OCSP_REQUESTS = 100;
/** RFC 8954 §2.1 asks for 1 to 32 octets; longer than this is refused rather than echoed. */
export const MAX_OCSP_NONCE_OCTETS = 128;

const REQUEST_CODE = 'malformedOcspRequest';
const RESPONSE_CODE = 'malformedOcspResponse';

/** id-sha1 (RFC 3279 §2.1), id-pkix-ocsp-basic (RFC 6960 §4.2.1), id-pkix-ocsp-nonce (§4.4.1). */
const OCSP_OIDS = {
  sha1: '1.3.14.3.2.26',
  basic: '1.3.6.1.5.5.7.48.1.1',
  nonce: '1.3.6.1.5.5.7.48.1.2',
} as const;

const HASH_OIDS: Record<OcspHash, string> = {
  sha1: OCSP_OIDS.sha1,
  sha256: ALGORITHM_OIDS.sha256,
  sha384: ALGORITHM_OIDS.sha384,
  sha512: ALGORITHM_OIDS.sha512,
};
const HASHES = Object.keys(HASH_OIDS) as OcspHash[];
/** The OBJECT IDENTIFIER TLVs, compared byte for byte (no dotted strings on the hot path). */
const HASH_OID_DER = HASHES.map((hash) => [hash, oid(HASH_OIDS[hash])] as const);
/** AlgorithmIdentifier with NULL parameters, as OpenSSL, GnuTLS and pkijs write CertIDs. */
const HASH_ALGORITHM_DER: Record<OcspHash, Uint8Array> = Object.fromEntries(
  HASHES.map((hash) => [hash, sequence(oid(HASH_OIDS[hash]), DER_NULL)]),
) as Record<OcspHash, Uint8Array>;
const BASIC_OID_DER = oid(OCSP_OIDS.basic);
const NONCE_OID_DER = oid(OCSP_OIDS.nonce);

const TAG_ENUMERATED = 0x0a;

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
const RESPONSE_STATUS_CODES: Record<'successful' | OcspErrorStatus, number> = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
};
const RESPONSE_STATUS_BY_CODE = new Map(Object.entries(RESPONSE_STATUS_CODES).map(([name, code]) => [code, name as OcspResponseInfo['status']]));

/** CertStatus (RFC 6960 §4.2.1): good [0] IMPLICIT NULL, unknown [2] IMPLICIT UnknownInfo (NULL). */
const STATUS_GOOD = Uint8Array.of(0x80, 0x00);
const STATUS_UNKNOWN = Uint8Array.of(0x82, 0x00);

function malformed(code: string, detail: string): CaError {
  return new CaError('malformed', detail, { code });
}

function internal(detail: string, code: string): CaError {
  return new CaError('internal', detail, { code });
}

function digest(hash: OcspHash, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

// ---- shared readers --------------------------------------------------------------------------

function hashOf(reader: DerReader, algorithm: DerElement, code: string): OcspHash | null {
  const [first, parameters, ...extra] = reader.children(algorithm);
  const hashOid = reader.expect(first, TAG.oid, 'hash algorithm OBJECT IDENTIFIER');
  if (extra.length > 0) throw malformed(code, 'CertID hashAlgorithm has more than OID and parameters');
  // Parameters other than absent or NULL make it an algorithm we do not know, answered `unknown`.
  if (parameters !== undefined && (parameters.tag !== TAG.null || parameters.end !== parameters.contentStart)) return null;
  const raw = reader.raw(hashOid);
  for (const [hash, der] of HASH_OID_DER) if (bytesEqual(raw, der)) return hash;
  return null;
}

/** CertificateSerialNumber (RFC 5280 §4.1.2.2): positive, minimal (X.690 §8.3.2), ≤ 20 octets. */
function serialOf(reader: DerReader, element: DerElement, code: string): Serial {
  const octets = reader.content(element);
  const [first, second = 0] = octets;
  if (first === undefined) throw malformed(code, 'CertID serialNumber is an empty INTEGER');
  if (first & 0x80) throw malformed(code, 'CertID serialNumber is negative');
  if (first === 0 && octets.length > 1 && !(second & 0x80)) throw malformed(code, 'CertID serialNumber is not minimally encoded');
  if (octets.length - (first === 0 ? 1 : 0) > 20) throw malformed(code, 'CertID serialNumber is longer than 20 octets');
  return serialFromOctets(octets);
}

/** CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber } (§4.1.1). */
function certIdOf(reader: DerReader, element: DerElement | undefined, code: string): OcspCertId {
  const certId = reader.expect(element, TAG.sequence, 'CertID');
  const [algorithm, nameHash, keyHash, serial, ...extra] = reader.children(certId);
  reader.expect(algorithm, TAG.sequence, 'CertID hashAlgorithm');
  reader.expect(nameHash, TAG.octetString, 'CertID issuerNameHash');
  reader.expect(keyHash, TAG.octetString, 'CertID issuerKeyHash');
  reader.expect(serial, TAG.integer, 'CertID serialNumber');
  if (extra.length > 0) throw malformed(code, 'CertID has elements after serialNumber');
  return {
    hash: hashOf(reader, algorithm!, code),
    issuerNameHash: new Uint8Array(reader.content(nameHash!)),
    issuerKeyHash: new Uint8Array(reader.content(keyHash!)),
    serial: serialOf(reader, serial!, code),
    der: reader.copy(certId),
  };
}

/**
 * [n] EXPLICIT Extensions, Extensions ::= SEQUENCE OF Extension, Extension ::= SEQUENCE { extnID,
 * critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1): the nonce's extnValue
 * contents (a view), or null. An explicit FALSE is tolerated here; other extensions are skipped.
 */
function nonceOf(reader: DerReader, explicit: DerElement, code: string): Uint8Array | null {
  const [list, ...rest] = reader.children(explicit);
  reader.expect(list, TAG.sequence, 'Extensions');
  if (rest.length > 0) throw malformed(code, 'more than one Extensions in an EXPLICIT tag');
  let nonce: Uint8Array | null = null;
  for (const extension of reader.children(list!)) {
    const parts = reader.children(reader.expect(extension, TAG.sequence, 'Extension'));
    const [id, flag, value] = parts.length === 2 ? [parts[0], undefined, parts[1]] : parts;
    reader.expect(id, TAG.oid, 'extnID');
    if (flag !== undefined) reader.boolean(reader.expect(flag, TAG.boolean, 'critical'));
    reader.expect(value, TAG.octetString, 'extnValue');
    if (parts.length > 3) throw malformed(code, 'an Extension has elements after extnValue');
    if (!bytesEqual(reader.raw(id!), NONCE_OID_DER)) continue;
    if (nonce !== null) throw malformed(code, 'the nonce extension appears twice');
    nonce = reader.content(value!);
  }
  return nonce;
}

/** GeneralizedTime as DER has it (X.690 §11.7): YYYYMMDDHHMMSS[.fraction]Z. */
function generalizedTimeOf(reader: DerReader, element: DerElement | undefined, what: string): Date {
  const text = reader.text(reader.expect(element, TAG.generalizedTime, what));
  const match = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(\.[0-9]+)?Z$/.exec(text);
  if (!match) reader.fail(`${what} ${JSON.stringify(text)} is not a DER GeneralizedTime`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, match[7] ? Math.floor(Number(match[7]) * 1000) : 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    reader.fail(`${what} ${text} is not a valid date`);
  }
  return date;
}

// ---- requests --------------------------------------------------------------------------------

/**
 * OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 * TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT
 *   GeneralName OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 * Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 * (RFC 6960 §4.1.1). What is tolerated and refused: see the top of this file.
 */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  const reader = new DerReader(der, REQUEST_CODE, 'OCSP request');
  const request = reader.expect(reader.root(true), TAG.sequence, 'OCSPRequest');
  const [tbs, signature, ...rest] = reader.children(request);
  const fields = reader.children(reader.expect(tbs, TAG.sequence, 'TBSRequest'));
  if (signature !== undefined) checkSignature(reader, signature);
  if (rest.length > 0) throw malformed(REQUEST_CODE, 'OCSPRequest has elements after optionalSignature');

  let at = 0;
  if (fields[at]?.tag === 0xa0) checkVersion(reader, fields[at++]!);
  // requestorName [1] EXPLICIT GeneralName: accepted, not used (the answer does not depend on who asks).
  if (fields[at]?.tag === 0xa1 && reader.children(fields[at++]!).length !== 1) {
    throw malformed(REQUEST_CODE, 'requestorName is not one GeneralName');
  }
  const list = reader.children(reader.expect(fields[at++], TAG.sequence, 'requestList'));
  const nonce = fields[at]?.tag === 0xa2 ? nonceOf(reader, fields[at++]!, REQUEST_CODE) : null;
  if (at !== fields.length) throw malformed(REQUEST_CODE, 'TBSRequest has unexpected elements');
  if (list.length === 0) throw malformed(REQUEST_CODE, 'OCSP request has no requests');
  if (list.length > MAX_OCSP_REQUESTS) throw malformed(REQUEST_CODE, `OCSP request has more than ${MAX_OCSP_REQUESTS} requests`);
  if (nonce !== null && (nonce.length === 0 || nonce.length > MAX_OCSP_NONCE_OCTETS)) {
    throw malformed(REQUEST_CODE, `OCSP nonce must be 1 to ${MAX_OCSP_NONCE_OCTETS} octets`);
  }

  const certIds = list.map((element) => {
    const [certId, extensions, ...more] = reader.children(reader.expect(element, TAG.sequence, 'Request'));
    if (more.length > 0 || (extensions !== undefined && extensions.tag !== 0xa0)) {
      throw malformed(REQUEST_CODE, 'Request has elements other than reqCert and singleRequestExtensions');
    }
    return certIdOf(reader, certId, REQUEST_CODE);
  });
  return { certIds, nonce: nonce && new Uint8Array(nonce), signed: signature !== undefined };
}

/** [0] EXPLICIT Version: only v1 (0) exists (§4.1.1). */
function checkVersion(reader: DerReader, explicit: DerElement): void {
  const [version, ...rest] = reader.children(explicit);
  if (reader.smallInteger(reader.expect(version, TAG.integer, 'version')) !== 0 || rest.length > 0) {
    throw malformed(REQUEST_CODE, 'OCSP request version is not v1');
  }
}

/** Signature ::= SEQUENCE { signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT ... OPTIONAL }: shape only. */
function checkSignature(reader: DerReader, explicit: DerElement): void {
  const [value, ...rest] = reader.children(reader.expect(explicit, 0xa0, 'optionalSignature'));
  const [algorithm, bits] = reader.children(reader.expect(value, TAG.sequence, 'Signature'));
  reader.expect(algorithm, TAG.sequence, 'signatureAlgorithm');
  reader.expect(bits, TAG.bitString, 'signature');
  if (rest.length > 0) throw malformed(REQUEST_CODE, 'optionalSignature holds more than a Signature');
}

/**
 * For tests and tools: an unsigned OCSPRequest. `nonce` is the extnValue contents, as
 * parseOcspRequest returns it (for RFC 8954 pass the DER OCTET STRING of the random bytes). The
 * parser's limits are not applied, so tests can build what the parser refuses.
 */
export function buildOcspRequest(certIds: readonly Uint8Array[], nonce?: Uint8Array): Uint8Array {
  const requests = sequence(...certIds.map((certId) => sequence(certId)));
  return sequence(sequence(requests, ...(nonce ? [nonceExtensions(2, nonce)] : [])));
}

// ---- CertIDs ---------------------------------------------------------------------------------

/** The subjectPublicKey BIT STRING contents without the unused-bits octet (RFC 5280 §4.1). */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const reader = new DerReader(spki, 'malformedPublicKey', 'SubjectPublicKeyInfo');
  const [algorithm, key, ...rest] = reader.children(reader.expect(reader.root(true), TAG.sequence, 'SubjectPublicKeyInfo'));
  reader.expect(algorithm, TAG.sequence, 'AlgorithmIdentifier');
  if (rest.length > 0) reader.fail('elements after subjectPublicKey');
  return reader.bitString(reader.expect(key, TAG.bitString, 'subjectPublicKey')).bits;
}

/**
 * issuerNameHash and issuerKeyHash of a CA (RFC 6960 §4.1.1): the hash of its DER subject Name
 * and of its subjectPublicKey BIT STRING value (no tag, length or unused-bits octet).
 */
export function issuerHashes(issuerNameDer: Uint8Array, issuerSpki: Uint8Array, hash: OcspHash): { nameHash: Uint8Array; keyHash: Uint8Array } {
  checkDer(issuerNameDer, 'malformedName', 'issuer Name');
  return { nameHash: digest(hash, issuerNameDer), keyHash: digest(hash, subjectPublicKeyBits(issuerSpki)) };
}

/** The DER CertID of a serial, for responses pre-signed before anyone asks. */
export function buildCertId(hash: OcspHash, issuerNameDer: Uint8Array, issuerSpki: Uint8Array, serial: Serial): Uint8Array {
  const { nameHash, keyHash } = issuerHashes(issuerNameDer, issuerSpki, hash);
  return sequence(HASH_ALGORITHM_DER[hash], octetString(nameHash), octetString(keyHash), encodeDer(serialToInteger(serial)));
}

// ---- responses -------------------------------------------------------------------------------

/**
 * GeneralizedTime YYYYMMDDHHMMSSZ in whole seconds, fractions dropped: the RFC 5280 §4.1.2.5.2
 * form, which the RFC 5019 profile asks of OCSP times too. Written digit by digit, without
 * strings: up to four of these per SingleResponse, on the hot path.
 */
function generalizedTime(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) throw internal('an OCSP time is not a valid date', 'invalidOcspTime');
  const out = new Uint8Array(17);
  out[0] = TAG.generalizedTime;
  out[1] = 15;
  const fields = [year, date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  let at = 2;
  for (let k = 0; k < fields.length; k++) {
    const value = fields[k]!;
    if (k === 0) {
      out[at++] = 0x30 + Math.floor(value / 1000);
      out[at++] = 0x30 + (Math.floor(value / 100) % 10);
    }
    out[at++] = 0x30 + (Math.floor(value / 10) % 10);
    out[at++] = 0x30 + (value % 10);
  }
  out[16] = 0x5a; // 'Z'
  return out;
}

/** [n] EXPLICIT Extensions with the one nonce extension (RFC 8954 §2.1), not critical. */
function nonceExtensions(tagNumber: number, nonce: Uint8Array): Uint8Array {
  return tlv(0xa0 | tagNumber, sequence(sequence(NONCE_OID_DER, octetString(nonce))));
}

/** RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }, [1] IMPLICIT. */
function certStatusDer(status: OcspCertStatus): Uint8Array {
  switch (status.kind) {
    case 'good':
      return STATUS_GOOD;
    case 'unknown':
      return STATUS_UNKNOWN;
    case 'revoked': {
      const time = generalizedTime(status.revokedAt);
      if (status.reason === null) return tlv(0xa1, time);
      const code = REVOCATION_REASON_CODES[status.reason];
      if (code === undefined) throw internal(`${String(status.reason)} is not a CRLReason`, 'invalidRevocationReason');
      return tlv(0xa1, time, tlv(0xa0, tlv(TAG_ENUMERATED, Uint8Array.of(code))));
    }
  }
}

/**
 * SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime, nextUpdate [0]
 * EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] ... OPTIONAL } (§4.2.1); nextUpdate is
 * always present (the RFC 5019 profile relies on it for caching, and so do X-Road's caches).
 */
function singleResponseDer(input: SingleResponseInput): Uint8Array {
  checkElement(input.certIdDer, 'CertID', 'malformedCertId');
  if (!(input.nextUpdate.getTime() >= input.thisUpdate.getTime())) throw internal('OCSP nextUpdate is before thisUpdate', 'invalidOcspTime');
  return sequence(input.certIdDer, certStatusDer(input.status), generalizedTime(input.thisUpdate), tlv(0xa0, generalizedTime(input.nextUpdate)));
}

function responseDataDer(input: ResponseDataInput, responderKeyHash: Uint8Array): Uint8Array {
  if (input.responses.length === 0) throw internal('an OCSP response needs at least one SingleResponse', 'emptyOcspResponse');
  const nonce = input.nonce ?? null;
  return sequence(
    tlv(0xa2, octetString(responderKeyHash)),
    generalizedTime(input.producedAt),
    sequence(...input.responses.map(singleResponseDer)),
    ...(nonce === null ? [] : [nonceExtensions(1, nonce)]),
  );
}

/**
 * ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1 (omitted), responderID, producedAt,
 * responses SEQUENCE OF SingleResponse, responseExtensions [1] EXPLICIT OPTIONAL } (§4.2.1), with
 * ResponderID byKey [2] EXPLICIT KeyHash (§4.2.2.3): what the responder key signs.
 */
export function buildResponseData(input: ResponseDataInput): Uint8Array {
  return responseDataDer(input, subjectKeyIdentifier(input.responderSpki));
}

/** One DER element filling `bytes`, checked shallowly (the caller built it or parsed it). */
function checkElement(bytes: Uint8Array, what: string, code: string): void {
  const reader = new DerReader(bytes, code, what);
  reader.expect(reader.root(), TAG.sequence, what);
}

/**
 * OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED successful(0), responseBytes [0] EXPLICIT
 * ResponseBytes { id-pkix-ocsp-basic, OCTET STRING BasicOCSPResponse } }, BasicOCSPResponse ::=
 * SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT SEQUENCE
 * OF Certificate OPTIONAL } (§4.2.1). `certs` is the delegated responder certificate (§4.2.2.2),
 * omitted when empty; `signature` is what Signer.sign returned over `responseData`.
 */
export function assembleOcspResponse(responseData: Uint8Array, algorithm: KeyAlgorithm, signature: Uint8Array, certs: readonly Uint8Array[]): Uint8Array {
  checkElement(responseData, 'ResponseData', RESPONSE_CODE);
  for (const cert of certs) checkElement(cert, 'Certificate', 'malformedCertificate');
  const basic = sequence(
    responseData,
    signatureAlgorithmDer(algorithm),
    bitString(signature),
    ...(certs.length > 0 ? [tlv(0xa0, sequence(...certs))] : []),
  );
  return sequence(tlv(TAG_ENUMERATED, Uint8Array.of(0)), tlv(0xa0, sequence(BASIC_OID_DER, octetString(basic))));
}

/** Builds, signs and assembles; the ResponderID must name the key that signs (checked). */
export async function signOcspResponse(input: ResponseDataInput, signer: Signer, certs: readonly Uint8Array[]): Promise<Uint8Array> {
  const keyHash = subjectKeyIdentifier(input.responderSpki);
  if (!bytesEqual(input.responderSpki, signer.publicKeySpki) && !bytesEqual(keyHash, subjectKeyIdentifier(signer.publicKeySpki))) {
    throw internal('the OCSP responderSpki is not the signer’s key', 'ocspResponderMismatch');
  }
  const responseData = responseDataDer(input, keyHash);
  return assembleOcspResponse(responseData, signer.algorithm, await signer.sign(responseData), certs);
}

/** An unsigned error response (§4.2.1: no responseBytes), e.g. 30 03 0a 01 01 for malformedRequest. */
export function ocspErrorResponse(status: OcspErrorStatus): Uint8Array {
  const code = RESPONSE_STATUS_CODES[status];
  if (code === undefined || code === 0) throw internal(`${String(status)} is not an OCSP error status`, 'invalidOcspStatus');
  return Uint8Array.of(TAG.sequence, 3, TAG_ENUMERATED, 1, code);
}

// ---- reading responses back (tests, tools) ---------------------------------------------------

/** For tests and tools: what an OCSPResponse says. Signatures are not checked. */
export function inspectOcspResponse(der: Uint8Array): OcspResponseInfo {
  const reader = new DerReader(der, RESPONSE_CODE, 'OCSP response');
  const [statusElement, responseBytes, ...rest] = reader.children(reader.expect(reader.root(true), TAG.sequence, 'OCSPResponse'));
  const status = responseStatusOf(reader, statusElement);
  if (status !== 'successful') {
    if (responseBytes !== undefined) throw malformed(RESPONSE_CODE, 'an OCSP error response carries responseBytes');
    return { status };
  }
  const [bytes, ...more] = reader.children(reader.expect(responseBytes, 0xa0, 'responseBytes'));
  const [type, response, ...extra] = reader.children(reader.expect(bytes, TAG.sequence, 'ResponseBytes'));
  if (rest.length > 0 || more.length > 0 || extra.length > 0) throw malformed(RESPONSE_CODE, 'OCSPResponse has unexpected elements');
  if (!bytesEqual(reader.raw(reader.expect(type, TAG.oid, 'responseType')), BASIC_OID_DER)) {
    throw malformed(RESPONSE_CODE, 'responseType is not id-pkix-ocsp-basic');
  }
  return { status, ...basicResponseOf(reader.content(reader.expect(response, TAG.octetString, 'response'))) };
}

function responseStatusOf(reader: DerReader, element: DerElement | undefined): OcspResponseInfo['status'] {
  const status = RESPONSE_STATUS_BY_CODE.get(reader.smallInteger(reader.expect(element, TAG_ENUMERATED, 'responseStatus')));
  if (status === undefined) throw malformed(RESPONSE_CODE, 'responseStatus is not an OCSPResponseStatus');
  return status;
}

function basicResponseOf(der: Uint8Array): Omit<OcspResponseInfo, 'status'> {
  const reader = new DerReader(der, RESPONSE_CODE, 'BasicOCSPResponse');
  const [tbs, algorithm, signature, certs, ...rest] = reader.children(reader.expect(reader.root(true), TAG.sequence, 'BasicOCSPResponse'));
  reader.expect(algorithm, TAG.sequence, 'signatureAlgorithm');
  reader.expect(signature, TAG.bitString, 'signature');
  if (rest.length > 0 || (certs !== undefined && certs.tag !== 0xa0)) throw malformed(RESPONSE_CODE, 'BasicOCSPResponse has unexpected elements');
  const [certList] = certs ? reader.children(certs) : [];
  return {
    ...responseDataOf(reader, reader.expect(tbs, TAG.sequence, 'ResponseData')),
    ...(certList ? { certs: reader.children(reader.expect(certList, TAG.sequence, 'certs')).map((cert) => reader.copy(cert)) } : {}),
  };
}

function responseDataOf(reader: DerReader, tbs: DerElement): Omit<OcspResponseInfo, 'status' | 'certs'> {
  const fields = reader.children(tbs);
  let at = 0;
  if (fields[at]?.tag === 0xa0) at++;
  const responder = fields[at++];
  if (responder?.tag !== 0xa1 && responder?.tag !== 0xa2) throw malformed(RESPONSE_CODE, 'ResponderID is neither byName nor byKey');
  const [id] = reader.children(responder);
  const responderKeyHash = responder.tag === 0xa2 ? new Uint8Array(reader.content(reader.expect(id, TAG.octetString, 'KeyHash'))) : undefined;
  const producedAt = generalizedTimeOf(reader, fields[at++], 'producedAt');
  const responses = reader.children(reader.expect(fields[at++], TAG.sequence, 'responses')).map((single) => singleResponseOf(reader, single));
  const nonce = fields[at]?.tag === 0xa1 ? nonceOf(reader, fields[at++]!, RESPONSE_CODE) : null;
  if (at !== fields.length) throw malformed(RESPONSE_CODE, 'ResponseData has unexpected elements');
  return { producedAt, ...(responderKeyHash ? { responderKeyHash } : {}), nonce: nonce && new Uint8Array(nonce), responses };
}

function singleResponseOf(reader: DerReader, element: DerElement): NonNullable<OcspResponseInfo['responses']>[number] {
  const fields = reader.children(reader.expect(element, TAG.sequence, 'SingleResponse'));
  const { hash, serial, issuerNameHash, issuerKeyHash } = certIdOf(reader, fields[0], RESPONSE_CODE);
  const status = certStatusOf(reader, fields[1]);
  const thisUpdate = generalizedTimeOf(reader, fields[2], 'thisUpdate');
  let at = 3;
  let nextUpdate: Date | null = null;
  if (fields[at]?.tag === 0xa0) nextUpdate = generalizedTimeOf(reader, reader.children(fields[at++]!)[0], 'nextUpdate');
  if (fields[at]?.tag === 0xa1) at++;
  if (at !== fields.length) throw malformed(RESPONSE_CODE, 'SingleResponse has unexpected elements');
  return { certId: { hash, serial, issuerNameHash, issuerKeyHash }, status, thisUpdate, nextUpdate };
}

function certStatusOf(reader: DerReader, element: DerElement | undefined): OcspCertStatus {
  const empty = element !== undefined && element.end === element.contentStart;
  if (element?.tag === 0x80 && empty) return { kind: 'good' };
  if (element?.tag === 0x82 && empty) return { kind: 'unknown' };
  if (element?.tag !== 0xa1) throw malformed(RESPONSE_CODE, 'certStatus is not good, revoked or unknown');
  const [time, reason, ...rest] = reader.children(element);
  const revokedAt = generalizedTimeOf(reader, time, 'revocationTime');
  if (rest.length > 0 || (reason !== undefined && reason.tag !== 0xa0)) throw malformed(RESPONSE_CODE, 'RevokedInfo has unexpected elements');
  if (reason === undefined) return { kind: 'revoked', revokedAt, reason: null };
  const code = reader.smallInteger(reader.expect(reader.children(reason)[0], TAG_ENUMERATED, 'CRLReason'));
  const name = REVOCATION_REASON_BY_CODE.get(code);
  if (name === undefined) throw malformed(RESPONSE_CODE, `${code} is not a CRLReason`);
  return { kind: 'revoked', revokedAt, reason: name };
}
