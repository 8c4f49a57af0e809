/**
 * The CMP codec (src/x509/cmp.ts) on its own: what buildPkiMessage writes parses back to the same
 * values and to the structure asn1js reads; headers answer their requests as RFC 4210 §5.1.1 and
 * RFC 9483 §3.1 say; MACs, signatures and proofs of possession verify and fail as they should, with
 * PBMAC1 and certHash checked against OpenSSL's kdf, mac and x509 commands; malformed, truncated
 * and bit-flipped messages are refused with badCmpMessage and never crash the parser.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import * as asn1js from 'asn1js';
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Serial } from '../../src/domain/serial.js';
import { CaError } from '../../src/errors.js';
import type { Signer } from '../../src/signing/types.js';
import {
  buildPkiMessage,
  caCertsInfo,
  certHash,
  certHashMatches,
  cmpFailureFor,
  inspectPkiMessage,
  MAX_CMP_LIST,
  MAX_MAC_ITERATIONS,
  parsePkiMessage,
  PKI_FAILURE_BITS,
  PKI_FAILURE_INFO,
  rootCaKeyUpdateInfo,
  tryParsePkiHeader,
  verifyMacProtection,
  verifyPopo,
  verifySignatureProtection,
  type CertReqMsg,
  type CmpProtectionInput,
  type PkiBody,
  type PkiMessage,
  type PkiMessageInput,
} from '../../src/x509/cmp.js';
import { failureInfoDer } from '../../src/x509/cmp-asn1.js';
import { DER_NULL, integer, octetString, oid, sequence, tlv } from '../../src/x509/der-writer.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { encodeName } from '../../src/x509/names.js';
import { CMP_OIDS } from '../../src/x509/oids.js';
import { csrSubject, keySigner, pem, TestCa } from '../helpers/cmp.js';
import { opensslCsr } from '../helpers/csr.js';
import { openssl, removeDir, tempDir } from '../helpers/env.js';
import { outcome } from '../helpers/outcome.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const BAD_MESSAGE = { kind: 'malformed', code: 'badCmpMessage' };
const SECRET = utf8('correct horse battery staple');

let dir: string;
let ca: TestCa;
let signer: Signer;
let signerCert: Uint8Array;
let client: Signer;
let clientCert: Uint8Array;

beforeAll(() => {
  ca = new TestCa();
  signer = keySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  signerCert = ca.issue(encodeName([{ type: 'O', value: 'e-imza' }, { type: 'CN', value: 'e-imza CMP' }]), signer.publicKeySpki, 'signer');
  client = keySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  clientCert = ca.issue(encodeName([{ type: 'CN', value: 'ss1.example.az' }]), client.publicKeySpki);
});

// Every test has its own directory for the files OpenSSL reads.
beforeEach(() => {
  dir = tempDir('eimza-cmp-unit-');
});

afterEach(() => {
  removeDir(dir);
});

const signedBy = (who: Signer, cert: Uint8Array): CmpProtectionInput => ({ kind: 'signature', signer: who, certificate: cert });
const mac = (secret = SECRET, extra: Partial<Extract<CmpProtectionInput, { kind: 'mac' }>> = {}): CmpProtectionInput => ({ kind: 'mac', secret, senderKID: utf8('ref-1'), iterationCount: 500, ...extra });

/** An ir as openssl sends it: MAC-protected, one CertReqMsg with subject, key and a signature POPO. */
async function irMessage(options: { implicitConfirm?: boolean; protection?: CmpProtectionInput; popo?: Signer | 'raVerified' | null } = {}): Promise<PkiMessage> {
  const der = await buildPkiMessage({
    body: {
      type: 'ir',
      requests: [{ certReqId: 0, subject: encodeName([{ type: 'CN', value: 'ss1.example.az' }]), publicKey: client.publicKeySpki, ...(options.popo === null ? {} : { popo: options.popo ?? client }) }],
    },
    protection: options.protection ?? mac(),
    sender: encodeName([{ type: 'CN', value: 'ss1.example.az' }]),
    recipient: inspectCertificate(signerCert).subjectNameDer,
    implicitConfirm: options.implicitConfirm ?? false,
  });
  return parsePkiMessage(der);
}

function requestOf(message: PkiMessage): CertReqMsg {
  if (message.body.type !== 'ir' && message.body.type !== 'cr' && message.body.type !== 'kur') throw new Error(`not a certificate request: ${message.body.type}`);
  return message.body.requests[0]!;
}

async function answer(request: PkiMessage, body: PkiMessageInput['body'], extra: Partial<PkiMessageInput> = {}): Promise<PkiMessage> {
  return inspectPkiMessage(await buildPkiMessage({ inReplyTo: request.header, body, protection: signedBy(signer, signerCert), ...extra }));
}

/** The same message with another protectionAlg (the header bytes are not touched: the checks before the MAC are what is tested). */
function withProtectionAlg(message: PkiMessage, algorithm: Uint8Array): PkiMessage {
  const [id, parameters] = (asn1js.fromBER(algorithm).result as asn1js.Sequence).valueBlock.value;
  return {
    ...message,
    header: {
      ...message.header,
      protectionAlg: { oid: (id as asn1js.ObjectIdentifier).valueBlock.toString(), parameters: parameters ? new Uint8Array(parameters.toBER()) : null, der: algorithm },
    },
  };
}

