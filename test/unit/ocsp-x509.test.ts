/**
 * The OCSP codec (src/x509/ocsp.ts) held to independent implementations: requests made by OpenSSL
 * and GnuTLS parse to the CertIDs we would build ourselves; responses we sign with a delegated
 * responder (OCSPSigning, issued by the CA, key in the software key store) verify in OpenSSL and
 * GnuTLS, which print the statuses we meant; pkijs builds the same bytes from the same values and
 * reads ours back; malformed requests are refused with malformedOcspRequest.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as asn1js from 'asn1js';
import { execFile } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as pkijs from 'pkijs';
import { REVOCATION_REASONS, type RevocationReason } from '../../src/domain/certificate.js';
import type { Serial } from '../../src/domain/serial.js';
import { createSoftwareKeyStore } from '../../src/signing/software.js';
import type { KeyStore, Signer } from '../../src/signing/types.js';
import { DerReader } from '../../src/x509/der-reader.js';
import { DER_NULL, integer, octetString, oid, sequence, tlv } from '../../src/x509/der-writer.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import {
  assembleOcspResponse,
  buildCertId,
  buildOcspRequest,
  buildResponseData,
  inspectOcspResponse,
  issuerHashes,
  MAX_OCSP_REQUESTS,
  ocspErrorResponse,
  parseOcspRequest,
  signOcspResponse,
  type OcspCertStatus,
  type OcspErrorStatus,
  type OcspHash,
  type ResponseDataInput,
} from '../../src/x509/ocsp.js';
import { decodePemOrDer, pemEncode } from '../../src/x509/pem.js';
import { subjectKeyIdentifier } from '../../src/x509/public-key.js';
import { openssl, removeDir, tempDir } from '../helpers/env.js';
import { outcome } from '../helpers/outcome.js';

// ---- helpers -------------------------------------------------------------------------------------

const hex = (bytes: Uint8Array | ArrayBuffer): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

type Run = { stdout: string; stderr: string; code: number };

function ocsptool(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('ocsptool', args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? Number((error as { code?: number }).code ?? 1) : 0 });
    });
  });
}

async function must(run: Promise<Run>, what: string): Promise<Run> {
  const result = await run;
  if (result.code !== 0) throw new Error(`${what} failed (${result.code}): ${result.stderr}`);
  return result;
}


const MALFORMED_REQUEST = { kind: 'malformed', code: 'malformedOcspRequest' };

const seconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });

// ---- the PKI: a CA, a delegated responder (EC and RSA), leaf certificates, all made by OpenSSL ----

interface Leaf {
  file: string;
  der: Uint8Array;
  serial: Serial;
}

let dir: string;
let keyStore: KeyStore;
let caFile: string;
let ca: { der: Uint8Array; nameDer: Uint8Array; spki: Uint8Array };
let responder: { file: string; der: Uint8Array; signer: Signer };
let rsaResponder: { file: string; der: Uint8Array; signer: Signer };
let leaves: { good: Leaf; revoked: Leaf; held: Leaf; unknown: Leaf };
let now: Date;

const file = (name: string): string => path.join(dir, name);

/** A responder certificate for a Signer's key, issued by the CA with OpenSSL (RFC 6960 §4.2.2.2). */
async function responderCertificate(name: string, signer: Signer, serial: string): Promise<{ file: string; der: Uint8Array }> {
  writeFileSync(file(`${name}.pub.pem`), pemEncode('PUBLIC KEY', signer.publicKeySpki));
  writeFileSync(
    file(`${name}.ext`),
    ['basicConstraints=critical,CA:false', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=OCSPSigning', 'noCheck=ignored', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'].join('\n'),
  );
  await must(
    openssl(['x509', '-new', '-force_pubkey', file(`${name}.pub.pem`), '-subj', `/C=AZ/O=e-imza test/CN=${name}`, '-CA', caFile, '-CAkey', file('ca.key'),
      '-set_serial', serial, '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`)]),
    `responder certificate ${name}`,
  );
  return { file: file(`${name}.pem`), der: decodePemOrDer(readFileSync(file(`${name}.pem`), 'utf8')) };
}

async function leafCertificate(name: string, serial: string): Promise<Leaf> {
  await must(
    openssl(['x509', '-req', '-in', file('leaf.csr'), '-CA', caFile, '-CAkey', file('ca.key'), '-set_serial', serial, '-days', '10', '-out', file(`${name}.pem`)]),
    `leaf ${name}`,
  );
  const der = decodePemOrDer(readFileSync(file(`${name}.pem`), 'utf8'));
  return { file: file(`${name}.pem`), der, serial: inspectCertificate(der).serial };
}

beforeAll(async () => {
  dir = tempDir('eimza-ocsp-');
  caFile = file('ca.pem');
  await must(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('ca.key')]), 'CA key');
  // A UTF-8 name: issuerNameHash is over the exact DER Name, whatever its string types.
  await must(
    openssl(['req', '-x509', '-new', '-utf8', '-key', file('ca.key'), '-subj', '/C=AZ/O=Elektron İmza test/CN=Test Issuing CA', '-days', '30',
      '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caFile]),
    'CA certificate',
  );
  const caDer = decodePemOrDer(readFileSync(caFile, 'utf8'));
  const caInfo = inspectCertificate(caDer);
  ca = { der: caDer, nameDer: caInfo.subjectNameDer, spki: caInfo.subjectPublicKeySpki };

  keyStore = createSoftwareKeyStore({ directory: file('keys'), passphrase: 'ocsp test passphrase' });
  const ecSigner = await keyStore.generateKey('ocsp-responder', { kind: 'ec', curve: 'P-256' });
  const rsaSigner = await keyStore.generateKey('ocsp-responder-rsa', { kind: 'rsa', bits: 2048 });
  responder = { ...(await responderCertificate('responder', ecSigner, '0x5001')), signer: ecSigner };
  rsaResponder = { ...(await responderCertificate('responder-rsa', rsaSigner, '0x5002')), signer: rsaSigner };

  await must(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('leaf.key')]), 'leaf key');
  await must(openssl(['req', '-new', '-key', file('leaf.key'), '-subj', '/CN=leaf', '-out', file('leaf.csr')]), 'leaf CSR');
  leaves = {
    good: await leafCertificate('leaf-good', '0x1a2b3c4d5e6f708192a3b4c5d6e7f801'),
    // High bit set: the INTEGER is 00 ab 12, the canonical serial "ab12".
    revoked: await leafCertificate('leaf-revoked', '0xab12'),
    held: await leafCertificate('leaf-held', '0x7f00000000000001'),
    // Odd number of hex digits.
    unknown: await leafCertificate('leaf-unknown', '0x0fedcba9'),
  };
  now = seconds(new Date());
}, 120_000);

