/**
 * The CMP codec held to OpenSSL 3's `openssl cmp`, the client security servers will use:
 *   - openssl as client against a responder written here on node:http with the codec
 *     (test/helpers/cmp.ts): ir/cr/kur/p10cr/rr/genm, PBM and signature protection both ways,
 *     certConf or implicitConfirm, and the failures openssl must report (wrong secret, POPO, trust);
 *   - openssl as server (`openssl cmp -port 0`, its mock server) answering requests our builder
 *     made, MAC-protected and signed, and our parser reading what openssl client and mock server
 *     exchange between themselves (-reqout/-rspout).
 * The responder's certificates come from a throwaway CA made with Node (not the project's CA core);
 * its CMP signer is a P-256 key whose certificate openssl issues. Every test has its own directory,
 * and every openssl process it starts is gone when it ends.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildPkiMessage,
  certHash,
  certHashMatches,
  inspectPkiMessage,
  verifyMacProtection,
  verifyPopo,
  verifySignatureProtection,
  type PkiMessage,
} from '../../src/x509/cmp.js';
import { sequence } from '../../src/x509/der-writer.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { encodeName } from '../../src/x509/names.js';
import { CMP_OIDS } from '../../src/x509/oids.js';
import { decodePemBlocks } from '../../src/x509/pem.js';
import { CmpResponder, keyFromPem, keySigner, postCmp, Processes, TestCa, writePem, type ResponderOptions, type Run } from '../helpers/cmp.js';
import { removeDir, tempDir } from '../helpers/env.js';

const SECRET = 'x-road enrolment secret';
const REF = 'ss1-ref';
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

let dir: string;
let processes: Processes;
let ca: TestCa;
let responder: CmpResponder | undefined;
let signerCertDer: Uint8Array;

const file = (name: string): string => path.join(dir, name);
const certificates = (name: string): Uint8Array[] => decodePemBlocks(readFileSync(file(name), 'utf8')).map((block) => block.der);

async function openssl(args: readonly string[]): Promise<Run> {
  return processes.run(args);
}

async function must(args: readonly string[]): Promise<Run> {
  const run = await openssl(args);
  if (run.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return run;
}

async function newKey(name: string, curve = 'P-256'): Promise<string> {
  await must(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', file(name)]);
  return file(name);
}

const spkiOfKey = (keyFile: string): string => hex(new Uint8Array(createPublicKey(createPrivateKey(readFileSync(keyFile))).export({ format: 'der', type: 'spki' })));

/** A certificate for `keyFile` issued by openssl with the CA's key (what the CMP signer gets). */
async function opensslCertificate(name: string, keyFile: string, subject: string, extensions: string[]): Promise<string> {
  await must(['req', '-new', '-key', keyFile, '-subj', subject, '-out', file(`${name}.csr`)]);
  writeFileSync(file(`${name}.ext`), extensions.join('\n'));
  await must(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-set_serial', '0x4d50', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`)]);
  return file(`${name}.pem`);
}

beforeEach(async () => {
  dir = tempDir('eimza-cmp-');
  processes = new Processes();
  ca = new TestCa();
  writePem(dir, 'ca.pem', [ca.certificate]);
  writeFileSync(file('ca.key'), ca.keyPem);
  await newKey('signer.key');
  await opensslCertificate('signer', file('signer.key'), '/O=e-imza/CN=e-imza CMP', ['keyUsage=critical,digitalSignature', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']);
  signerCertDer = certificates('signer.pem')[0]!;
});

afterEach(async () => {
  await processes.killAll();
  await responder?.close();
  responder = undefined;
  removeDir(dir);
});

async function startResponder(options: Partial<ResponderOptions> = {}): Promise<CmpResponder> {
  responder = new CmpResponder({
    ca,
    cmpSigner: { signer: keySigner(keyFromPem(readFileSync(file('signer.key'), 'utf8'))), certificate: signerCertDer, chain: [ca.certificate] },
    secrets: { [REF]: SECRET },
    ...options,
  });
  await responder.listen();
  return responder;
}

/** `openssl cmp` against the responder; -msg_timeout keeps a hung exchange from outliving the test. */
function cmp(args: readonly string[]): Promise<Run> {
  return openssl(['cmp', '-config', '', '-server', responder!.url, '-msg_timeout', '20', ...args]);
}

const MAC_AUTH = ['-ref', REF, '-secret', `pass:${SECRET}`];
const pinned = (): string[] => ['-srvcert', file('signer.pem')];

/** ir with PBM and a pinned, signature-checked answer: the shape of a security server's first enrolment. */
async function enrol(name: string, extra: readonly string[] = []): Promise<{ run: Run; keyFile: string; certFile: string }> {
  const keyFile = await newKey(`${name}.key`);
  const certFile = file(`${name}.pem`);
  const run = await cmp(['-cmd', 'ir', ...MAC_AUTH, '-newkey', keyFile, '-subject', `/O=Test Org/CN=${name}.example.az`, '-certout', certFile, '-srvcert', file('signer.pem'), ...extra]);
  return { run, keyFile, certFile };
}

describe('openssl cmp as client, the responder built on the codec', () => {
  test('ir with PBM: the certificate, caPubs, extraCerts, then certConf/pkiConf; the chain verifies (-out_trusted)', async () => {
    const r = await startResponder();
    const { run, keyFile, certFile } = await enrol('ss1', ['-out_trusted', file('ca.pem'), '-cacertsout', file('capubs.pem'), '-extracertsout', file('extra.pem')]);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/sending IR[\s\S]*received IP[\s\S]*sending CERTCONF[\s\S]*received PKICONF/);
    const [issued] = certificates('ss1.pem');
    const info = inspectCertificate(issued!);
    expect(info.subject).toBe('O=Test Org, CN=ss1.example.az');
    expect(hex(info.subjectPublicKeySpki)).toBe(spkiOfKey(keyFile));
    expect(ca.signed(issued!)).toBe(true);
    expect(certificates('capubs.pem').map(hex)).toEqual([hex(ca.certificate)]);
    expect(certificates('extra.pem').map(hex)).toEqual([hex(signerCertDer), hex(ca.certificate)]);
    expect(r.exchanges).toEqual([
      { request: 'ir', response: 'ip' },
      { request: 'certConf', response: 'pkiConf' },
    ]);
    expect(r.confirmed.map(hex)).toEqual([hex(issued!)]);
    expect(existsSync(certFile)).toBe(true);
  });

  test('-implicit_confirm granted: implicitConfirm echoed, no certConf; not granted: openssl confirms', async () => {
    const granting = await startResponder({ grantImplicitConfirm: true });
    const first = await enrol('implicit', ['-implicit_confirm', '-rspout', file('ip.der')]);
    expect(first.run.code).toBe(0);
    expect(first.run.output).not.toMatch(/CERTCONF/);
    expect(granting.exchanges).toEqual([{ request: 'ir', response: 'ip' }]);
    expect(inspectPkiMessage(readFileSync(file('ip.der'))).header.implicitConfirm).toBe(true);
    await granting.close();

    const refusing = await startResponder({ grantImplicitConfirm: false });
    const second = await enrol('explicit', ['-implicit_confirm']);
    expect(second.run.code).toBe(0);
    expect(refusing.exchanges.map((e) => e.request)).toEqual(['ir', 'certConf']);
  });

  test('cr, the answer checked through -trusted (the signer’s chain from extraCerts)', async () => {
    const r = await startResponder();
    const keyFile = await newKey('cr.key');
    const run = await cmp(['-cmd', 'cr', ...MAC_AUTH, '-newkey', keyFile, '-subject', '/CN=cr.example.az', '-certout', file('cr.pem'), '-trusted', file('ca.pem')]);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/received CP/);
    expect(hex(inspectCertificate(certificates('cr.pem')[0]!).subjectPublicKeySpki)).toBe(spkiOfKey(keyFile));
    expect(r.exchanges.map((e) => e.response)).toEqual(['cp', 'pkiConf']);
  });

  test('p10cr -csr: the PKCS#10 key and subject, certReqId -1', async () => {
    const r = await startResponder();
    const keyFile = await newKey('p10.key');
    await must(['req', '-new', '-key', keyFile, '-subj', '/O=Test Org/CN=p10.example.az', '-out', file('p10.csr')]);
    const run = await cmp(['-cmd', 'p10cr', ...MAC_AUTH, '-csr', file('p10.csr'), '-certout', file('p10.pem'), ...pinned(), '-rspout', file('cp.der')]);
    expect(run.code).toBe(0);
    const info = inspectCertificate(certificates('p10.pem')[0]!);
    expect(info.subject).toBe('O=Test Org, CN=p10.example.az');
    expect(hex(info.subjectPublicKeySpki)).toBe(spkiOfKey(keyFile));
    const cp = inspectPkiMessage(readFileSync(file('cp.der')));
    expect(cp.body.type === 'cp' && cp.body.responses.map((response) => response.certReqId)).toEqual([-1]);
    expect(r.exchanges).toEqual([
      { request: 'p10cr', response: 'cp' },
      { request: 'certConf', response: 'pkiConf' },
    ]);
  });

  test('kur -cert old -key old -newkey new: signature-protected request, same subject, new key', async () => {
    const r = await startResponder();
    const old = await enrol('renew');
    expect(old.run.code).toBe(0);
    const newKeyFile = await newKey('renew-new.key');
    const run = await cmp(['-cmd', 'kur', '-cert', old.certFile, '-key', old.keyFile, '-newkey', newKeyFile, '-certout', file('renewed.pem'), ...pinned(), '-reqout', file('kur.der')]);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/received KUP/);
    const oldInfo = inspectCertificate(certificates('renew.pem')[0]!);
    const renewed = inspectCertificate(certificates('renewed.pem')[0]!);
    expect(renewed.subject).toBe(oldInfo.subject);
    expect(renewed.serial).not.toBe(oldInfo.serial);
    expect(hex(renewed.subjectPublicKeySpki)).toBe(spkiOfKey(newKeyFile));
    const kur = inspectPkiMessage(readFileSync(file('kur.der')));
    expect(kur.body.type === 'kur' && kur.body.requests[0]!.oldCertId?.serial).toBe(oldInfo.serial);
    expect(verifySignatureProtection(kur, kur.extraCerts[0]!)).toBe(true);
    expect(r.exchanges.map((e) => `${e.request}>${e.response}`)).toEqual(['ir>ip', 'certConf>pkiConf', 'kur>kup', 'certConf>pkiConf']);
  });

  test('rr -oldcert -revreason 5 (PBM), rr protected by the certificate itself, rr of a certificate the CA never issued', async () => {
    const r = await startResponder();
    const { run: enrolled, certFile } = await enrol('gone');
    expect(enrolled.code).toBe(0);
    const serial = inspectCertificate(certificates('gone.pem')[0]!).serial;
    const revoked = await cmp(['-cmd', 'rr', ...MAC_AUTH, '-oldcert', certFile, '-revreason', '5', ...pinned()]);
    expect(revoked.code).toBe(0);
    expect(revoked.output).toMatch(/revocation accepted/);
    expect(r.revoked.get(serial)).toBe(5);

    const second = await enrol('gone2');
    const selfSigned = await cmp(['-cmd', 'rr', '-cert', second.certFile, '-key', second.keyFile, '-oldcert', second.certFile, '-revreason', '1', '-trusted', file('ca.pem')]);
    expect(selfSigned.code).toBe(0);
    expect(r.revoked.get(inspectCertificate(certificates('gone2.pem')[0]!).serial)).toBe(1);

    const unknown = await cmp(['-cmd', 'rr', ...MAC_AUTH, '-oldcert', file('signer.pem'), '-revreason', '4', ...pinned()]);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/rejection[\s\S]*badCertId/);
  });

  test('genm -infotype caCerts: genp with the CA certificates, read back by the parser', async () => {
    const r = await startResponder();
    const run = await cmp(['-cmd', 'genm', ...MAC_AUTH, '-infotype', 'caCerts', ...pinned(), '-reqout', file('genm.der'), '-rspout', file('genp.der')]);
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/genp contains ITAV of type: id-it-caCerts/);
    const genm = inspectPkiMessage(readFileSync(file('genm.der')));
    expect(genm.body).toEqual({ type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] });
    const genp = inspectPkiMessage(readFileSync(file('genp.der')));
    expect(genp.body).toEqual({ type: 'genp', infos: [{ oid: CMP_OIDS.caCerts, value: sequence(ca.certificate) }] });
    expect(verifySignatureProtection(genp, signerCertDer)).toBe(true);
    expect(r.exchanges).toEqual([{ request: 'genm', response: 'genp' }]);
  });

  test('MAC-protected answers: openssl checks our PBM (owf SHA-1, hmacWithSHA256 via -digest sha1 -mac) with the secret alone', async () => {
    await startResponder({ answerWithMac: true });
    const run = await cmp(['-cmd', 'genm', ...MAC_AUTH, '-digest', 'sha1', '-mac', 'hmacWithSHA256', '-reqout', file('genm.der'), '-rspout', file('genp.der')]);
    expect(run.code).toBe(0);
    const genm = inspectPkiMessage(readFileSync(file('genm.der')));
    expect(verifyMacProtection(genm, utf8(SECRET))).toBe(true);
    const genp = inspectPkiMessage(readFileSync(file('genp.der')));
    expect(genp.header.protectionAlg?.oid).toBe(CMP_OIDS.passwordBasedMac);
    expect(verifyMacProtection(genp, utf8(SECRET))).toBe(true);

    const enrolled = await enrol('mac-answer', ['-rspout', file('ip.der')]);
    expect(enrolled.run.code).toBe(0);
    expect(inspectPkiMessage(readFileSync(file('ip.der'))).header.protectionAlg?.oid).toBe(CMP_OIDS.passwordBasedMac);
  });

  test('a wrong secret: an error message with badMessageCheck, which openssl reports (exit 1)', async () => {
    const r = await startResponder();
    const keyFile = await newKey('wrong.key');
    const run = await cmp(['-cmd', 'ir', '-ref', REF, '-secret', 'pass:not the secret', '-newkey', keyFile, '-subject', '/CN=wrong', '-certout', file('wrong.pem'), ...pinned()]);
    expect(run.code).toBe(1);
    // OpenSSL 3.0's CMP log (info and errors) goes to stdout, not stderr.
    expect(run.stdout).toMatch(/received ERROR/);
    expect(run.stdout).toMatch(/CMP error: received error:PKIStatus: rejection; PKIFailureInfo: badMessageCheck; StatusString: "MAC protection does not verify"/);
    expect(existsSync(file('wrong.pem'))).toBe(false);
    expect(r.exchanges).toEqual([{ request: 'ir', response: 'error', failInfo: ['badMessageCheck'], code: 'cmpProtectionInvalid' }]);
  });

  test('proof of possession: -popo 0 (raVerified) and -popo -1 (none) are answered badPOP', async () => {
    const r = await startResponder();
    const keyFile = await newKey('popo.key');
    for (const popo of ['0', '-1']) {
      const run = await cmp(['-cmd', 'ir', ...MAC_AUTH, '-popo', popo, '-newkey', keyFile, '-subject', '/CN=popo', '-certout', file(`popo${popo}.pem`), ...pinned()]);
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/PKIFailureInfo: badPOP/);
    }
    expect(r.exchanges.map((e) => e.code)).toEqual(['badPop', 'badPop']);
  });

  test('a request signed by a certificate of another CA: signerNotTrusted; an unprotected one: badMessageCheck', async () => {
    const r = await startResponder();
    const keyFile = await newKey('stranger.key');
    await must(['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=stranger', '-days', '1', '-out', file('stranger.pem')]);
    const stranger = await cmp(['-cmd', 'cr', '-cert', file('stranger.pem'), '-key', keyFile, '-newkey', keyFile, '-subject', '/CN=stranger', '-certout', file('x.pem'), ...pinned()]);
    expect(stranger.code).toBe(1);
    expect(stranger.output).toMatch(/PKIFailureInfo: signerNotTrusted/);
    const unprotected = await cmp(['-cmd', 'ir', '-unprotected_requests', '-newkey', keyFile, '-subject', '/CN=bare', '-certout', file('y.pem'), ...pinned()]);
    expect(unprotected.code).toBe(1);
    expect(unprotected.output).toMatch(/PKIFailureInfo: badMessageCheck/);
    expect(r.exchanges.map((e) => e.code)).toEqual(['signerNotTrusted', 'cmpProtectionMissing']);
  });
});

