/**
 * Test parts for the CMP codec (src/x509/cmp.ts): a throwaway CA made with Node crypto (not the
 * project's CA core), a Signer over a Node key, a small CMP responder on node:http built on the
 * codec, and openssl processes that are always killed when a test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Serial } from '../../src/domain/serial.js';
import { CaError, isCaError } from '../../src/errors.js';
import type { KeyAlgorithm, Signer } from '../../src/signing/types.js';
import {
  buildPkiMessage,
  caCertsInfo,
  certHashMatches,
  cmpFailureFor,
  parsePkiMessage,
  tryParsePkiHeader,
  verifyMacProtection,
  verifyPopo,
  verifySignatureProtection,
  type CmpProtectionInput,
  type PkiBodyInput,
  type PkiBodyType,
  type PkiHeader,
  type PkiMessage,
} from '../../src/x509/cmp.js';
import { DerReader, TAG } from '../../src/x509/der-reader.js';
import { bitString, DER_TRUE, integerFromOctets, octetString, oid, sequence, time, tlv } from '../../src/x509/der-writer.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { encodeName } from '../../src/x509/names.js';
import { CMP_OIDS, EXTENSION_OIDS } from '../../src/x509/oids.js';
import { pemEncode } from '../../src/x509/pem.js';
import { signatureAlgorithmDer, subjectKeyIdentifier } from '../../src/x509/public-key.js';

// ---- keys and certificates -------------------------------------------------------------------

const P256: KeyAlgorithm = { kind: 'ec', curve: 'P-256' };

/** A Signer over a Node private key (P-256/P-384 ECDSA or RSA PKCS#1 v1.5), as src/signing/types.ts describes. */
export function keySigner(privateKey: KeyObject): Signer {
  const publicKeySpki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  const details = privateKey.asymmetricKeyDetails ?? {};
  const algorithm: KeyAlgorithm =
    privateKey.asymmetricKeyType === 'rsa'
      ? { kind: 'rsa', bits: details.modulusLength as 2048 }
      : { kind: 'ec', curve: details.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' };
  const hash = algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  return {
    keyUri: 'test:node-key',
    algorithm,
    publicKeySpki,
    sign: async (data) => new Uint8Array(sign(hash, data, { key: privateKey, dsaEncoding: 'der' })),
  };
}

export function keyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

function extension(id: string, value: Uint8Array, critical = false): Uint8Array {
  return sequence(oid(id), ...(critical ? [DER_TRUE] : []), octetString(value));
}

const KEY_USAGE = {
  ca: bitString(Uint8Array.of(0x06), 1), // keyCertSign, cRLSign
  signer: bitString(Uint8Array.of(0x80), 7), // digitalSignature
  leaf: bitString(Uint8Array.of(0x80), 7),
};

export interface CertificateInput {
  subject: Uint8Array;
  spki: Uint8Array;
  role: keyof typeof KEY_USAGE;
  days?: number;
}

/** A throwaway CA: a P-256 key made by Node, a self-signed certificate built with the DER writer. */
export class TestCa {
  readonly key: KeyObject;
  readonly signer: Signer;
  readonly name: Uint8Array;
  readonly certificate: Uint8Array;
  readonly issued = new Map<Serial, Uint8Array>();

  constructor(commonName = 'CMP Test CA') {
    this.key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    this.signer = keySigner(this.key);
    this.name = encodeName([{ type: 'CN', value: commonName }]);
    this.certificate = this.build({ subject: this.name, spki: this.signer.publicKeySpki, role: 'ca', days: 30 });
  }

  get keyPem(): string {
    return this.key.export({ format: 'pem', type: 'pkcs8' }) as string;
  }

  /** TBSCertificate (RFC 5280 §4.1) v3 with a random positive serial, signed ECDSA-SHA256 by the CA key. */
  private build(input: CertificateInput): Uint8Array {
    const serial = randomBytes(16);
    serial[0] = 0x10 + (serial[0]! % 0x70);
    const now = Date.now();
    const ca = input.role === 'ca';
    const extensions = [
      extension(EXTENSION_OIDS.basicConstraints, sequence(...(ca ? [DER_TRUE] : [])), true),
      extension(EXTENSION_OIDS.keyUsage, KEY_USAGE[input.role], true),
      extension(EXTENSION_OIDS.subjectKeyIdentifier, octetString(subjectKeyIdentifier(input.spki))),
      ...(ca ? [] : [extension(EXTENSION_OIDS.authorityKeyIdentifier, sequence(tlv(0x80, subjectKeyIdentifier(this.signer.publicKeySpki))))]),
    ];
    const algorithm = signatureAlgorithmDer(P256);
    const tbs = sequence(
      tlv(0xa0, Uint8Array.of(0x02, 0x01, 0x02)),
      integerFromOctets(serial),
      algorithm,
      ca ? input.subject : this.name,
      sequence(time(new Date(now - 60_000)), time(new Date(now + (input.days ?? 7) * 86_400_000))),
      input.subject,
      input.spki,
      tlv(0xa3, sequence(...extensions)),
    );
    const cert = sequence(tbs, algorithm, bitString(new Uint8Array(sign('sha256', tbs, { key: this.key, dsaEncoding: 'der' }))));
    this.issued.set(serial.toString('hex') as Serial, cert);
    return cert;
  }

  issue(subject: Uint8Array, spki: Uint8Array, role: 'leaf' | 'signer' = 'leaf'): Uint8Array {
    return this.build({ subject, spki, role });
  }

  /** Whether the CA signed `der` (node's X509Certificate as the independent verifier). */
  signed(der: Uint8Array): boolean {
    try {
      return new X509Certificate(Buffer.from(der)).verify(createPublicKey(this.key));
    } catch {
      return false;
    }
  }
}

export const pem = (der: Uint8Array): string => pemEncode('CERTIFICATE', der);

export function writePem(dir: string, name: string, ders: readonly Uint8Array[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, ders.map(pem).join(''));
  return file;
}

/** The subject Name DER of a PKCS#10 request (CertificationRequestInfo.subject, RFC 2986 §4.1). */
export function csrSubject(csrDer: Uint8Array): Uint8Array {
  const reader = new DerReader(csrDer, 'malformedCsr', 'CSR');
  const [info] = reader.children(reader.root());
  const [, subject] = reader.children(info!);
  return reader.copy(reader.expect(subject, TAG.sequence, 'subject'));
}

// ---- openssl processes -----------------------------------------------------------------------

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr: openssl cmp logs its progress to stdout, some errors to stderr. */
  output: string;
}