describe('buildPkiMessage: headers answer the request (RFC 4210 §5.1.1, RFC 9483 §3.1)', () => {
  test('pvno 2, sender = the signer’s subject, recipient = the request’s sender, transactionID and nonces, senderKID = SKI', async () => {
    const request = await irMessage();
    const response = await answer(request, { type: 'pkiConf' });
    const { header } = response;
    expect(header.pvno).toBe(2);
    expect(hex(header.sender.directoryName!)).toBe(hex(inspectCertificate(signerCert).subjectNameDer));
    expect(header.sender.text).toBe('O=e-imza, CN=e-imza CMP');
    expect(hex(header.recipient.der)).toBe(hex(request.header.sender.der));
    expect(hex(header.transactionID!)).toBe(hex(request.header.transactionID!));
    expect(hex(header.recipNonce!)).toBe(hex(request.header.senderNonce!));
    expect(header.senderNonce).toHaveLength(16);
    expect(hex(header.senderNonce!)).not.toBe(hex(request.header.senderNonce!));
    expect(header.senderKID && hex(header.senderKID)).toBe(inspectCertificate(signerCert).subjectKeyId);
    expect(header.protectionAlg?.oid).toBe('1.2.840.10045.4.3.2');
    expect(Math.abs(header.messageTime!.getTime() - Date.now())).toBeLessThan(5_000);
    expect(header.implicitConfirm).toBe(false);
    expect(response.extraCerts.map(hex)).toEqual([hex(signerCert)]);
  });

  test('two answers to one request carry different senderNonces', async () => {
    const request = await irMessage();
    const [a, b] = await Promise.all([answer(request, { type: 'pkiConf' }), answer(request, { type: 'pkiConf' })]);
    expect(hex(a.header.senderNonce!)).not.toBe(hex(b.header.senderNonce!));
  });

  test('pvno 3 is answered with 3; implicitConfirm is echoed only when granted', async () => {
    const request = await irMessage({ implicitConfirm: true });
    expect(request.header.implicitConfirm).toBe(true);
    const v3 = { ...request, header: { ...request.header, pvno: 3 } };
    expect((await answer(v3, { type: 'pkiConf' })).header.pvno).toBe(3);
    const granted = await answer(request, { type: 'ip', responses: [] }, { implicitConfirm: true });
    expect(granted.header.implicitConfirm).toBe(true);
    expect(granted.header.generalInfo).toEqual([{ oid: CMP_OIDS.implicitConfirm, value: DER_NULL }]);
    expect((await answer(request, { type: 'ip', responses: [] })).header.implicitConfirm).toBe(false);
  });

  test('an answer to an unreadable message: NULL-DN recipient, fresh transactionID, no recipNonce', async () => {
    const message = inspectPkiMessage(await buildPkiMessage({ inReplyTo: null, body: { type: 'error', status: { status: 'rejection', failInfo: ['badDataFormat'] } }, protection: signedBy(signer, signerCert) }));
    expect(message.header.recipient).toEqual({ der: Uint8Array.of(0xa4, 2, 0x30, 0), text: '', directoryName: Uint8Array.of(0x30, 0) });
    expect(message.header.transactionID).toHaveLength(16);
    expect(message.header.recipNonce).toBeNull();
  });

  test('a signer whose certificate holds another key is refused', async () => {
    await expect(buildPkiMessage({ body: { type: 'pkiConf' }, protection: signedBy(signer, clientCert) })).rejects.toMatchObject({ code: 'cmpSignerMismatch' });
  });

  test('asn1js reads the same structure: PKIMessage { header, [n] body, [0] BIT STRING, [1] certificates }', async () => {
    const der = await buildPkiMessage({ body: { type: 'genp', infos: [caCertsInfo([ca.certificate])] }, protection: signedBy(signer, signerCert), extraCerts: [ca.certificate] });
    const parsed = asn1js.fromBER(der);
    expect(parsed.offset).toBe(der.length);
    const [header, body, protection, extra] = (parsed.result as asn1js.Sequence).valueBlock.value;
    expect(header).toBeInstanceOf(asn1js.Sequence);
    expect(body!.idBlock).toMatchObject({ tagClass: 3, tagNumber: 22 });
    expect(protection!.idBlock).toMatchObject({ tagClass: 3, tagNumber: 0 });
    expect(extra!.idBlock).toMatchObject({ tagClass: 3, tagNumber: 1 });
    const message = inspectPkiMessage(der);
    // ProtectedPart is the header and body TLVs, unchanged, in a SEQUENCE (§5.1.3).
    expect(hex(message.protectedPart)).toBe(hex(new Uint8Array(new asn1js.Sequence({ value: [header!, body!] }).toBER())));
    expect(message.extraCerts.map(hex)).toEqual([hex(signerCert), hex(ca.certificate)]);
  });
});