afterAll(async () => {
  await keyStore?.close();
  if (dir) removeDir(dir);
});

const REVOKED_AT = (): Date => new Date(now.getTime() - 3_600_000);

function statusOf(serial: Serial): OcspCertStatus {
  if (serial === leaves.good.serial) return { kind: 'good' };
  if (serial === leaves.revoked.serial) return { kind: 'revoked', revokedAt: REVOKED_AT(), reason: 'keyCompromise' };
  if (serial === leaves.held.serial) return { kind: 'revoked', revokedAt: REVOKED_AT(), reason: 'certificateHold' };
  return { kind: 'unknown' };
}

interface ResponseOptions {
  hash?: OcspHash;
  nonce?: Uint8Array | null;
  signer?: { der: Uint8Array; signer: Signer };
  statuses?: OcspCertStatus[];
}

function responseInput(certIdDers: Uint8Array[], statuses: OcspCertStatus[], signer: Signer, nonce: Uint8Array | null = null): ResponseDataInput {
  return {
    responderSpki: signer.publicKeySpki,
    producedAt: now,
    nonce,
    responses: certIdDers.map((certIdDer, k) => ({
      certIdDer,
      status: statuses[k]!,
      thisUpdate: new Date(now.getTime() - 60_000),
      nextUpdate: new Date(now.getTime() + 3_600_000),
    })),
  };
}

/** A signed response about `targets`, written to a file; the responder certificate is included. */
async function respond(name: string, targets: Leaf[], options: ResponseOptions = {}): Promise<{ file: string; der: Uint8Array }> {
  const { signer, der: certDer } = options.signer ?? responder;
  const certIds = targets.map((leaf) => buildCertId(options.hash ?? 'sha1', ca.nameDer, ca.spki, leaf.serial));
  const statuses = options.statuses ?? targets.map((leaf) => statusOf(leaf.serial));
  const der = await signOcspResponse(responseInput(certIds, statuses, signer, options.nonce ?? null), signer, [certDer]);
  writeFileSync(file(name), der);
  return { file: file(name), der };
}

/** OpenSSL as the client: verify against the CA and print each -cert's status (-no_nonce: no request nonce to compare). */
async function opensslCheck(responseFile: string, targets: Leaf[], extra: string[] = [], digest = '-sha1'): Promise<string> {
  // The digest must come before -cert: it is the hash of the CertIDs OpenSSL looks up.
  const args = ['ocsp', '-respin', responseFile, '-issuer', caFile, digest, ...targets.flatMap((leaf) => ['-cert', leaf.file]), '-no_nonce', '-CAfile', caFile, ...extra];
  const result = await openssl(args);
  return result.stdout + result.stderr;
}

// ---- requests ------------------------------------------------------------------------------------