/** openssl children of the running test; `killAll` ends those still running (by their own handle). */
export class Processes {
  private readonly running = new Set<ChildProcess>();

  run(args: readonly string[], timeoutMs = 30_000): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        this.running.delete(child);
        resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
      });
    });
  }

  /** A long-running openssl (the mock server): resolves with the child once `ready` matches its output. */
  start(args: readonly string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.running.add(child);
      let output = '';
      let done = false;
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const match = ready.exec(output);
        if (match && !done) {
          done = true;
          resolve({ child, match, output: () => output });
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (code) => {
        this.running.delete(child);
        if (!done) reject(new Error(`openssl exited (${code}) before it was ready: ${output}`));
      });
    });
  }

  async killAll(): Promise<void> {
    const children = [...this.running];
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('close', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    this.running.clear();
  }
}

/** POSTs a DER PKIMessage as RFC 6712 §3 says (application/pkixcmp) and returns the answer's bytes. */
export function postCmp(url: string, der: Uint8Array): Promise<{ status: number; contentType: string; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/pkixcmp', 'content-length': der.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(Buffer.from(der));
  });
}

// ---- the responder ---------------------------------------------------------------------------

export interface CmpSignerIdentity {
  signer: Signer;
  certificate: Uint8Array;
  chain: Uint8Array[];
}

export interface ResponderOptions {
  ca: TestCa;
  cmpSigner: CmpSignerIdentity;
  /** Shared secrets by reference (the senderKID a MAC-protected request carries, as text). */
  secrets: Record<string, string>;
  /** Grant implicitConfirm when a request asks for it. */
  grantImplicitConfirm?: boolean;
  /** Protect answers to MAC-protected requests with the same secret instead of the CMP signer's signature. */
  answerWithMac?: boolean;
}