describe('bodies round-trip through buildPkiMessage and inspectPkiMessage', () => {
  test('ip with caPubs, an accepted certificate and a rejection with failInfo and statusString', async () => {
    const request = await irMessage();
    const body: PkiBody = (await answer(request, {
      type: 'ip',
      caPubs: [ca.certificate],
      responses: [
        { certReqId: 0, status: { status: 'accepted' }, certificate: clientCert },
        { certReqId: 1, status: { status: 'rejection', failInfo: ['badCertTemplate', 'badPOP'], statusString: ['no', 'Ə-imza'] } },
      ],
    })).body;
    expect(body).toEqual({
      type: 'ip',
      caPubs: [ca.certificate],
      responses: [
        { certReqId: 0, status: { status: 'accepted', statusString: [], failInfo: [] }, certificate: clientCert },
        { certReqId: 1, status: { status: 'rejection', statusString: ['no', 'Ə-imza'], failInfo: ['badPOP', 'badCertTemplate'] }, certificate: null },
      ],
    });
  });

  test('cp and kup carry certReqId -1 (p10cr, RFC 9483 §4.1.4) and 0', async () => {
    const request = await irMessage();
    for (const type of ['cp', 'kup'] as const) {
      const body = (await answer(request, { type, responses: [{ certReqId: type === 'cp' ? -1 : 0, status: { status: 'grantedWithMods' }, certificate: clientCert }] })).body;
      expect(body).toMatchObject({ type, caPubs: [], responses: [{ certReqId: type === 'cp' ? -1 : 0, status: { status: 'grantedWithMods' } }] });
    }
  });

  test('rp, pkiConf, genp with id-it-caCerts and id-it-rootCaKeyUpdate, error with errorCode and errorDetails', async () => {
    const request = await irMessage();
    expect((await answer(request, { type: 'rp', statuses: [{ status: 'accepted' }, { status: 'rejection', failInfo: ['badCertId'] }] })).body).toEqual({
      type: 'rp',
      statuses: [{ status: 'accepted', statusString: [], failInfo: [] }, { status: 'rejection', statusString: [], failInfo: ['badCertId'] }],
    });
    expect((await answer(request, { type: 'pkiConf' })).body).toEqual({ type: 'pkiConf' });
    const genp = (await answer(request, { type: 'genp', infos: [caCertsInfo([ca.certificate, signerCert]), rootCaKeyUpdateInfo({ newWithNew: ca.certificate, oldWithNew: signerCert })] })).body;
    expect(genp).toEqual({
      type: 'genp',
      infos: [
        { oid: CMP_OIDS.caCerts, value: sequence(ca.certificate, signerCert) },
        { oid: CMP_OIDS.rootCaKeyUpdate, value: sequence(ca.certificate, tlv(0xa1, signerCert)) },
      ],
    });
    expect(caCertsInfo([])).toEqual({ oid: CMP_OIDS.caCerts, value: null });
    const error = (await answer(request, { type: 'error', status: { status: 'rejection', failInfo: ['badMessageCheck'], statusString: ['MAC does not verify'] }, errorCode: 7, errorDetails: ['detail'] })).body;
    expect(error).toEqual({ type: 'error', status: { status: 'rejection', statusString: ['MAC does not verify'], failInfo: ['badMessageCheck'] }, errorCode: 7, errorDetails: ['detail'] });
  });

  test('requests: rr with serial, issuer and reasonCode; certConf; genm; p10cr; kur with oldCertID; cr with raVerified', async () => {
    const issuer = inspectCertificate(ca.certificate).subjectNameDer;
    const serial = inspectCertificate(clientCert).serial;
    const build = async (body: PkiMessageInput['body']): Promise<PkiBody> => parsePkiMessage(await buildPkiMessage({ body, protection: mac() })).body;

    expect(await build({ type: 'rr', revocations: [{ serial, issuer, reasonCode: 5 }, { serial: '7f' as Serial, issuer }] })).toMatchObject({
      type: 'rr',
      revocations: [
        { serial, issuer: { text: 'CN=CMP Test CA' }, reasonCode: 5, reason: 'cessationOfOperation' },
        { serial: '7f', reasonCode: null, reason: null, crlEntryDetails: null },
      ],
    });
    const hash = certHash(clientCert);
    expect(await build({ type: 'certConf', statuses: [{ certHash: hash, certReqId: 0 }, { certHash: hash, certReqId: 1, statusInfo: { status: 'rejection' } }] })).toEqual({
      type: 'certConf',
      statuses: [
        { certHash: hash, certReqId: 0, statusInfo: null, hashAlg: null },
        { certHash: hash, certReqId: 1, statusInfo: { status: 'rejection', statusString: [], failInfo: [] }, hashAlg: null },
      ],
    });
    expect(await build({ type: 'certConf', statuses: [] })).toEqual({ type: 'certConf', statuses: [] });
    await expect(build({ type: 'rr', revocations: [{ serial, issuer, reasonCode: 7 }] })).rejects.toMatchObject({ code: 'invalidCmpInput' });
    expect(await build({ type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] })).toEqual({ type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] });
    expect(await build({ type: 'genm', infos: [] })).toEqual({ type: 'genm', infos: [] });

    const { csrPem } = await opensslCsr(dir, 'p10', 'ec-p256', '/O=e-imza/CN=p10 holder');
    const csrDer = new Uint8Array(Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
    const p10 = await build({ type: 'p10cr', csr: csrDer });
    expect(p10.type === 'p10cr' && p10.csr.subject.map((a) => a.value)).toEqual(['e-imza', 'p10 holder']);
    expect(p10.type === 'p10cr' && hex(csrSubject(p10.csr.der))).toBe(hex(encodeName([{ type: 'O', value: 'e-imza' }, { type: 'CN', value: 'p10 holder' }])));

    const kur = await build({ type: 'kur', requests: [{ certReqId: 0, publicKey: signer.publicKeySpki, oldCertId: { issuer, serial }, popo: signer }] });
    expect(kur).toMatchObject({ type: 'kur', requests: [{ certReqId: 0, oldCertId: { serial, issuer: { text: 'CN=CMP Test CA' } }, template: { subject: null } }] });
    const cr = await build({ type: 'cr', requests: [{ certReqId: 3, publicKey: signer.publicKeySpki, popo: 'raVerified' }] });
    expect(cr).toMatchObject({ type: 'cr', requests: [{ certReqId: 3, popo: { kind: 'raVerified' } }] });
  });
});