describe('parseOcspRequest reads what OpenSSL sends', () => {
  test('openssl x509 -ocspid and issuerHashes agree on the CA’s SHA-1 name and key hashes', async () => {
    const text = (await must(openssl(['x509', '-in', caFile, '-noout', '-ocspid']), 'ocspid')).stdout;
    const { nameHash, keyHash } = issuerHashes(ca.nameDer, ca.spki, 'sha1');
    expect(text).toContain(`Subject OCSP hash: ${hex(nameHash).toUpperCase()}`);
    expect(text).toContain(`Public key OCSP hash: ${hex(keyHash).toUpperCase()}`);
  });

  test('the default request: SHA-1 CertID, the leaf’s serial, a nonce OCTET STRING', async () => {
    await must(openssl(['ocsp', '-issuer', caFile, '-cert', leaves.good.file, '-reqout', file('req-default.der')]), 'openssl ocsp -reqout');
    const request = parseOcspRequest(readFileSync(file('req-default.der')));
    expect(request.signed).toBe(false);
    expect(request.certIds).toHaveLength(1);
    const [certId] = request.certIds;
    const { nameHash, keyHash } = issuerHashes(ca.nameDer, ca.spki, 'sha1');
    expect(certId!.hash).toBe('sha1');
    expect(certId!.serial).toBe(leaves.good.serial);
    expect(certId!.serial).toBe('1a2b3c4d5e6f708192a3b4c5d6e7f801');
    expect(hex(certId!.issuerNameHash)).toBe(hex(nameHash));
    expect(hex(certId!.issuerKeyHash)).toBe(hex(keyHash));
    // OpenSSL's CertID and ours are the same bytes, so a pre-signed response matches its request.
    expect(hex(certId!.der)).toBe(hex(buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial)));
    // OpenSSL: extnValue = OCTET STRING { 16 random octets } (RFC 8954 §2.1); echoed whole.
    expect(request.nonce).not.toBeNull();
    expect(request.nonce!.length).toBe(18);
    expect(hex(request.nonce!.subarray(0, 2))).toBe('0410');
  });

  test('-no_nonce: no nonce', async () => {
    await must(openssl(['ocsp', '-issuer', caFile, '-cert', leaves.revoked.file, '-no_nonce', '-reqout', file('req-no-nonce.der')]), 'openssl ocsp -no_nonce');
    const request = parseOcspRequest(readFileSync(file('req-no-nonce.der')));
    expect(request.nonce).toBeNull();
    expect(request.certIds.map((id) => id.serial)).toEqual(['ab12']);
  });

  test.each(['sha256', 'sha384', 'sha512'] as const)('-%s: that hash, its hash lengths, our CertID bytes', async (hash) => {
    await must(openssl(['ocsp', '-issuer', caFile, `-${hash}`, '-cert', leaves.held.file, '-reqout', file(`req-${hash}.der`)]), `openssl ocsp -${hash}`);
    const [certId] = parseOcspRequest(readFileSync(file(`req-${hash}.der`))).certIds;
    const { nameHash, keyHash } = issuerHashes(ca.nameDer, ca.spki, hash);
    expect(certId!.hash).toBe(hash);
    expect(certId!.issuerNameHash.length).toBe({ sha256: 32, sha384: 48, sha512: 64 }[hash]);
    expect(hex(certId!.issuerNameHash)).toBe(hex(nameHash));
    expect(hex(certId!.issuerKeyHash)).toBe(hex(keyHash));
    expect(hex(certId!.der)).toBe(hex(buildCertId(hash, ca.nameDer, ca.spki, leaves.held.serial)));
  });

  test('two -cert: two requests, in order', async () => {
    await must(openssl(['ocsp', '-issuer', caFile, '-cert', leaves.good.file, '-cert', leaves.unknown.file, '-reqout', file('req-two.der')]), 'openssl ocsp two certs');
    const request = parseOcspRequest(readFileSync(file('req-two.der')));
    expect(request.certIds.map((id) => [id.hash, id.serial])).toEqual([['sha1', leaves.good.serial], ['sha1', 'fedcba9']]);
    expect(request.nonce).not.toBeNull();
  });

  test('a signed request (requestorName and optionalSignature) parses, signed: true', async () => {
    await must(
      openssl(['ocsp', '-issuer', caFile, '-cert', leaves.good.file, '-signer', leaves.good.file, '-signkey', file('leaf.key'), '-reqout', file('req-signed.der')]),
      'openssl ocsp -signer',
    );
    const request = parseOcspRequest(readFileSync(file('req-signed.der')));
    expect(request.signed).toBe(true);
    expect(request.certIds.map((id) => id.serial)).toEqual([leaves.good.serial]);
    expect(request.nonce).not.toBeNull();
  });

  test('buildOcspRequest makes requests OpenSSL reads', async () => {
    const nonce = octetString(Uint8Array.from(randomBytes(16)));
    const der = buildOcspRequest([buildCertId('sha256', ca.nameDer, ca.spki, leaves.revoked.serial)], nonce);
    writeFileSync(file('req-ours.der'), der);
    const text = (await must(openssl(['ocsp', '-reqin', file('req-ours.der'), '-req_text']), 'openssl ocsp -reqin')).stdout;
    expect(text).toContain('Hash Algorithm: sha256');
    expect(text).toContain('Serial Number: AB12');
    expect(text).toContain(hex(nonce).toUpperCase());
    expect(hex(parseOcspRequest(der).nonce!)).toBe(hex(nonce));
  });
});