describe('openssl cmp as server (its mock server, -port 0)', () => {
  /** Starts `openssl cmp -port 0 …` and returns its URL once it prints the port it listens on. */
  async function mockServer(args: readonly string[]): Promise<string> {
    const { match } = await processes.start(['cmp', '-config', '', '-port', '0', ...args], /ACCEPT \S*:(\d+)/);
    return `http://127.0.0.1:${match[1]}/`;
  }

  async function mockCertificates(): Promise<{ mockCert: Uint8Array; client: ReturnType<typeof keySigner>; clientCert: Uint8Array }> {
    await newKey('mock.key');
    await must(['req', '-x509', '-new', '-key', file('mock.key'), '-subj', '/CN=openssl mock CA', '-days', '1', '-addext', 'keyUsage=critical,digitalSignature', '-out', file('mock.pem')]);
    const client = keySigner(keyFromPem(readFileSync(await newKey('client.key'), 'utf8')));
    const clientCert = ca.issue(encodeName([{ type: 'CN', value: 'ss1.example.az' }]), client.publicKeySpki);
    writePem(dir, 'rsp.pem', [clientCert]);
    return { mockCert: certificates('mock.pem')[0]!, client, clientCert };
  }

  async function exchange(url: string, der: Uint8Array): Promise<PkiMessage> {
    const response = await postCmp(url, der);
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('application/pkixcmp');
    return inspectPkiMessage(response.body);
  }

  test('MAC-protected genm, p10cr + certConf and rr built here are answered; our parser and MAC check read the answers', async () => {
    const { clientCert } = await mockCertificates();
    const url = await mockServer(['-srv_secret', `pass:${SECRET}`, '-srv_cert', file('mock.pem'), '-srv_key', file('mock.key'), '-rsp_cert', file('rsp.pem'), '-rsp_capubs', file('ca.pem')]);
    const protection = { kind: 'mac' as const, secret: utf8(SECRET), senderKID: utf8(REF), owf: 'sha256' as const, mac: 'sha1' as const, iterationCount: 500 };
    const recipient = encodeName([{ type: 'CN', value: 'openssl mock CA' }]);

    const genmDer = await buildPkiMessage({ body: { type: 'genm', infos: [{ oid: CMP_OIDS.caCerts, value: null }] }, protection, recipient });
    const genp = await exchange(url, genmDer);
    const genm = inspectPkiMessage(genmDer);
    expect(genp.body).toEqual({ type: 'genp', infos: [{ oid: CMP_OIDS.caCerts, value: null }] });
    expect(verifyMacProtection(genp, utf8(SECRET))).toBe(true);
    expect(hex(genp.header.transactionID!)).toBe(hex(genm.header.transactionID!));
    expect(hex(genp.header.recipNonce!)).toBe(hex(genm.header.senderNonce!));

    await must(['req', '-new', '-key', file('client.key'), '-subj', '/CN=ss1.example.az', '-outform', 'DER', '-out', file('client.csr.der')]);
    const p10crDer = await buildPkiMessage({ body: { type: 'p10cr', csr: readFileSync(file('client.csr.der')) }, protection, recipient });
    const cp = await exchange(url, p10crDer);
    expect(verifyMacProtection(cp, utf8(SECRET))).toBe(true);
    expect(cp.body).toMatchObject({ type: 'cp', responses: [{ certReqId: -1, status: { status: 'accepted' } }] });
    const issued = cp.body.type === 'cp' ? cp.body.responses[0]!.certificate! : new Uint8Array();
    expect(hex(issued)).toBe(hex(clientCert));
    const certConf = await buildPkiMessage({ inReplyTo: cp.header, body: { type: 'certConf', statuses: [{ certHash: certHash(issued), certReqId: -1, statusInfo: { status: 'accepted' } }] }, protection });
    const pkiConf = await exchange(url, certConf);
    expect(pkiConf.body).toEqual({ type: 'pkiConf' });
    expect(verifyMacProtection(pkiConf, utf8(SECRET))).toBe(true);

    const rp = await exchange(url, await buildPkiMessage({ body: { type: 'rr', revocations: [{ serial: inspectCertificate(clientCert).serial, issuer: ca.name, reasonCode: 1 }] }, protection, recipient }));
    expect(rp.body).toEqual({ type: 'rp', statuses: [{ status: 'accepted', statusString: [], failInfo: [] }] });

    const wrong = await exchange(url, await buildPkiMessage({ body: { type: 'genm', infos: [] }, protection: { ...protection, secret: utf8('wrong') }, recipient }));
    expect(wrong.body).toMatchObject({ type: 'error', status: { status: 'rejection' } });
  });

  test('a signed ir with our POPO: openssl checks both (-srv_trusted), answers a signed ip we verify; our certConf is accepted', async () => {
    const { mockCert, client, clientCert } = await mockCertificates();
    const url = await mockServer(['-srv_cert', file('mock.pem'), '-srv_key', file('mock.key'), '-srv_trusted', file('ca.pem'), '-rsp_cert', file('rsp.pem'), '-rsp_capubs', file('ca.pem')]);
    const protection = { kind: 'signature' as const, signer: client, certificate: clientCert, chain: [ca.certificate] };
    const irDer = await buildPkiMessage({
      body: { type: 'ir', requests: [{ certReqId: 0, subject: encodeName([{ type: 'CN', value: 'ss1.example.az' }]), publicKey: client.publicKeySpki, popo: client }] },
      protection,
      recipient: inspectCertificate(mockCert).subjectNameDer,
    });
    const ip = await exchange(url, irDer);
    expect(ip.body).toMatchObject({ type: 'ip', caPubs: [ca.certificate], responses: [{ certReqId: 0, status: { status: 'accepted' } }] });
    expect(verifySignatureProtection(ip, mockCert)).toBe(true);
    expect(verifySignatureProtection(ip, clientCert)).toBe(false);
    expect(ip.header.sender.text).toBe('CN=openssl mock CA');
    const issued = ip.body.type === 'ip' ? ip.body.responses[0]!.certificate! : new Uint8Array();
    const pkiConf = await exchange(url, await buildPkiMessage({ inReplyTo: ip.header, body: { type: 'certConf', statuses: [{ certHash: certHash(issued), certReqId: 0 }] }, protection }));
    expect(pkiConf.body).toEqual({ type: 'pkiConf' });
    expect(verifySignatureProtection(pkiConf, mockCert)).toBe(true);

    // A POPO by another key than the template's is refused by openssl too: an ip with a rejection and badPOP.
    const forged = await buildPkiMessage({
      body: { type: 'ir', requests: [{ certReqId: 0, subject: encodeName([{ type: 'CN', value: 'x' }]), publicKey: ca.signer.publicKeySpki, popo: client }] },
      protection,
    });
    const refused = await exchange(url, forged);
    expect(refused.body).toMatchObject({ type: 'ip', responses: [{ certReqId: 0, status: { status: 'rejection', failInfo: ['badPOP'] }, certificate: null }] });
  });

  test('openssl client and mock server between themselves: our parser reads every message, MACs, POPO and certHash check out', async () => {
    const { clientCert } = await mockCertificates();
    const url = await mockServer(['-srv_secret', `pass:${SECRET}`, '-srv_ref', 'mock', '-rsp_cert', file('rsp.pem'), '-rsp_capubs', file('ca.pem'), '-grant_implicitconf']);
    const keyFile = file('client.key');
    const base = ['cmp', '-config', '', '-server', url.replace('http://', ''), '-msg_timeout', '20', ...MAC_AUTH];
    const ir = await openssl([...base, '-cmd', 'ir', '-newkey', keyFile, '-subject', '/CN=ss1.example.az', '-certout', file('out.pem'), '-reqout', `${file('ir.der')},${file('certConf.der')}`, '-rspout', `${file('ip.der')},${file('pkiConf.der')}`]);
    expect(ir.code).toBe(0);
    const [irMessage, certConf, ip, pkiConf] = ['ir.der', 'certConf.der', 'ip.der', 'pkiConf.der'].map((name) => inspectPkiMessage(readFileSync(file(name))));
    for (const message of [irMessage!, certConf!, ip!, pkiConf!]) expect(verifyMacProtection(message, utf8(SECRET))).toBe(true);
    expect(irMessage!.body.type === 'ir' && (verifyPopo(irMessage!.body.requests[0]!), irMessage!.body.requests[0]!.template.subject?.text)).toBe('CN=ss1.example.az');
    expect(ip!.body).toMatchObject({ type: 'ip', caPubs: [ca.certificate], responses: [{ certReqId: 0, status: { status: 'accepted' }, certificate: clientCert }] });
    expect(certConf!.body.type === 'certConf' && certHashMatches(certConf!.body.statuses[0]!, clientCert)).toBe(true);
    expect(pkiConf!.body).toEqual({ type: 'pkiConf' });
    expect(hex(ip!.header.recipNonce!)).toBe(hex(irMessage!.header.senderNonce!));

    // -implicit_confirm against -grant_implicitconf: the ip carries it, openssl sends no certConf.
    const implicit = await openssl([...base, '-cmd', 'ir', '-implicit_confirm', '-newkey', keyFile, '-subject', '/CN=ss1.example.az', '-certout', file('out2.pem'), '-reqout', file('ir2.der'), '-rspout', file('ip2.der')]);
    expect(implicit.code).toBe(0);
    expect(inspectPkiMessage(readFileSync(file('ir2.der'))).header.implicitConfirm).toBe(true);
    expect(inspectPkiMessage(readFileSync(file('ip2.der'))).header.implicitConfirm).toBe(true);

    const rr = await openssl([...base, '-cmd', 'rr', '-oldcert', file('out.pem'), '-revreason', '1', '-reqout', file('rr.der'), '-rspout', file('rp.der')]);
    expect(rr.code).toBe(0);
    const rrMessage = inspectPkiMessage(readFileSync(file('rr.der')));
    expect(rrMessage.body).toMatchObject({ type: 'rr', revocations: [{ serial: inspectCertificate(clientCert).serial, issuer: { text: 'CN=CMP Test CA' }, reasonCode: 1, reason: 'keyCompromise' }] });
    expect(inspectPkiMessage(readFileSync(file('rp.der'))).body).toMatchObject({ type: 'rp', statuses: [{ status: 'accepted' }] });
  });

  test('the mock server’s error message (-send_error) parses: rejection, failInfo, statusString, errorCode, errorDetails', async () => {
    await mockCertificates();
    const url = await mockServer(['-srv_secret', `pass:${SECRET}`, '-srv_ref', 'mock', '-rsp_cert', file('rsp.pem'), '-send_error']);
    const run = await openssl(['cmp', '-config', '', '-server', url.replace('http://', ''), '-msg_timeout', '20', ...MAC_AUTH, '-cmd', 'genm', '-rspout', file('error.der')]);
    expect(run.code).toBe(1);
    const error = inspectPkiMessage(readFileSync(file('error.der')));
    expect(error.body.type).toBe('error');
    if (error.body.type !== 'error') return;
    expect(error.body.status.status).toBe('rejection');
    expect(error.body.status.failInfo.length).toBeGreaterThan(0);
    expect(run.output).toContain(`PKIFailureInfo: ${error.body.status.failInfo[0]}`);
    expect(error.body.status.statusString.length).toBeGreaterThan(0);
    expect(error.body.errorCode).not.toBeNull();
    expect(error.body.errorDetails.length).toBeGreaterThan(0);
    expect(verifyMacProtection(error, utf8(SECRET))).toBe(true);
  });
});