describe('PKIFailureInfo (RFC 4210 §5.2.3)', () => {
  test('the exported bit numbers are those of the RFC', () => {
    expect(PKI_FAILURE_INFO).toHaveLength(27);
    expect(PKI_FAILURE_BITS).toMatchObject({ badAlg: 0, badMessageCheck: 1, badRequest: 2, badPOP: 9, wrongIntegrity: 12, badSenderNonce: 18, signerNotTrusted: 20, duplicateCertReq: 26 });
  });

  test('named bits are written minimally (X.690 §11.2.2) and read back', async () => {
    expect(hex(failureInfoDer(['badRequest']))).toBe('03020520'); // as OpenSSL's mock server writes it
    expect(hex(failureInfoDer(['badAlg']))).toBe('03020780');
    expect(hex(failureInfoDer(['badMessageCheck', 'badPOP']))).toBe('0303064040');
    expect(hex(failureInfoDer(['duplicateCertReq']))).toBe('030505000000' + '20');
    const request = await irMessage();
    const all = await answer(request, { type: 'error', status: { status: 'rejection', failInfo: PKI_FAILURE_INFO } });
    expect(all.body.type === 'error' && all.body.status.failInfo).toEqual([...PKI_FAILURE_INFO]);
  });

  test('cmpFailureFor maps the codec’s errors and PKIFailureInfo-named codes', () => {
    expect(cmpFailureFor(new CaError('malformed', 'x', { code: 'badCmpMessage' }))).toBe('badDataFormat');
    expect(cmpFailureFor(new CaError('unauthorized', 'x', { code: 'cmpProtectionMissing' }))).toBe('badMessageCheck');
    expect(cmpFailureFor(new CaError('unauthorized', 'x', { code: 'cmpProtectionInvalid' }))).toBe('badMessageCheck');
    expect(cmpFailureFor(new CaError('unauthorized', 'x', { code: 'cmpProtectionMismatch' }))).toBe('wrongIntegrity');
    expect(cmpFailureFor(new CaError('badCsr', 'x', { code: 'badPop' }))).toBe('badPOP');
    expect(cmpFailureFor(new CaError('badCsr', 'x', { code: 'csrSignatureInvalid' }))).toBe('badPOP');
    expect(cmpFailureFor(new CaError('policyForbids', 'x', { code: 'badPbmIterationCount' }))).toBe('badAlg');
    expect(cmpFailureFor(new CaError('badPublicKey', 'x', { code: 'unsupportedCurve' }))).toBe('badCertTemplate');
    expect(cmpFailureFor(new CaError('notFound', 'x', { code: 'badCertId' }))).toBe('badCertId');
    expect(cmpFailureFor(new Error('boom'))).toBe('systemFailure');
  });
});