describe('parseOcspRequest reads what GnuTLS sends', () => {
  test('ocsptool --generate-request: SHA-1 CertID, the serial, issuer hashes; no nonce', async () => {
    await must(
      ocsptool(['--generate-request', '--load-issuer', caFile, '--load-cert', leaves.revoked.file, '--outfile', file('gnutls-req.der')]),
      'ocsptool --generate-request',
    );
    const request = parseOcspRequest(readFileSync(file('gnutls-req.der')));
    const { nameHash, keyHash } = issuerHashes(ca.nameDer, ca.spki, 'sha1');
    expect(request.certIds).toHaveLength(1);
    expect(request.certIds[0]!.hash).toBe('sha1');
    expect(request.certIds[0]!.serial).toBe('ab12');
    expect(hex(request.certIds[0]!.issuerNameHash)).toBe(hex(nameHash));
    expect(hex(request.certIds[0]!.issuerKeyHash)).toBe(hex(keyHash));
    expect(hex(request.certIds[0]!.der)).toBe(hex(buildCertId('sha1', ca.nameDer, ca.spki, leaves.revoked.serial)));
    // GnuTLS 3.7 writes no nonce with --generate-request (--nonce only acts with --ask, below).
    expect(request.nonce).toBeNull();
  });

  describe('ocsptool --ask against a responder made of this codec', () => {
    let server: Server;
    let url: string;
    const seen: ReturnType<typeof parseOcspRequest>[] = [];

    beforeAll(async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          void (async () => {
            let body: Uint8Array;
            try {
              const parsed = parseOcspRequest(Buffer.concat(chunks));
              seen.push(parsed);
              const input = responseInput(parsed.certIds.map((id) => id.der), parsed.certIds.map((id) => statusOf(id.serial)), responder.signer, parsed.nonce);
              body = await signOcspResponse(input, responder.signer, [responder.der]);
            } catch {
              body = ocspErrorResponse('malformedRequest');
            }
            response.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': body.length });
            response.end(body);
          })();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    test('--nonce: the request carries a nonce, GnuTLS checks our echo and the delegated signature', async () => {
      const result = await ocsptool([`--ask=${url}`, '--load-issuer', caFile, '--load-cert', leaves.held.file, '--load-trust', caFile, '--nonce']);
      const request = seen.at(-1)!;
      expect(request.nonce).not.toBeNull();
      expect(request.nonce![0]).toBe(0x04);
      expect(request.nonce!.length).toBe(2 + request.nonce![1]!);
      expect(request.certIds.map((id) => id.serial)).toEqual([leaves.held.serial]);
      expect(result.stderr).not.toContain('nonce in the response doesn\'t match');
      expect(result.stdout).toContain('Certificate Status: revoked');
      expect(result.stdout).toContain('Verifying OCSP Response: Success.');
      expect(result.code).toBe(0);
    });

    test('--no-nonce: no nonce, still verified', async () => {
      const result = await ocsptool([`--ask=${url}`, '--load-issuer', caFile, '--load-cert', leaves.good.file, '--load-trust', caFile, '--no-nonce']);
      expect(seen.at(-1)!.nonce).toBeNull();
      expect(seen.at(-1)!.certIds[0]!.serial).toBe(leaves.good.serial);
      expect(result.stdout).toContain('Certificate Status: good');
      expect(result.stdout).toContain('Verifying OCSP Response: Success.');
    });
  });
});

describe('parseOcspRequest refuses what is not a well-formed OCSPRequest', () => {
  const certId = (): Uint8Array => buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial);
  const nonce = (): Uint8Array => octetString(Uint8Array.from(randomBytes(16)));

  test('garbage, an empty body, a certificate, a response', async () => {
    const response = (await respond('for-garbage.der', [leaves.good])).der;
    for (const input of [new Uint8Array(0), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Uint8Array.of(0x04, 0x02, 0xab, 0xcd), ca.der, response]) {
      expect(outcome(() => parseOcspRequest(input))).toEqual(MALFORMED_REQUEST);
    }
  });

  test('every truncation and trailing bytes', () => {
    const der = buildOcspRequest([certId()], nonce());
    expect(outcome(() => parseOcspRequest(der))).toEqual({ ok: true });
    for (let length = 0; length < der.length; length++) {
      expect(outcome(() => parseOcspRequest(der.subarray(0, length)))).toEqual(MALFORMED_REQUEST);
    }
    expect(outcome(() => parseOcspRequest(Buffer.concat([der, Uint8Array.of(0)])))).toEqual(MALFORMED_REQUEST);
  });

  test('BER the DER reader refuses: indefinite length', () => {
    const der = buildOcspRequest([certId()]);
    const indefinite = Buffer.concat([Uint8Array.of(0x30, 0x80), der.subarray(2), Uint8Array.of(0, 0)]);
    expect(outcome(() => parseOcspRequest(indefinite))).toEqual(MALFORMED_REQUEST);
  });

  test(`an empty requestList and more than ${MAX_OCSP_REQUESTS} requests; ${MAX_OCSP_REQUESTS} are fine`, () => {
    expect(outcome(() => parseOcspRequest(buildOcspRequest([])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(buildOcspRequest(Array.from({ length: 101 }, certId))))).toEqual(MALFORMED_REQUEST);
    expect(parseOcspRequest(buildOcspRequest(Array.from({ length: 100 }, certId))).certIds).toHaveLength(100);
  });

  test('nonces: empty, 129 octets and repeated are refused; 128 octets echo whole', () => {
    expect(outcome(() => parseOcspRequest(buildOcspRequest([certId()], new Uint8Array(0))))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(buildOcspRequest([certId()], Uint8Array.from(randomBytes(129)))))).toEqual(MALFORMED_REQUEST);
    const longest = Uint8Array.from(randomBytes(128));
    expect(hex(parseOcspRequest(buildOcspRequest([certId()], longest)).nonce!)).toBe(hex(longest));
    const extension = sequence(oid('1.3.6.1.5.5.7.48.1.2'), octetString(nonce()));
    const twice = sequence(sequence(sequence(sequence(certId())), tlv(0xa2, sequence(extension, extension))));
    expect(outcome(() => parseOcspRequest(twice))).toEqual(MALFORMED_REQUEST);
  });

  test('serials that are negative, padded or longer than 20 octets; 20 octets with a sign octet are fine', () => {
    const withSerial = (octets: number[]): Uint8Array => {
      const [algorithm, nameHash, keyHash] = [sequence(oid('1.3.14.3.2.26'), DER_NULL), octetString(new Uint8Array(20)), octetString(new Uint8Array(20))];
      return buildOcspRequest([sequence(algorithm, nameHash, keyHash, tlv(0x02, Uint8Array.from(octets)))]);
    };
    expect(outcome(() => parseOcspRequest(withSerial([0xff, 0x01])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(withSerial([0x00, 0x01])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(withSerial([])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(withSerial(Array.from({ length: 21 }, () => 0x11))))).toEqual(MALFORMED_REQUEST);
    const longest = [0x00, 0x80, ...Array.from({ length: 19 }, () => 0x01)];
    expect(parseOcspRequest(withSerial(longest)).certIds[0]!.serial).toBe('80' + '01'.repeat(19));
    expect(parseOcspRequest(withSerial([0x00])).certIds[0]!.serial).toBe('0');
  });

  test('versions: an explicit v1 is tolerated, v2 is refused', () => {
    const list = sequence(sequence(certId()));
    expect(parseOcspRequest(sequence(sequence(tlv(0xa0, integer(0)), list))).certIds).toHaveLength(1);
    expect(outcome(() => parseOcspRequest(sequence(sequence(tlv(0xa0, integer(1)), list))))).toEqual(MALFORMED_REQUEST);
  });

  test('structure: CertID fields missing or extra, elements after requestExtensions', () => {
    const [algorithm, nameHash, keyHash] = [sequence(oid('1.3.14.3.2.26'), DER_NULL), octetString(new Uint8Array(20)), octetString(new Uint8Array(20))];
    expect(outcome(() => parseOcspRequest(buildOcspRequest([sequence(algorithm, nameHash, keyHash)])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(buildOcspRequest([sequence(algorithm, nameHash, keyHash, integer(1), integer(2))])))).toEqual(MALFORMED_REQUEST);
    expect(outcome(() => parseOcspRequest(buildOcspRequest([sequence(algorithm, keyHash, integer(1), nameHash)])))).toEqual(MALFORMED_REQUEST);
    const extra = sequence(sequence(sequence(sequence(certId())), tlv(0xa2, sequence(sequence(oid('1.2.3'), octetString(new Uint8Array(1))))), integer(5)));
    expect(outcome(() => parseOcspRequest(extra))).toEqual(MALFORMED_REQUEST);
  });

  test('an unknown hash algorithm is not an error: hash null, to be answered unknown', () => {
    const md5 = sequence(sequence(oid('1.2.840.113549.2.5'), DER_NULL), octetString(new Uint8Array(16)), octetString(new Uint8Array(16)), integer(5));
    const [certIdOut] = parseOcspRequest(buildOcspRequest([md5])).certIds;
    expect(certIdOut!.hash).toBeNull();
    expect(certIdOut!.serial).toBe('5');
    expect(hex(certIdOut!.der)).toBe(hex(md5));
  });

  test('unknown extensions, critical or not, are ignored; the nonce among them is found', () => {
    const theNonce = nonce();
    const critical = sequence(oid('1.2.3.4.5'), tlv(0x01, Uint8Array.of(0xff)), octetString(Uint8Array.of(5, 0)));
    const plain = sequence(oid('1.3.6.1.5.5.7.48.1.4'), octetString(sequence(oid('1.3.6.1.5.5.7.48.1.1'))));
    const nonceExtension = sequence(oid('1.3.6.1.5.5.7.48.1.2'), octetString(theNonce));
    const der = sequence(sequence(sequence(sequence(certId())), tlv(0xa2, sequence(critical, plain, nonceExtension))));
    expect(hex(parseOcspRequest(der).nonce!)).toBe(hex(theNonce));
  });
});

// ---- responses -----------------------------------------------------------------------------------

describe('responses verified by OpenSSL as an independent client', () => {
  test('good', async () => {
    const { file: out } = await respond('resp-good.der', [leaves.good]);
    const text = await opensslCheck(out, [leaves.good]);
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.good.file}: good`);
  });

  test('revoked, keyCompromise, with its revocation time', async () => {
    const { file: out } = await respond('resp-revoked.der', [leaves.revoked]);
    const text = await opensslCheck(out, [leaves.revoked], ['-resp_text']);
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.revoked.file}: revoked`);
    expect(text).toContain('Reason: keyCompromise');
    expect(text).toContain('Serial Number: AB12');
  });

  test('suspended: revoked with certificateHold', async () => {
    const { file: out } = await respond('resp-held.der', [leaves.held]);
    const text = await opensslCheck(out, [leaves.held]);
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.held.file}: revoked`);
    expect(text).toContain('Reason: certificateHold');
  });

  test('revoked without a reason: no Reason line', async () => {
    const status: OcspCertStatus = { kind: 'revoked', revokedAt: REVOKED_AT(), reason: null };
    const { file: out } = await respond('resp-no-reason.der', [leaves.revoked], { statuses: [status] });
    const text = await opensslCheck(out, [leaves.revoked]);
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.revoked.file}: revoked`);
    expect(text).not.toContain('Reason:');
  });

  test('unknown', async () => {
    const { file: out } = await respond('resp-unknown.der', [leaves.unknown]);
    const text = await opensslCheck(out, [leaves.unknown]);
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.unknown.file}: unknown`);
  });

  test('several SingleResponses in one response, SHA-256 CertIDs', async () => {
    const all = [leaves.good, leaves.revoked, leaves.held, leaves.unknown];
    const { file: out } = await respond('resp-many.der', all, { hash: 'sha256' });
    const text = await opensslCheck(out, all, [], '-sha256');
    expect(text).toContain('Response verify OK');
    expect(text).toContain(`${leaves.good.file}: good`);
    expect(text).toContain(`${leaves.revoked.file}: revoked`);
    expect(text).toContain(`${leaves.held.file}: revoked`);
    expect(text).toContain(`${leaves.unknown.file}: unknown`);
    expect(text.match(/Reason: /g)).toHaveLength(2);
  });

  test('an RSA responder key (sha256WithRSAEncryption)', async () => {
    const { file: out } = await respond('resp-rsa.der', [leaves.good], { signer: rsaResponder });
    const text = await opensslCheck(out, [leaves.good], ['-resp_text']);
    expect(text).toContain('Response verify OK');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain(`${leaves.good.file}: good`);
  });

  test('the nonce of OpenSSL’s request is echoed: no warning against the matching -reqin', async () => {
    await must(openssl(['ocsp', '-issuer', caFile, '-cert', leaves.good.file, '-reqout', file('req-nonce.der')]), 'openssl ocsp -reqout');
    const request = parseOcspRequest(readFileSync(file('req-nonce.der')));
    const echoed = await respond('resp-nonce.der', [leaves.good], { nonce: request.nonce });
    const withNonce = await openssl(['ocsp', '-reqin', file('req-nonce.der'), '-respin', echoed.file, '-CAfile', caFile]);
    expect(withNonce.stderr).toContain('Response verify OK');
    expect(withNonce.stderr).not.toContain('WARNING: no nonce in response');
    expect(withNonce.stderr).not.toContain('Nonce Verify error');
    expect(withNonce.code).toBe(0);
    // The control: the same request against a response without the nonce is warned about.
    const without = await respond('resp-without-nonce.der', [leaves.good]);
    expect((await openssl(['ocsp', '-reqin', file('req-nonce.der'), '-respin', without.file, '-CAfile', caFile])).stderr).toContain('WARNING: no nonce in response');
    // And another request's nonce is an error.
    const other = await respond('resp-other-nonce.der', [leaves.good], { nonce: octetString(Uint8Array.from(randomBytes(16))) });
    expect((await openssl(['ocsp', '-reqin', file('req-nonce.der'), '-respin', other.file, '-CAfile', caFile])).stderr).toContain('Nonce Verify error');
  });

  test('a tampered response does not verify (good turned into unknown)', async () => {
    const { der } = await respond('resp-to-tamper.der', [leaves.good]);
    const certId = buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial);
    const at = Buffer.from(der).indexOf(Buffer.from(certId)) + certId.length;
    expect(hex(der.subarray(at, at + 2))).toBe('8000');
    const tampered = Uint8Array.from(der);
    tampered[at] = 0x82;
    writeFileSync(file('resp-tampered.der'), tampered);
    const text = await opensslCheck(file('resp-tampered.der'), [leaves.good]);
    expect(text).toContain('Response Verify Failure');
    expect(text).not.toContain('Response verify OK');
  });

  test('a response signed by a key that is not the ResponderID’s is refused before signing', async () => {
    const input = responseInput([buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial)], [{ kind: 'good' }], responder.signer);
    await expect(signOcspResponse(input, rsaResponder.signer, [rsaResponder.der])).rejects.toMatchObject({ kind: 'internal', code: 'ocspResponderMismatch' });
  });
});

describe('responses read and verified by GnuTLS', () => {
  test('ocsptool --response-info shows the responder key id, statuses and nonce', async () => {
    const theNonce = octetString(Uint8Array.from(randomBytes(20)));
    const { file: out } = await respond('gnutls-info.der', [leaves.good, leaves.revoked], { nonce: theNonce });
    const text = (await must(ocsptool(['--response-info', '--infile', out]), 'ocsptool --response-info')).stdout;
    expect(text).toContain('Response Status: Successful');
    expect(text).toContain(`Responder Key ID: ${hex(subjectKeyIdentifier(responder.signer.publicKeySpki))}`);
    expect(text).toContain('Certificate Status: good');
    expect(text).toContain('Certificate Status: revoked');
    expect(text).toContain('Serial Number: 00ab12');
    // GnuTLS shows the random octets inside the nonce OCTET STRING.
    expect(text).toContain(`Nonce: ${hex(theNonce.subarray(2))}`);
  });

  test('--verify-response: trusted through the CA (delegated signer) and directly by the signer', async () => {
    const { file: out } = await respond('gnutls-verify.der', [leaves.held]);
    const trusted = await ocsptool(['--verify-response', '--load-trust', caFile, '--infile', out]);
    expect(trusted.stdout).toContain('Verifying OCSP Response: Success.');
    const direct = await ocsptool(['--verify-response', '--load-signer', responder.file, '--infile', out]);
    expect(direct.stdout).toContain('Verifying OCSP Response: Success.');
  });

  test('--verify-response fails for a tampered response', async () => {
    const { der } = await respond('gnutls-tamper.der', [leaves.good]);
    const certId = buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial);
    const at = Buffer.from(der).indexOf(Buffer.from(certId)) + certId.length;
    expect(der[at]).toBe(0x80);
    const tampered = Uint8Array.from(der);
    tampered[at] = 0x82;
    writeFileSync(file('gnutls-tampered.der'), tampered);
    const result = await ocsptool(['--verify-response', '--load-trust', caFile, '--infile', file('gnutls-tampered.der')]);
    expect(result.stdout).toContain('Verifying OCSP Response: Failure');
    expect(result.stdout).not.toContain('Verifying OCSP Response: Success');
  });
});

// ---- pkijs: the same bytes from the same values -------------------------------------------------

const REASON_NUMBER: Record<RevocationReason, number> = {
  unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5,
  certificateHold: 6, removeFromCRL: 8, privilegeWithdrawn: 9, aACompromise: 10,
};

function pkijsStatus(status: OcspCertStatus): asn1js.BaseBlock {
  if (status.kind === 'good') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } });
  if (status.kind === 'unknown') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } });
  const reason = status.reason === null ? [] : [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Enumerated({ value: REASON_NUMBER[status.reason] })] })];
  return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.GeneralizedTime({ valueDate: seconds(status.revokedAt) }), ...reason] });
}

function pkijsResponseData(input: ResponseDataInput): pkijs.ResponseData {
  const data = new pkijs.ResponseData({
    responderID: new asn1js.OctetString({ valueHex: subjectKeyIdentifier(input.responderSpki) }),
    producedAt: input.producedAt,
    responses: input.responses.map(
      (single) =>
        new pkijs.SingleResponse({
          certID: new pkijs.CertID({ schema: asn1js.fromBER(single.certIdDer).result }),
          certStatus: pkijsStatus(single.status),
          thisUpdate: single.thisUpdate,
          nextUpdate: single.nextUpdate,
        }),
    ),
    ...(input.nonce ? { responseExtensions: [new pkijs.Extension({ extnID: '1.3.6.1.5.5.7.48.1.2', extnValue: input.nonce.slice().buffer })] } : {}),
  });
  data.tbsView = new Uint8Array(data.toSchema(true).toBER());
  return data;
}

describe('pkijs cross-check', () => {
  test('CertID: pkijs computes the same bytes from the certificates', async () => {
    const caCert = pkijs.Certificate.fromBER(ca.der);
    for (const [hash, name] of [['sha1', 'SHA-1'], ['sha256', 'SHA-256'], ['sha384', 'SHA-384'], ['sha512', 'SHA-512']] as const) {
      for (const leaf of Object.values(leaves)) {
        const theirs = await pkijs.CertID.create(pkijs.Certificate.fromBER(leaf.der), { hashAlgorithm: name, issuerCertificate: caCert }, engine);
        expect(hex(buildCertId(hash, ca.nameDer, ca.spki, leaf.serial))).toBe(hex(theirs.toSchema().toBER()));
      }
    }
  });

  test('ResponseData, BasicOCSPResponse and OCSPResponse are byte-identical to pkijs’s', async () => {
    const statuses: OcspCertStatus[] = [
      { kind: 'good' },
      { kind: 'revoked', revokedAt: new Date(now.getTime() - 86_400_123), reason: 'keyCompromise' },
      { kind: 'revoked', revokedAt: REVOKED_AT(), reason: null },
      { kind: 'unknown' },
      ...REVOCATION_REASONS.map((reason): OcspCertStatus => ({ kind: 'revoked', revokedAt: REVOKED_AT(), reason })),
    ];
    const certIds = statuses.map((_, k) => buildCertId(k % 2 ? 'sha256' : 'sha1', ca.nameDer, ca.spki, leaves.good.serial));
    for (const nonce of [null, octetString(Uint8Array.from(randomBytes(32)))]) {
      const input = responseInput(certIds, statuses, responder.signer, nonce);
      input.producedAt = new Date(now.getTime() + 999); // a fraction of a second, dropped by both
      const ours = buildResponseData(input);
      const theirData = pkijsResponseData({ ...input, producedAt: seconds(input.producedAt) });
      expect(hex(ours)).toBe(hex(theirData.tbsView));

      const signature = await responder.signer.sign(ours);
      const response = assembleOcspResponse(ours, responder.signer.algorithm, signature, [responder.der]);
      const basic = new pkijs.BasicOCSPResponse({
        tbsResponseData: theirData,
        signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' }),
        signature: new asn1js.BitString({ valueHex: signature }),
        certs: [pkijs.Certificate.fromBER(responder.der)],
      });
      const theirs = new pkijs.OCSPResponse({
        responseStatus: new asn1js.Enumerated({ value: 0 }),
        responseBytes: new pkijs.ResponseBytes({ responseType: '1.3.6.1.5.5.7.48.1.1', response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER() }) }),
      });
      expect(hex(response)).toBe(hex(theirs.toSchema().toBER()));
    }
  });

  test('pkijs parses a signed response, reads the same values and verifies it against the CA', async () => {
    const theNonce = octetString(Uint8Array.from(randomBytes(16)));
    const { der } = await respond('pkijs.der', [leaves.good, leaves.revoked, leaves.unknown], { nonce: theNonce });
    const response = pkijs.OCSPResponse.fromBER(der);
    expect(response.responseStatus.valueBlock.valueDec).toBe(0);
    const basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes!.response.valueBlock.valueHexView);
    const data = basic.tbsResponseData;
    expect(data.version).toBeUndefined();
    expect(hex((data.responderID as asn1js.OctetString).valueBlock.valueHexView)).toBe(hex(subjectKeyIdentifier(responder.signer.publicKeySpki)));
    expect(data.producedAt.getTime()).toBe(now.getTime());
    expect(data.responses.map((single) => hex(single.certID.serialNumber.valueBlock.valueHexView))).toEqual(['1a2b3c4d5e6f708192a3b4c5d6e7f801', '00ab12', '0fedcba9']);
    expect(data.responses.map((single) => [single.certStatus.idBlock.tagNumber, single.certStatus.idBlock.isConstructed])).toEqual([[0, false], [1, true], [2, false]]);
    expect(data.responses.every((single) => single.nextUpdate!.getTime() === now.getTime() + 3_600_000)).toBe(true);
    expect(hex(data.responseExtensions![0]!.extnValue.valueBlock.valueHexView)).toBe(hex(theNonce));
    expect(await basic.verify({ trustedCerts: [pkijs.Certificate.fromBER(ca.der)] }, engine)).toBe(true);
    const status = await basic.getCertificateStatus(pkijs.Certificate.fromBER(leaves.revoked.der), pkijs.Certificate.fromBER(ca.der), engine);
    expect(status).toEqual({ isForCertificate: true, status: 1 });
  });

  test('buildOcspRequest is byte-identical to pkijs’s OCSPRequest, and parses pkijs’s', () => {
    const certIds = [leaves.good, leaves.held].map((leaf) => buildCertId('sha256', ca.nameDer, ca.spki, leaf.serial));
    const theNonce = octetString(Uint8Array.from(randomBytes(16)));
    const theirs = new pkijs.OCSPRequest();
    theirs.tbsRequest.requestList = certIds.map((certId) => new pkijs.Request({ reqCert: new pkijs.CertID({ schema: asn1js.fromBER(certId).result }) }));
    theirs.tbsRequest.requestExtensions = [new pkijs.Extension({ extnID: '1.3.6.1.5.5.7.48.1.2', extnValue: theNonce.slice().buffer })];
    const theirDer = new Uint8Array(theirs.toSchema(true).toBER());
    expect(hex(buildOcspRequest(certIds, theNonce))).toBe(hex(theirDer));
    const parsed = parseOcspRequest(theirDer);
    expect(parsed.certIds.map((id) => id.serial)).toEqual([leaves.good.serial, leaves.held.serial]);
    expect(hex(parsed.nonce!)).toBe(hex(theNonce));
  });
});

describe('inspectOcspResponse', () => {
  test('round-trips every field of a signed response', async () => {
    const theNonce = octetString(Uint8Array.from(randomBytes(16)));
    const targets = [leaves.good, leaves.revoked, leaves.held, leaves.unknown];
    const { der } = await respond('inspect.der', targets, { hash: 'sha384', nonce: theNonce });
    const info = inspectOcspResponse(der);
    const { nameHash, keyHash } = issuerHashes(ca.nameDer, ca.spki, 'sha384');
    expect(info.status).toBe('successful');
    expect(info.producedAt).toEqual(now);
    expect(hex(info.responderKeyHash!)).toBe(hex(subjectKeyIdentifier(responder.signer.publicKeySpki)));
    expect(hex(info.nonce!)).toBe(hex(theNonce));
    expect(info.certs!.map(hex)).toEqual([hex(responder.der)]);
    expect(info.responses!.map((single) => ({ ...single, certId: { ...single.certId, issuerNameHash: hex(single.certId.issuerNameHash), issuerKeyHash: hex(single.certId.issuerKeyHash) } }))).toEqual(
      targets.map((leaf) => ({
        certId: { hash: 'sha384', serial: leaf.serial, issuerNameHash: hex(nameHash), issuerKeyHash: hex(keyHash) },
        status: statusOf(leaf.serial),
        thisUpdate: new Date(now.getTime() - 60_000),
        nextUpdate: new Date(now.getTime() + 3_600_000),
      })),
    );
  });

  test('every revocation reason round-trips; times keep whole seconds', () => {
    const statuses = REVOCATION_REASONS.map((reason): OcspCertStatus => ({ kind: 'revoked', revokedAt: new Date(now.getTime() - 1234), reason }));
    const certIds = statuses.map(() => buildCertId('sha1', ca.nameDer, ca.spki, leaves.held.serial));
    const data = buildResponseData(responseInput(certIds, statuses, responder.signer));
    const info = inspectOcspResponse(assembleOcspResponse(data, responder.signer.algorithm, new Uint8Array(64), []));
    expect(info.certs).toBeUndefined();
    expect(info.nonce).toBeNull();
    expect(info.responses!.map((single) => single.status)).toEqual(statuses.map((status) => ({ ...status, revokedAt: seconds(new Date(now.getTime() - 1234)) })));
  });

  test('the version is omitted (v1 is DEFAULT) and nextUpdate is [0] EXPLICIT', () => {
    const certId = buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial);
    const data = buildResponseData(responseInput([certId], [{ kind: 'good' }], responder.signer));
    // SEQUENCE { [2] { OCTET STRING (20) } ... }: byKey first, no [0] version.
    const reader = new DerReader(data, 'test', 'ResponseData');
    const [first] = reader.children(reader.root());
    expect(hex(reader.raw(first!).subarray(0, 4))).toBe('a2160414');
    const at = Buffer.from(data).indexOf(Buffer.from(certId)) + certId.length;
    expect(hex(data.subarray(at, at + 4))).toBe('8000180f');
    expect(hex(data.subarray(at + 19, at + 23))).toBe('a011180f');
  });
});

describe('the builders refuse what would be a wrong response', () => {
  const certId = (): Uint8Array => buildCertId('sha1', ca.nameDer, ca.spki, leaves.good.serial);
  const build = (change: (input: ResponseDataInput) => void) => () => {
    const input = responseInput([certId()], [{ kind: 'good' }], responder.signer);
    change(input);
    return buildResponseData(input);
  };

  test('nextUpdate before thisUpdate, no SingleResponse, an invalid date, a CertID that is not DER', () => {
    expect(outcome(build(() => undefined))).toEqual({ ok: true });
    expect(outcome(build((input) => (input.responses[0]!.nextUpdate = new Date(input.responses[0]!.thisUpdate.getTime() - 1000))))).toEqual({ kind: 'internal', code: 'invalidOcspTime' });
    expect(outcome(build((input) => (input.responses = [])))).toEqual({ kind: 'internal', code: 'emptyOcspResponse' });
    expect(outcome(build((input) => (input.producedAt = new Date(Number.NaN))))).toEqual({ kind: 'internal', code: 'invalidOcspTime' });
    expect(outcome(build((input) => (input.responses[0]!.certIdDer = certId().subarray(1))))).toEqual({ kind: 'malformed', code: 'malformedCertId' });
  });

  test('assembleOcspResponse wants one DER ResponseData and DER certificates', () => {
    const data = buildResponseData(responseInput([certId()], [{ kind: 'good' }], responder.signer));
    const signature = new Uint8Array(70);
    expect(outcome(() => assembleOcspResponse(Buffer.concat([data, Uint8Array.of(0)]), responder.signer.algorithm, signature, []))).toEqual({ kind: 'malformed', code: 'malformedOcspResponse' });
    expect(outcome(() => assembleOcspResponse(data, responder.signer.algorithm, signature, [responder.der.subarray(0, 100)]))).toEqual({ kind: 'malformed', code: 'malformedCertificate' });
  });
});

describe('error responses', () => {
  test.each([
    ['malformedRequest', 1],
    ['internalError', 2],
    ['tryLater', 3],
    ['sigRequired', 5],
    ['unauthorized', 6],
  ] as [OcspErrorStatus, number][])('%s is 30 03 0a 01 0%d and reads back', (status, code) => {
    const der = ocspErrorResponse(status);
    expect(hex(der)).toBe(`30030a010${code}`);
    expect(inspectOcspResponse(der)).toEqual({ status });
    expect(pkijs.OCSPResponse.fromBER(der).responseStatus.valueBlock.valueDec).toBe(code);
  });

  test('OpenSSL reads malformedRequest and tryLater', async () => {
    for (const status of ['malformedRequest', 'tryLater'] as const) {
      writeFileSync(file(`error-${status}.der`), ocspErrorResponse(status));
      const result = await openssl(['ocsp', '-respin', file(`error-${status}.der`), '-resp_text']);
      expect(result.stdout + result.stderr).toMatch(new RegExp(status, 'i'));
    }
  });

  test('inspectOcspResponse refuses what is not an OCSPResponse', () => {
    for (const input of [new Uint8Array(0), Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x04), Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x00), ca.der]) {
      expect(outcome(() => inspectOcspResponse(input))).toEqual({ kind: 'malformed', code: 'malformedOcspResponse' });
    }
  });
});