export interface Exchange {
  request: PkiBodyType | 'unreadable';
  response: PkiBodyType;
  failInfo?: string[];
  /** The code of the error answered, if any. */
  code?: string;
}

interface Pending {
  certificate: Uint8Array;
  certReqId: number;
  confirmed: boolean;
}

/** A minimal CMP server for openssl to talk to: every decision a real CA makes is reduced to "yes". */
export class CmpResponder {
  readonly exchanges: Exchange[] = [];
  readonly revoked = new Map<Serial, number | null>();
  readonly confirmed: Uint8Array[] = [];
  private readonly pending = new Map<string, Pending>();
  private server: Server | undefined;
  url = '';

  private readonly senderName: Uint8Array;

  constructor(private readonly options: ResponderOptions) {
    this.senderName = inspectCertificate(options.cmpSigner.certificate).subjectNameDer;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/cmp' || req.headers['content-type'] !== 'application/pkixcmp') {
          res.writeHead(415).end();
          return;
        }
        this.answer(new Uint8Array(Buffer.concat(chunks))).then(
          (der) => res.writeHead(200, { 'content-type': 'application/pkixcmp', 'content-length': der.length }).end(Buffer.from(der)),
          () => res.writeHead(500).end(),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `127.0.0.1:${port}/cmp`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private secretOf(message: PkiMessage): Uint8Array | null {
    const ref = message.header.senderKID && Buffer.from(message.header.senderKID).toString('utf8');
    const secret = ref === null ? undefined : this.options.secrets[ref];
    return secret === undefined ? null : new TextEncoder().encode(secret);
  }

  /** MAC with a known reference's secret, or a signature by a certificate this CA issued. */
  private authenticate(message: PkiMessage): { macSecret: Uint8Array | null; signerCert: Uint8Array | null } {
    if (!message.protection || !message.header.protectionAlg) throw new CaError('unauthorized', 'the request is not protected', { code: 'cmpProtectionMissing' });
    const algorithm = message.header.protectionAlg.oid;
    if (algorithm === CMP_OIDS.passwordBasedMac || algorithm === CMP_OIDS.pbmac1) {
      const secret = this.secretOf(message);
      if (!secret || !verifyMacProtection(message, secret)) throw new CaError('unauthorized', 'MAC protection does not verify', { code: 'cmpProtectionInvalid' });
      return { macSecret: secret, signerCert: null };
    }
    const [signerCert] = message.extraCerts;
    if (!signerCert || !this.options.ca.signed(signerCert)) throw new CaError('unauthorized', 'the signer is not a certificate of this CA', { code: 'signerNotTrusted' });
    if (!verifySignatureProtection(message, signerCert)) throw new CaError('unauthorized', 'signature protection does not verify', { code: 'cmpProtectionInvalid' });
    return { macSecret: null, signerCert };
  }

  private protection(macSecret: Uint8Array | null): CmpProtectionInput {
    if (macSecret && this.options.answerWithMac) return { kind: 'mac', secret: macSecret };
    const { signer, certificate, chain } = this.options.cmpSigner;
    return { kind: 'signature', signer, certificate, chain };
  }

  async answer(der: Uint8Array): Promise<Uint8Array> {
    let message: PkiMessage;
    try {
      message = parsePkiMessage(der);
    } catch (e) {
      return this.error(tryParsePkiHeader(der), e, 'unreadable');
    }
    try {
      const { macSecret, signerCert } = this.authenticate(message);
      const grant = message.header.implicitConfirm && this.options.grantImplicitConfirm === true;
      const body = this.handle(message, signerCert, grant);
      const der = await buildPkiMessage({
        inReplyTo: message.header,
        body,
        protection: this.protection(macSecret),
        // MAC-protected answers name the CA too: openssl expects the sender of -srvcert or -recipient.
        sender: this.senderName,
        implicitConfirm: grant && ['ip', 'cp', 'kup'].includes(body.type),
      });
      this.exchanges.push({ request: message.body.type, response: body.type });
      return der;
    } catch (e) {
      return this.error(message.header, e, message.body.type);
    }
  }

  private async error(header: PkiHeader | null, e: unknown, request: Exchange['request']): Promise<Uint8Array> {
    const failInfo = [cmpFailureFor(e)];
    const detail = isCaError(e) ? e.detail : 'internal error';
    this.exchanges.push({ request, response: 'error', failInfo, ...(isCaError(e) ? { code: e.code } : {}) });
    return buildPkiMessage({
      inReplyTo: header,
      body: { type: 'error', status: { status: 'rejection', failInfo, statusString: [detail] } },
      protection: this.protection(null),
    });
  }

  private handle(message: PkiMessage, signerCert: Uint8Array | null, grant: boolean): PkiBodyInput {
    const { ca } = this.options;
    const txid = Buffer.from(message.header.transactionID ?? []).toString('hex');
    const body = message.body;
    switch (body.type) {
      case 'ir':
      case 'cr':
      case 'kur': {
        const [request] = body.requests;
        if (!request || body.requests.length > 1) throw new CaError('malformed', 'one request per message', { code: 'badRequest' });
        verifyPopo(request);
        let subject = request.template.subject?.der;
        if (body.type === 'kur') {
          const old = signerCert && inspectCertificate(signerCert);
          if (!old || request.oldCertId?.serial !== old.serial) throw new CaError('malformed', 'oldCertID is not the protecting certificate', { code: 'badCertId' });
          subject = old.subjectNameDer;
        }
        if (!subject || !request.template.publicKey) throw new CaError('malformed', 'the template needs subject and publicKey', { code: 'badCertTemplate' });
        const certificate = ca.issue(subject, request.template.publicKey);
        if (!grant) this.pending.set(txid, { certificate, certReqId: request.certReqId, confirmed: false });
        const type = body.type === 'ir' ? 'ip' : body.type === 'cr' ? 'cp' : 'kup';
        return {
          type,
          ...(type === 'ip' ? { caPubs: [ca.certificate] } : {}),
          responses: [{ certReqId: request.certReqId, status: { status: 'accepted' }, certificate }],
        };
      }
      case 'p10cr': {
        const certificate = ca.issue(csrSubject(body.csr.der), body.csr.subjectPublicKeyInfo);
        if (!grant) this.pending.set(txid, { certificate, certReqId: -1, confirmed: false });
        return { type: 'cp', responses: [{ certReqId: -1, status: { status: 'accepted' }, certificate }] };
      }
      case 'certConf': {
        const pending = this.pending.get(txid);
        const [status] = body.statuses;
        if (!pending || !status || status.certReqId !== pending.certReqId) throw new CaError('notFound', 'no certificate waits for this confirmation', { code: 'badCertId' });
        if (!certHashMatches(status, pending.certificate)) throw new CaError('malformed', 'certHash does not match the certificate', { code: 'badCertId' });
        this.pending.delete(txid);
        if (status.statusInfo?.status !== 'rejection') this.confirmed.push(pending.certificate);
        return { type: 'pkiConf' };
      }
      case 'rr': {
        const statuses = body.revocations.map((revocation) => {
          const known = revocation.serial !== null && ca.issued.has(revocation.serial) && revocation.issuer?.text === inspectCertificate(ca.certificate).subject;
          if (!known) return { status: 'rejection' as const, failInfo: ['badCertId' as const] };
          this.revoked.set(revocation.serial!, revocation.reasonCode);
          return { status: 'accepted' as const };
        });
        return { type: 'rp', statuses };
      }
      case 'genm': {
        const wanted = body.infos.length === 0 || body.infos.some((info) => info.oid === CMP_OIDS.caCerts);
        return { type: 'genp', infos: wanted ? [caCertsInfo([ca.certificate])] : [] };
      }
      case 'error':
        return { type: 'pkiConf' };
      default:
        throw new CaError('malformed', `${body.type} is not answered here`, { code: 'badRequest' });
    }
  }
}