describe('MAC protection: PasswordBasedMac and PBMAC1 (RFC 4210 §5.1.3.1, RFC 9481 §6.1)', () => {
  const combinations = [
    { owf: 'sha256', mac: 'sha1' },
    { owf: 'sha1', mac: 'sha256' },
    { owf: 'sha256', mac: 'sha256' },
    { owf: 'sha1', mac: 'sha1' },
  ] as const;
  test.each(combinations)('PBM owf $owf, HMAC-$mac: the right secret verifies, a wrong one and a changed byte do not', async ({ owf, mac: hmac }) => {
    const message = await irMessage({ protection: mac(SECRET, { owf, mac: hmac }) });
    expect(verifyMacProtection(message, SECRET)).toBe(true);
    expect(verifyMacProtection(message, utf8('correct horse battery stapler'))).toBe(false);
    const tampered = new Uint8Array(message.der);
    tampered[tampered.length - 1]! ^= 1;
    expect(verifyMacProtection(parsePkiMessage(tampered), SECRET)).toBe(false);
  });

  test('PBM: basekey = owf^iterationCount(secret || salt), then HMAC over ProtectedPart, recomputed here', async () => {
    const message = await irMessage({ protection: mac(SECRET, { owf: 'sha256', mac: 'sha256', iterationCount: 321 }) });
    const params = (asn1js.fromBER(message.header.protectionAlg!.parameters!).result as asn1js.Sequence).valueBlock.value;
    const salt = (params[0] as asn1js.OctetString).valueBlock.valueHexView;
    expect((params[2] as asn1js.Integer).valueBlock.valueDec).toBe(321);
    let key = createHash('sha256').update(SECRET).update(salt).digest();
    for (let i = 1; i < 321; i++) key = createHash('sha256').update(key).digest();
    expect(hex(message.protection!)).toBe(createHmac('sha256', key).update(message.protectedPart).digest('hex'));
    expect(salt).toHaveLength(16);
  });

  test('PBMAC1: PBKDF2 then HMAC, the same value OpenSSL’s kdf and mac commands compute', async () => {
    for (const hash of ['sha256', 'sha512'] as const) {
      const message = await irMessage({ protection: mac(SECRET, { algorithm: 'pbmac1', mac: hash, iterationCount: 1000 }) });
      expect(message.header.protectionAlg?.oid).toBe(CMP_OIDS.pbmac1);
      expect(verifyMacProtection(message, SECRET)).toBe(true);
      expect(verifyMacProtection(message, utf8('wrong'))).toBe(false);
      const kdf = (asn1js.fromBER(message.header.protectionAlg!.parameters!).result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
      const pbkdf2 = kdf.valueBlock.value[1] as asn1js.Sequence;
      const salt = hex((pbkdf2.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView);
      const keyLength = (pbkdf2.valueBlock.value[2] as asn1js.Integer).valueBlock.valueDec;
      const derived = await openssl(['kdf', '-keylen', String(keyLength), '-kdfopt', `digest:${hash.toUpperCase()}`, '-kdfopt', `pass:${Buffer.from(SECRET).toString()}`, '-kdfopt', `hexsalt:${salt}`, '-kdfopt', 'iter:1000', 'PBKDF2']);
      expect(derived.code).toBe(0);
      const key = derived.stdout.trim().replace(/:/g, '').toLowerCase();
      const input = path.join(dir, `protected-${hash}.der`);
      writeFileSync(input, message.protectedPart);
      const computed = await openssl(['mac', '-digest', hash.toUpperCase(), '-macopt', `hexkey:${key}`, '-in', input, 'HMAC']);
      expect(computed.code).toBe(0);
      expect(computed.stdout.trim().toLowerCase()).toBe(hex(message.protection!));
    }
  });

  test(`iteration counts below 100 and above ${MAX_MAC_ITERATIONS} (or maxIterationCount) are refused before any hashing`, async () => {
    const message = await irMessage();
    const pbm = (count: Uint8Array): Uint8Array =>
      sequence(oid(CMP_OIDS.passwordBasedMac), sequence(octetString(randomBytes(16)), sequence(oid('2.16.840.1.101.3.4.2.1')), count, sequence(oid(CMP_OIDS.hmacSha1))));
    const refused = { kind: 'policyForbids', code: 'badPbmIterationCount' };
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, pbm(integer(99))), SECRET))).toEqual(refused);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, pbm(integer(MAX_MAC_ITERATIONS + 1))), SECRET))).toEqual(refused);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, pbm(tlv(0x02, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0)))), SECRET))).toEqual(refused);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, pbm(integer(-500))), SECRET))).toEqual(refused);
    expect(outcome(() => verifyMacProtection(message, SECRET, { maxIterationCount: 499 }))).toEqual(refused);
    expect(verifyMacProtection(message, SECRET, { maxIterationCount: 500 })).toBe(true);
    await expect(buildPkiMessage({ body: { type: 'pkiConf' }, protection: mac(SECRET, { iterationCount: 99 }) })).rejects.toMatchObject({ code: 'badPbmIterationCount' });
  });

  test('unknown owf or MAC, PBMParameter missing or malformed', async () => {
    const message = await irMessage();
    const md5 = '1.2.840.113549.2.5';
    const params = (owf: string, hmacOid: string): Uint8Array => sequence(octetString(randomBytes(8)), sequence(oid(owf)), integer(500), sequence(oid(hmacOid)));
    const unsupported = { kind: 'policyForbids', code: 'unsupportedCmpAlgorithm' };
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, sequence(oid(CMP_OIDS.passwordBasedMac), params(md5, CMP_OIDS.hmacSha1))), SECRET))).toEqual(unsupported);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, sequence(oid(CMP_OIDS.passwordBasedMac), params(CMP_OIDS.sha1, '1.2.840.113549.2.6'))), SECRET))).toEqual(unsupported);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, sequence(oid(CMP_OIDS.passwordBasedMac))), SECRET))).toEqual(BAD_MESSAGE);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, sequence(oid(CMP_OIDS.passwordBasedMac), sequence(octetString(randomBytes(8))))), SECRET))).toEqual(BAD_MESSAGE);
    expect(outcome(() => verifyMacProtection(withProtectionAlg(message, sequence(oid('1.2.3.4'))), SECRET))).toEqual(unsupported);
  });

  test('a MAC check on a signed message, a signature check on a MAC-protected one, and no protection at all', async () => {
    const signed = await irMessage({ protection: signedBy(client, clientCert) });
    const macd = await irMessage();
    const unprotected = await irMessage({ protection: { kind: 'none' } });
    expect(outcome(() => verifyMacProtection(signed, SECRET))).toEqual({ kind: 'unauthorized', code: 'cmpProtectionMismatch' });
    expect(outcome(() => verifySignatureProtection(macd, clientCert))).toEqual({ kind: 'unauthorized', code: 'cmpProtectionMismatch' });
    expect(unprotected.protection).toBeNull();
    expect(outcome(() => verifyMacProtection(unprotected, SECRET))).toEqual({ kind: 'unauthorized', code: 'cmpProtectionMissing' });
    expect(outcome(() => verifySignatureProtection(unprotected, clientCert))).toEqual({ kind: 'unauthorized', code: 'cmpProtectionMissing' });
  });
});

describe('signature protection (RFC 4210 §5.1.3.3, RFC 9481 §3)', () => {
  const keys = [
    { name: 'P-256', key: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, oid: '1.2.840.10045.4.3.2' },
    { name: 'P-384', key: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, oid: '1.2.840.10045.4.3.3' },
    { name: 'RSA-2048', key: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, oid: '1.2.840.113549.1.1.11' },
  ];
  test.each(keys)('$name: verifies with the signer’s certificate, not with another, not after a change', async ({ key, oid: algorithm }) => {
    const who = keySigner(key());
    const cert = ca.issue(encodeName([{ type: 'CN', value: 'signer' }]), who.publicKeySpki, 'signer');
    const message = await irMessage({ protection: signedBy(who, cert) });
    expect(message.header.protectionAlg?.oid).toBe(algorithm);
    expect(hex(message.extraCerts[0]!)).toBe(hex(cert));
    expect(verifySignatureProtection(message, cert)).toBe(true);
    expect(verifySignatureProtection(message, clientCert)).toBe(false);
    const flipped = new Uint8Array(message.protection!);
    flipped[flipped.length - 1]! ^= 0x01;
    expect(verifySignatureProtection({ ...message, protection: flipped }, cert)).toBe(false);
    const altered = new Uint8Array(message.protectedPart);
    altered[altered.length - 1]! ^= 0x01;
    expect(verifySignatureProtection({ ...message, protectedPart: altered }, cert)).toBe(false);
  });

  test('signature algorithms outside ECDSA/RSA with SHA-2 are refused', async () => {
    const message = await irMessage({ protection: signedBy(client, clientCert) });
    expect(outcome(() => verifySignatureProtection(withProtectionAlg(message, sequence(oid(CMP_OIDS.sha1WithRsa), DER_NULL)), clientCert))).toEqual({ kind: 'policyForbids', code: 'unsupportedCmpAlgorithm' });
    expect(outcome(() => verifySignatureProtection(withProtectionAlg(message, sequence(oid('1.2.840.10045.4.3.2'), DER_NULL)), clientCert))).toEqual(BAD_MESSAGE);
  });
});

describe('proof of possession (RFC 4211 §4.1)', () => {
  test('a signature over the DER CertRequest with the template key passes', async () => {
    const request = requestOf(await irMessage());
    expect(request.popo?.kind).toBe('signature');
    expect(outcome(() => verifyPopo(request))).toEqual({ ok: true });
  });

  test('signed with another key, changed, missing, raVerified (unless allowed), poposkInput: badPop', async () => {
    const badPop = { kind: 'badCsr', code: 'badPop' };
    const otherKey = requestOf(await irMessage({ popo: signer }));
    expect(outcome(() => verifyPopo(otherKey))).toEqual(badPop);
    const good = requestOf(await irMessage());
    const popo = good.popo as Extract<CertReqMsg['popo'], { kind: 'signature' }>;
    const flipped = new Uint8Array(popo.signature);
    flipped[10]! ^= 0x40;
    expect(outcome(() => verifyPopo({ ...good, popo: { ...popo, signature: flipped } }))).toEqual(badPop);
    const missing = requestOf(await irMessage({ popo: null }));
    expect(outcome(() => verifyPopo(missing))).toEqual(badPop);
    const ra = requestOf(await irMessage({ popo: 'raVerified' }));
    expect(outcome(() => verifyPopo(ra))).toEqual(badPop);
    expect(outcome(() => verifyPopo(ra, { allowRaVerified: true }))).toEqual({ ok: true });
    expect(outcome(() => verifyPopo({ ...good, popo: { ...popo, poposkInput: Uint8Array.of(0xa0, 0) } }))).toEqual(badPop);
    expect(outcome(() => verifyPopo({ ...good, popo: { kind: 'keyEncipherment' } }))).toEqual(badPop);
    expect(outcome(() => verifyPopo({ ...good, template: { ...good.template, publicKey: null } }))).toEqual(badPop);
  });
});

describe('certHash (RFC 4210 §5.3.18)', () => {
  test('the hash of the certificate’s signature algorithm: what openssl x509 -fingerprint prints', async () => {
    const p384 = keySigner(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const file = path.join(dir, 'client.pem');
    writeFileSync(file, pem(clientCert));
    const fingerprint = await openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256']);
    expect(fingerprint.stdout.trim().split('=')[1]!.replace(/:/g, '').toLowerCase()).toBe(hex(certHash(clientCert)));
    expect(hex(certHash(clientCert, '1.2.840.10045.4.3.3'))).toBe(createHash('sha384').update(clientCert).digest('hex'));
    expect(hex(certHash(clientCert, CMP_OIDS.sha1WithRsa))).toBe(createHash('sha1').update(clientCert).digest('hex'));
    expect(outcome(() => certHash(clientCert, '1.2.3.4'))).toEqual({ kind: 'policyForbids', code: 'unsupportedCmpAlgorithm' });
    expect(p384.algorithm).toEqual({ kind: 'ec', curve: 'P-384' });
  });

  test('certHashMatches: certHash, or hashAlg when the CertStatus names one (pvno 3)', () => {
    expect(certHashMatches({ certHash: certHash(clientCert), certReqId: 0, statusInfo: null, hashAlg: null }, clientCert)).toBe(true);
    expect(certHashMatches({ certHash: certHash(signerCert), certReqId: 0, statusInfo: null, hashAlg: null }, clientCert)).toBe(false);
    const sha512 = { oid: '2.16.840.1.101.3.4.2.3', parameters: null, der: sequence(oid('2.16.840.1.101.3.4.2.3')) };
    expect(certHashMatches({ certHash: new Uint8Array(createHash('sha512').update(clientCert).digest()), certReqId: 0, statusInfo: null, hashAlg: sha512 }, clientCert)).toBe(true);
    expect(certHashMatches({ certHash: certHash(clientCert).subarray(1), certReqId: 0, statusInfo: null, hashAlg: null }, clientCert)).toBe(false);
  });
});

describe('malformed messages are badCmpMessage, never a crash', () => {
  let sample: Uint8Array;
  let samples: Uint8Array[];
  beforeAll(async () => {
    const ir = await irMessage({ protection: signedBy(client, clientCert), implicitConfirm: true });
    sample = ir.der;
    const issuer = inspectCertificate(ca.certificate).subjectNameDer;
    samples = [
      sample,
      (await irMessage()).der,
      await buildPkiMessage({ body: { type: 'rr', revocations: [{ serial: inspectCertificate(clientCert).serial, issuer, reasonCode: 1 }] }, protection: mac() }),
      await buildPkiMessage({ body: { type: 'certConf', statuses: [{ certHash: certHash(clientCert), certReqId: 0, statusInfo: { status: 'accepted' } }] }, protection: mac() }),
      await buildPkiMessage({ body: { type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] }, protection: mac(), freeText: ['hello'] }),
      await buildPkiMessage({ body: { type: 'error', status: { status: 'rejection', failInfo: ['badTime'], statusString: ['late'] }, errorCode: 3 }, protection: mac() }),
    ];
  });

  const isExpected = (result: ReturnType<typeof outcome>): boolean =>
    'ok' in result || (result.kind === 'malformed' && result.code === 'badCmpMessage') || result.kind === 'badCsr' || result.kind === 'badPublicKey';

  test('garbage, empty input, a certificate, trailing bytes, BER indefinite length', () => {
    expect(outcome(() => parsePkiMessage(new Uint8Array(0)))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(utf8('POST /cmp HTTP/1.1')))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(clientCert))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(Uint8Array.of(...sample, 0)))).toEqual(BAD_MESSAGE);
    const indefinite = Uint8Array.of(0x30, 0x80, ...sample.subarray(sample[1]! & 0x80 ? 2 + (sample[1]! & 0x7f) : 2), 0, 0);
    expect(outcome(() => parsePkiMessage(indefinite))).toEqual(BAD_MESSAGE);
  });

  test('every truncation of every sample is refused', () => {
    for (const der of samples) {
      for (let length = 0; length < der.length; length++) expect(outcome(() => parsePkiMessage(der.subarray(0, length)))).toEqual(BAD_MESSAGE);
    }
  });

  test('a flipped bit anywhere parses or is refused with a CaError (fuzz: every byte of one sample, random flips of all)', () => {
    const seen = { parsed: 0, refused: 0 };
    for (let at = 0; at < sample.length; at++) {
      const mutated = new Uint8Array(sample);
      mutated[at]! ^= 1 << (at % 8);
      const result = outcome(() => parsePkiMessage(mutated));
      expect(isExpected(result)).toBe(true);
      seen['ok' in result ? 'parsed' : 'refused']++;
    }
    // Both happen: flips in keys, nonces and signatures still parse (protection catches them), flips in structure do not.
    expect(seen.parsed).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    for (let round = 0; round < 2000; round++) {
      const base = samples[round % samples.length]!;
      const mutated = new Uint8Array(base);
      for (let flips = 1 + (round % 3); flips > 0; flips--) mutated[Math.floor(Math.random() * mutated.length)]! ^= 1 << Math.floor(Math.random() * 8);
      expect(isExpected(outcome(() => parsePkiMessage(mutated)))).toBe(true);
    }
  });

  test('answers (ip, rp, genp) are not requests: parsePkiMessage refuses, inspectPkiMessage reads', async () => {
    const request = await irMessage();
    const ip = await buildPkiMessage({ inReplyTo: request.header, body: { type: 'ip', responses: [] }, protection: mac() });
    expect(outcome(() => parsePkiMessage(ip))).toEqual(BAD_MESSAGE);
    expect(inspectPkiMessage(ip).body.type).toBe('ip');
  });

  test('pvno 1, unknown body tags, a SEQUENCE for a body, lists beyond MAX_CMP_LIST', async () => {
    const base = await irMessage({ protection: { kind: 'none' } });
    const [header, body] = (asn1js.fromBER(base.der).result as asn1js.Sequence).valueBlock.value.map((v) => new Uint8Array(v.toBER()));
    const headerFields = (asn1js.fromBER(header!).result as asn1js.Sequence).valueBlock.value.map((v) => new Uint8Array(v.toBER()));
    const withPvno = (n: number): Uint8Array => sequence(sequence(integer(n), ...headerFields.slice(1)), body!);
    expect(parsePkiMessage(withPvno(2)).header.pvno).toBe(2);
    expect(parsePkiMessage(withPvno(3)).header.pvno).toBe(3);
    expect(outcome(() => parsePkiMessage(withPvno(1)))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(sequence(header!, tlv(0xbb, DER_NULL))))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(sequence(header!, tlv(0xb4, DER_NULL))))).toEqual(BAD_MESSAGE); // nested [20]
    expect(outcome(() => parsePkiMessage(sequence(header!, sequence(DER_NULL))))).toEqual(BAD_MESSAGE);
    expect(outcome(() => parsePkiMessage(sequence(header!, tlv(0xb3, integer(0)))))).toEqual(BAD_MESSAGE); // pkiConf not NULL
    const itav = sequence(oid(CMP_OIDS.caCerts));
    expect(parsePkiMessage(sequence(header!, tlv(0xb5, sequence(...Array(MAX_CMP_LIST).fill(itav))))).body).toMatchObject({ type: 'genm' });
    expect(outcome(() => parsePkiMessage(sequence(header!, tlv(0xb5, sequence(...Array(MAX_CMP_LIST + 1).fill(itav))))))).toEqual(BAD_MESSAGE);
  });

  test('a p10cr whose CSR signature is broken keeps parseCsr’s error; tryParsePkiHeader still reads the header', async () => {
    const { csrPem } = await opensslCsr(dir, 'broken', 'ec-p256', '/CN=broken');
    const csr = new Uint8Array(Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
    csr[csr.length - 5]! ^= 0x55;
    const der = await buildPkiMessage({ body: { type: 'p10cr', csr }, protection: mac() });
    expect(outcome(() => parsePkiMessage(der))).toEqual({ kind: 'badCsr', code: 'csrSignatureInvalid' });
    const header = tryParsePkiHeader(der);
    expect(header?.transactionID).toHaveLength(16);
    expect(tryParsePkiHeader(Uint8Array.of(1, 2, 3))).toBeNull();
  });

  test('a genm laid out as OpenSSL writes it (NULL-DN sender, PBM sha256/hmac-sha1/500, senderKID) reads, header and all', () => {
    // The layout of `openssl cmp -cmd genm -ref 1234 -secret pass:…` (real ones: cmp-openssl.test.ts).
    const genm = sequence(
      sequence(
        integer(2),
        Uint8Array.of(0xa4, 0x02, 0x30, 0x00),
        tlv(0xa4, encodeName([{ type: 'CN', value: 'CMP Signer' }])),
        tlv(0xa0, tlv(0x18, utf8('20261201112238Z'))),
        tlv(0xa1, sequence(oid(CMP_OIDS.passwordBasedMac), sequence(octetString(randomBytes(16)), sequence(oid('2.16.840.1.101.3.4.2.1')), integer(500), sequence(oid(CMP_OIDS.hmacSha1))))),
        tlv(0xa2, octetString(utf8('1234'))),
        tlv(0xa4, octetString(randomBytes(16))),
        tlv(0xa5, octetString(randomBytes(16))),
      ),
      tlv(0xb5, sequence(sequence(oid(CMP_OIDS.caCerts)))),
      tlv(0xa0, Uint8Array.of(0x03, 0x15, 0x00, ...randomBytes(20))),
    );
    const message = parsePkiMessage(genm);
    expect(message.header).toMatchObject({ pvno: 2, sender: { text: '' }, recipient: { text: 'CN=CMP Signer' }, messageTime: new Date('2026-12-01T11:22:38Z') });
    expect(Buffer.from(message.header.senderKID!).toString()).toBe('1234');
    expect(message.body).toEqual({ type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] });
    expect(verifyMacProtection(message, utf8('any'))).toBe(false);
  });
});

test('the PEM of a certificate the helper CA issued reads back in OpenSSL', async () => {
  const file = path.join(dir, 'ca.pem');
  writeFileSync(file, pem(ca.certificate));
  const text = await openssl(['x509', '-in', file, '-noout', '-subject']);
  expect(text.stdout.trim()).toBe('subject=CN = CMP Test CA');
  expect(readFileSync(file, 'utf8')).toContain('BEGIN CERTIFICATE');
});
