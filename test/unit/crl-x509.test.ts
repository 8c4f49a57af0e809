/**
 * The X.509 CRL encoder (src/x509/crl.ts, RFC 5280 §5): byte-identical to the same CRL built with
 * pkijs, signatures and extensions accepted by OpenSSL and GnuTLS as independent clients, an
 * end-to-end `openssl verify -crl_check` that rejects a revoked leaf and accepts another, and
 * inspectCrl reading back both our CRLs and one made by `openssl ca -gencrl`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import { createHash, createPublicKey, generateKeyPairSync, sign as signWithNode, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AuthorityKeyIdentifier,
  CertificateRevocationList,
  CRLDistributionPoints,
  DistributionPoint,
  Extension,
  Extensions,
  GeneralName,
  IssuingDistributionPoint,
  PublicKeyInfo,
  RelativeDistinguishedNames,
  RevokedCertificate,
} from 'pkijs';
import { REVOCATION_REASONS, type RevocationReason } from '../../src/domain/certificate.js';
import { parseSerial, randomSerial, type Serial } from '../../src/domain/serial.js';
import type { KeyAlgorithm, Signer } from '../../src/signing/types.js';
import { certificateTime, serialToInteger } from '../../src/x509/certificate.js';
import { assembleCrl, buildTbsCertList, inspectCrl, signCrl, type CrlEntry, type CrlInput } from '../../src/x509/crl.js';
import { DerReader } from '../../src/x509/der-reader.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { decodePemOrDer, pemEncode } from '../../src/x509/pem.js';
import { signatureAlgorithmFor } from '../../src/x509/public-key.js';
import { execFileAsync, openssl, removeDir, tempDir } from '../helpers/env.js';
import { outcome } from '../helpers/outcome.js';

// ---- helpers -------------------------------------------------------------------------------------

const hex = (bytes: Uint8Array | ArrayBuffer): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
const ab = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;
const at = (iso: string): Date => new Date(iso);
const wholeSeconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** A software Signer over a node:crypto key (ECDSA as DER Ecdsa-Sig-Value, RSA PKCS#1 v1.5). */
function testSigner(privateKey: KeyObject, algorithm: KeyAlgorithm): Signer {
  const hash = algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  return {
    keyUri: 'test:crl',
    algorithm,
    publicKeySpki: new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })),
    sign: async (data) => new Uint8Array(signWithNode(hash, data, { key: privateKey, dsaEncoding: 'der' })),
  };
}

interface TestCa {
  name: string;
  dir: string;
  signer: Signer;
  keyFile: string;
  certFile: string;
  subjectNameDer: Uint8Array;
}

async function run(args: string[], input?: string): Promise<string> {
  const result = await openssl(args, input);
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout + result.stderr;
}

/** A CA key (node:crypto) and its self-signed certificate (openssl req -x509) in its own folder. */
async function makeCa(root: string, name: string, algorithm: KeyAlgorithm): Promise<TestCa> {
  const { privateKey } =
    algorithm.kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: algorithm.bits })
      : generateKeyPairSync('ec', { namedCurve: algorithm.curve });
  const dir = path.join(root, name);
  await execFileAsync('mkdir', ['-p', dir]);
  const keyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'ca.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await run([
    'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '30', '-out', certFile,
    '-subj', `/C=AZ/O=e-imza Test/CN=CRL Test CA ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
  ]);
  const info = inspectCertificate(decodePemOrDer(readFileSync(certFile, 'utf8'), 'CERTIFICATE'));
  return { name, dir, signer: testSigner(privateKey, algorithm), keyFile, certFile, subjectNameDer: info.subjectNameDer };
}

function inputFor(ca: TestCa, overrides: Partial<CrlInput> = {}): CrlInput {
  const now = Date.now();
  return {
    issuerName: ca.subjectNameDer,
    issuerPublicKeySpki: ca.signer.publicKeySpki,
    signatureAlgorithm: ca.signer.algorithm,
    crlNumber: 7n,
    thisUpdate: new Date(now - 3600_000),
    nextUpdate: new Date(now + 86400_000),
    entries: [],
    ...overrides,
  };
}

const REASONS_IN_FULL_CRLS = REVOCATION_REASONS.filter((reason) => reason !== 'removeFromCRL');

/** One entry per reason (and none), with and without invalidity dates, UTCTime and GeneralizedTime times. */
function everyReasonEntries(includeRemove: boolean): CrlEntry[] {
  const reasons: (RevocationReason | null)[] = [null, ...(includeRemove ? REVOCATION_REASONS : REASONS_IN_FULL_CRLS)];
  return reasons.map((reason, k) => ({
    serial: k === 0 ? ('80' as Serial) : k === 1 ? ('1' as Serial) : randomSerial(),
    revokedAt: k === 2 ? at('2050-01-01T00:00:00Z') : k === 3 ? at('2049-12-31T23:59:59Z') : new Date(Date.UTC(2025, 0, 1 + k, 10, 20, 30, 0)),
    reason,
    invalidityDate: k % 2 === 0 ? (k === 4 ? at('1949-12-31T23:59:59Z') : new Date(Date.UTC(2024, 11, 31 - k, 8, 0, 0))) : null,
  }));
}

const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

function pkijsExtension(extnID: string, critical: boolean, value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Extension {
  return new Extension({ extnID, critical, extnValue: value.toBER(false) });
}

function uriName(url: string): GeneralName {
  return new GeneralName({ type: 6, value: url });
}

/** The same CRL, built from pkijs/asn1js objects only (the reference; sha1 over the key bits for the AKI). */
function pkijsCrl(input: CrlInput, signature: Uint8Array): Uint8Array {
  const keyBits = PublicKeyInfo.fromBER(ab(input.issuerPublicKeySpki)).subjectPublicKey.valueBlock.valueHexView;
  const keyId = createHash('sha1').update(keyBits).digest();
  const crlExtensions = [
    pkijsExtension('2.5.29.35', false, new AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: ab(keyId) }) }).toSchema()),
    pkijsExtension('2.5.29.20', false, asn1js.Integer.fromBigInt(input.crlNumber)),
  ];
  if (input.deltaOf !== undefined) crlExtensions.push(pkijsExtension('2.5.29.27', true, asn1js.Integer.fromBigInt(input.deltaOf)));
  if (input.issuingDistributionPoint) {
    const idp = new IssuingDistributionPoint({
      distributionPoint: [uriName(input.issuingDistributionPoint.url)],
      onlyContainsUserCerts: input.issuingDistributionPoint.onlyContainsUserCerts ?? false,
    });
    crlExtensions.push(pkijsExtension('2.5.29.28', true, idp.toSchema()));
  }
  if (input.freshestCrlUrl) {
    const points = new CRLDistributionPoints({ distributionPoints: [new DistributionPoint({ distributionPoint: [uriName(input.freshestCrlUrl)] })] });
    crlExtensions.push(pkijsExtension('2.5.29.46', false, points.toSchema()));
  }
  const revoked = input.entries.map((entry) => {
    const extensions: Extension[] = [];
    if (entry.reason && entry.reason !== 'unspecified') extensions.push(pkijsExtension('2.5.29.21', false, new asn1js.Enumerated({ value: REASON_CODES[entry.reason] })));
    if (entry.invalidityDate) extensions.push(pkijsExtension('2.5.29.24', false, new asn1js.GeneralizedTime({ valueDate: wholeSeconds(entry.invalidityDate) })));
    return new RevokedCertificate({
      userCertificate: serialToInteger(entry.serial),
      revocationDate: certificateTime(entry.revokedAt),
      ...(extensions.length > 0 ? { crlEntryExtensions: new Extensions({ extensions }) } : {}),
    });
  });
  const crl = new CertificateRevocationList({
    version: 1,
    signature: signatureAlgorithmFor(input.signatureAlgorithm),
    issuer: RelativeDistinguishedNames.fromBER(ab(input.issuerName)),
    thisUpdate: certificateTime(input.thisUpdate),
    nextUpdate: certificateTime(input.nextUpdate),
    ...(revoked.length > 0 ? { revokedCertificates: revoked } : {}),
    crlExtensions: new Extensions({ extensions: crlExtensions }),
    signatureAlgorithm: signatureAlgorithmFor(input.signatureAlgorithm),
    signatureValue: new asn1js.BitString({ valueHex: ab(signature) }),
  });
  return new Uint8Array(crl.toSchema(true).toBER(false));
}


async function writeCrl(ca: TestCa, file: string, der: Uint8Array): Promise<{ derFile: string; pemFile: string }> {
  const derFile = path.join(ca.dir, `${file}.crl`);
  const pemFile = path.join(ca.dir, `${file}.crl.pem`);
  writeFileSync(derFile, der);
  writeFileSync(pemFile, pemEncode('X509 CRL', der));
  return { derFile, pemFile };
}

/** GnuTLS as a second, independent verifier: exit code and its verdict. */
async function certtoolVerify(ca: TestCa, pemFile: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('certtool', ['--verify-crl', '--load-ca-certificate', ca.certFile, '--infile', pemFile]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const GNUTLS_VERIFIED = /Verification output: Verified\./;

/** `openssl crl -text` with signature verification; its exit code is 0 even on failure, so the text is what counts. */
async function opensslCrlText(ca: TestCa, derFile: string): Promise<string> {
  const result = await openssl(['crl', '-inform', 'DER', '-in', derFile, '-CAfile', ca.certFile, '-noout', '-text']);
  return result.stdout + result.stderr;
}

// ---- fixtures ------------------------------------------------------------------------------------

let root: string;
const cas: Record<'p256' | 'rsa2048' | 'rsa3072', TestCa> = {} as never;

beforeAll(async () => {
  root = tempDir('eimza-crl-');
  cas.p256 = await makeCa(root, 'p256', { kind: 'ec', curve: 'P-256' });
  cas.rsa2048 = await makeCa(root, 'rsa2048', { kind: 'rsa', bits: 2048 });
  cas.rsa3072 = await makeCa(root, 'rsa3072', { kind: 'rsa', bits: 3072 });
});

afterAll(() => removeDir(root));

// ---- byte-identical to pkijs ---------------------------------------------------------------------

describe('buildTbsCertList / assembleCrl match pkijs byte for byte', () => {
  const fakeSignature = Uint8Array.from({ length: 71 }, (_, k) => (k * 37 + 11) % 256);
  const cases: [string, (ca: TestCa) => CrlInput][] = [
    ['a full CRL with an entry for every reason', (ca) => inputFor(ca, { entries: everyReasonEntries(false), freshestCrlUrl: 'http://crl.e-imza.test/delta.crl' })],
    ['an empty CRL (no revokedCertificates at all)', (ca) => inputFor(ca, { crlNumber: 0n })],
    ['a delta CRL with removeFromCRL', (ca) => inputFor(ca, { crlNumber: 0x80n, deltaOf: 0x7fn, entries: everyReasonEntries(true) })],
    [
      'a partitioned CRL (issuingDistributionPoint, onlyContainsUserCerts)',
      (ca) => inputFor(ca, { crlNumber: 2n ** 159n - 1n, issuingDistributionPoint: { url: 'http://crl.e-imza.test/p/3.crl', onlyContainsUserCerts: true }, entries: everyReasonEntries(false).slice(0, 3) }),
    ],
    ['an IDP CRL without onlyContainsUserCerts', (ca) => inputFor(ca, { issuingDistributionPoint: { url: 'http://crl.e-imza.test/p/4.crl' } })],
    [
      'a CRL of 3000 random entries (long-form lengths everywhere)',
      (ca) =>
        inputFor(ca, {
          entries: Array.from({ length: 3000 }, (_, k) => ({
            serial: randomSerial(),
            revokedAt: new Date(Date.UTC(2025, 5, 1) + k * 1000),
            reason: REVOCATION_REASONS[k % 7]!,
            invalidityDate: k % 3 === 0 ? new Date(Date.UTC(2025, 4, 1) + k * 1000) : null,
          })),
        }),
    ],
  ];

  for (const [name, make] of cases) {
    it.each(['p256', 'rsa2048'] as const)(`${name} (%s)`, (which) => {
      const ca = cas[which];
      const input = make(ca);
      const ours = assembleCrl(buildTbsCertList(input), input.signatureAlgorithm, fakeSignature);
      expect(hex(ours)).toBe(hex(pkijsCrl(input, fakeSignature)));
    });
  }

  it('encodes serials exactly as certificates do (serialToInteger), including padding and odd lengths', () => {
    const serials = ['0', '1', 'f', '7f', '80', 'ff', '100', '8000', randomSerial(), 'f'.repeat(40), '7'.repeat(39)].map((s) => parseSerial(s));
    const input = inputFor(cas.p256, { entries: serials.map((serial) => ({ serial, revokedAt: at('2025-03-01T00:00:00Z'), reason: null, invalidityDate: null })) });
    const tbs = buildTbsCertList(input);
    const reader = new DerReader(tbs, 'x', 'TBSCertList');
    const list = reader.children(reader.root()).find((field, k) => k === 5 && field.tag === 0x30)!;
    const encoded = reader.children(list).map((entry) => hex(reader.raw(reader.children(entry)[0]!)));
    expect(encoded).toEqual(serials.map((serial) => hex(serialToInteger(serial).toBER(false))));
    expect(inspectCrl(assembleCrl(tbs, input.signatureAlgorithm, fakeSignature)).entries.map((e) => e.serial)).toEqual(serials);
  });

  it('drops fractions of seconds from every time, as certificates do', () => {
    const input = inputFor(cas.p256, {
      thisUpdate: at('2025-01-01T00:00:00.999Z'),
      nextUpdate: at('2025-01-02T00:00:00.001Z'),
      entries: [{ serial: '1a' as Serial, revokedAt: at('2025-01-01T00:00:00.5Z'), reason: 'keyCompromise', invalidityDate: at('2024-12-31T12:00:00.75Z') }],
    });
    const crl = assembleCrl(buildTbsCertList(input), input.signatureAlgorithm, fakeSignature);
    expect(hex(crl)).toBe(hex(pkijsCrl({ ...input, thisUpdate: at('2025-01-01T00:00:00Z'), nextUpdate: at('2025-01-02T00:00:00Z') }, fakeSignature)));
    expect(inspectCrl(crl).entries[0]!.invalidityDate).toEqual(at('2024-12-31T12:00:00Z'));
  });
});

// ---- refusals ------------------------------------------------------------------------------------

describe('programming errors are internal CaErrors', () => {
  const entry = (over: Partial<CrlEntry>): CrlEntry => ({ serial: '1234' as Serial, revokedAt: at('2025-01-01T00:00:00Z'), reason: null, invalidityDate: null, ...over });

  it.each<[string, Partial<CrlInput>, string]>([
    ['removeFromCRL in a full CRL', { entries: [entry({ reason: 'removeFromCRL' })] }, 'invalidCrlEntry'],
    ['a serial that is not canonical hex', { entries: [entry({ serial: '00ab' as Serial })] }, 'invalidCrlEntry'],
    ['a serial that is not hex', { entries: [entry({ serial: '12g4' as Serial })] }, 'invalidCrlEntry'],
    ['a serial of 21 octets', { entries: [entry({ serial: '1'.repeat(42) as Serial })] }, 'invalidCrlEntry'],
    ['an unknown reason', { entries: [entry({ reason: 'bored' as RevocationReason })] }, 'invalidCrlEntry'],
    ['a reason named like an Object property', { entries: [entry({ reason: 'toString' as RevocationReason })] }, 'invalidCrlEntry'],
    ['an invalid revocation date', { entries: [entry({ revokedAt: new Date(Number.NaN) })] }, 'invalidCrlTime'],
    ['an invalidity date past 9999', { entries: [entry({ invalidityDate: at('+010000-01-01T00:00:00Z') })] }, 'invalidCrlTime'],
    ['nextUpdate not after thisUpdate', { thisUpdate: at('2025-01-02T00:00:00Z'), nextUpdate: at('2025-01-02T00:00:00Z') }, 'invalidCrlTime'],
    ['a negative CRL number', { crlNumber: -1n }, 'invalidCrlNumber'],
    ['a CRL number of 21 octets', { crlNumber: 2n ** 160n }, 'invalidCrlNumber'],
    ['a delta whose base is not older', { crlNumber: 5n, deltaOf: 5n }, 'invalidCrlNumber'],
    ['freshestCRL in a delta CRL', { crlNumber: 5n, deltaOf: 4n, freshestCrlUrl: 'http://crl.e-imza.test/delta.crl' }, 'invalidCrlExtensions'],
  ])('%s', (_name, overrides, code) => {
    expect(outcome(() => buildTbsCertList(inputFor(cas.p256, overrides)))).toEqual({ kind: 'internal', code });
  });

  it('refuses an issuer Name that is not a DER Name, and a non-ASCII URL', () => {
    expect(outcome(() => buildTbsCertList(inputFor(cas.p256, { issuerName: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01) })))).toEqual({
      kind: 'malformed',
      code: 'malformedName',
    });
    expect(outcome(() => buildTbsCertList(inputFor(cas.p256, { freshestCrlUrl: 'http://crl.e-imza.test/ç.crl' })))).toMatchObject({ kind: 'malformed' });
  });

  it('signCrl refuses a signer that is not the CRL key or algorithm', async () => {
    await expect(signCrl(inputFor(cas.p256), cas.rsa2048.signer)).rejects.toMatchObject({ kind: 'internal', code: 'crlSignerMismatch' });
    await expect(signCrl({ ...inputFor(cas.p256), issuerPublicKeySpki: cas.rsa2048.signer.publicKeySpki, signatureAlgorithm: cas.rsa2048.signer.algorithm }, cas.p256.signer)).rejects.toMatchObject({
      kind: 'internal',
      code: 'crlSignerMismatch',
    });
    const other = testSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { kind: 'ec', curve: 'P-256' });
    await expect(signCrl(inputFor(cas.p256), other)).rejects.toMatchObject({ kind: 'internal', code: 'crlSignerMismatch' });
  });

  it('assembleCrl refuses a TBS that is not one DER SEQUENCE', () => {
    expect(outcome(() => assembleCrl(Uint8Array.of(0x30, 0x05, 0x01), { kind: 'ec', curve: 'P-256' }, Uint8Array.of(1)))).toEqual({ kind: 'malformed', code: 'malformedCrl' });
  });
});

// ---- OpenSSL and GnuTLS as independent clients ---------------------------------------------------

describe('OpenSSL and GnuTLS accept the signed CRLs', () => {
  it.each(['p256', 'rsa2048', 'rsa3072'] as const)('a full CRL with every reason verifies and prints as expected (%s)', async (which) => {
    const ca = cas[which];
    const input = inputFor(ca, { crlNumber: 42n, entries: everyReasonEntries(false), freshestCrlUrl: 'http://crl.e-imza.test/delta.crl' });
    const crl = await signCrl(input, ca.signer);
    const { derFile, pemFile } = await writeCrl(ca, 'full', crl);
    const text = await opensslCrlText(ca, derFile);
    expect(text).toContain('verify OK');
    expect(text).toMatch(/Version 2 \(0x1\)/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*42\n/);
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toMatch(/X509v3 Freshest CRL:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/crl\.e-imza\.test\/delta\.crl/);
    for (const reason of ['Key Compromise', 'CA Compromise', 'Affiliation Changed', 'Superseded', 'Cessation Of Operation', 'Certificate Hold', 'Privilege Withdrawn', 'AA Compromise']) {
      expect(text).toContain(reason);
    }
    expect(text).not.toContain('Unspecified');
    expect(text.match(/Serial Number: /g)).toHaveLength(input.entries.length);
    expect(text.match(/Invalidity Date:/g)).toHaveLength(input.entries.filter((e) => e.invalidityDate).length);
    expect(text).toContain('Serial Number: 80\n'); // OpenSSL prints the value, not the 00 padding octet

    const gnutls = await certtoolVerify(ca, pemFile);
    expect(gnutls.code).toBe(0);
    expect(gnutls.output).toMatch(GNUTLS_VERIFIED);
  });

  it('a delta CRL: Delta CRL Indicator critical, Remove From CRL; GnuTLS verifies it', async () => {
    const ca = cas.p256;
    const crl = await signCrl(inputFor(ca, { crlNumber: 43n, deltaOf: 42n, entries: everyReasonEntries(true) }), ca.signer);
    const { derFile, pemFile } = await writeCrl(ca, 'delta', crl);
    const text = await opensslCrlText(ca, derFile);
    expect(text).toContain('verify OK');
    expect(text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*42\n/);
    expect(text).toContain('Remove From CRL');
    expect(text).toContain('Certificate Hold');
    expect(text).not.toContain('Freshest CRL');
    expect(await certtoolVerify(ca, pemFile)).toMatchObject({ code: 0, output: expect.stringMatching(GNUTLS_VERIFIED) });
  });

  it('an IDP CRL and an empty CRL', async () => {
    const ca = cas.rsa2048;
    const idp = await signCrl(inputFor(ca, { issuingDistributionPoint: { url: 'http://crl.e-imza.test/p/1.crl', onlyContainsUserCerts: true }, entries: everyReasonEntries(false).slice(1, 3) }), ca.signer);
    const idpFiles = await writeCrl(ca, 'idp', idp);
    const idpText = await opensslCrlText(ca, idpFiles.derFile);
    expect(idpText).toContain('verify OK');
    expect(idpText).toMatch(/X509v3 Issuing Distribution Point: critical\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/crl\.e-imza\.test\/p\/1\.crl\s+Only User Certificates/);
    expect(await certtoolVerify(ca, idpFiles.pemFile)).toMatchObject({ code: 0, output: expect.stringMatching(GNUTLS_VERIFIED) });

    const empty = await signCrl(inputFor(ca), ca.signer);
    const emptyFiles = await writeCrl(ca, 'empty', empty);
    const emptyText = await opensslCrlText(ca, emptyFiles.derFile);
    expect(emptyText).toContain('verify OK');
    expect(emptyText).toContain('No Revoked Certificates.');
    expect(await certtoolVerify(ca, emptyFiles.pemFile)).toMatchObject({ code: 0, output: expect.stringMatching(GNUTLS_VERIFIED) });
  });

  it('a tampered CRL does not verify, in OpenSSL or GnuTLS', async () => {
    const ca = cas.p256;
    const input = inputFor(ca, { entries: everyReasonEntries(false) });
    const crl = await signCrl(input, ca.signer);
    // Change one digit of the first serial (the 0x80 after its 00 padding octet): still valid DER.
    const tampered = crl.slice();
    const position = Buffer.from(tampered).indexOf(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(position).toBeGreaterThan(0);
    tampered[position + 3] = 0x81;
    expect(inspectCrl(tampered).entries[0]!.serial).toBe('81');
    const { derFile, pemFile } = await writeCrl(ca, 'tampered', tampered);
    const text = await opensslCrlText(ca, derFile);
    expect(text).not.toContain('verify OK');
    expect(text).toContain('verify failure');
    const gnutls = await certtoolVerify(ca, pemFile);
    expect(gnutls.code).not.toBe(0);
    expect(gnutls.output).toContain('The signature in the certificate is invalid');
    // and the genuine one, written the same way, does verify
    const genuine = await writeCrl(ca, 'genuine', crl);
    expect(await opensslCrlText(ca, genuine.derFile)).toContain('verify OK');
    expect(await certtoolVerify(ca, genuine.pemFile)).toMatchObject({ code: 0, output: expect.stringMatching(GNUTLS_VERIFIED) });
  });
});

describe('openssl verify -crl_check end to end', () => {
  async function leaf(ca: TestCa, name: string, serial: Serial, extensions: string): Promise<string> {
    const keyFile = path.join(ca.dir, `${name}.key`);
    const csrFile = path.join(ca.dir, `${name}.csr`);
    const certFile = path.join(ca.dir, `${name}.pem`);
    const extFile = path.join(ca.dir, `${name}.ext`);
    writeFileSync(extFile, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n${extensions}`);
    await run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-subj', `/CN=${name}`, '-out', csrFile]);
    await run(['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${serial}`, '-days', '10', '-sha256', '-extfile', extFile, '-out', certFile]);
    return certFile;
  }

  async function verify(ca: TestCa, crlPem: string, certFile: string): Promise<{ code: number; text: string }> {
    const result = await openssl(['verify', '-crl_check', '-x509_strict', '-CAfile', ca.certFile, '-CRLfile', crlPem, certFile]);
    return { code: result.code, text: result.stdout + result.stderr };
  }

  it.each(['p256', 'rsa2048'] as const)('rejects the revoked leaf and accepts the one not listed (%s)', async (which) => {
    const ca = cas[which];
    const revokedSerial = randomSerial();
    const goodSerial = randomSerial();
    const revokedLeaf = await leaf(ca, 'revoked', revokedSerial, '');
    const goodLeaf = await leaf(ca, 'good', goodSerial, '');
    const entries = [...everyReasonEntries(false), { serial: revokedSerial, revokedAt: new Date(Date.now() - 60_000), reason: 'keyCompromise' as const, invalidityDate: null }];
    const { pemFile } = await writeCrl(ca, 'e2e', await signCrl(inputFor(ca, { entries }), ca.signer));

    const revoked = await verify(ca, pemFile, revokedLeaf);
    expect(revoked.code).not.toBe(0);
    expect(revoked.text).toContain('certificate revoked');
    const good = await verify(ca, pemFile, goodLeaf);
    expect(good.code).toBe(0);
    expect(good.text).toContain(`${goodLeaf}: OK`);
  });

  it('a partitioned CRL is used for the leaves whose CRL distribution point is its IDP', async () => {
    const ca = cas.p256;
    const url = 'http://crl.e-imza.test/p/9.crl';
    const revokedSerial = randomSerial();
    const revokedLeaf = await leaf(ca, 'part-revoked', revokedSerial, `crlDistributionPoints=URI:${url}\n`);
    const goodLeaf = await leaf(ca, 'part-good', randomSerial(), `crlDistributionPoints=URI:${url}\n`);
    const otherLeaf = await leaf(ca, 'part-other', randomSerial(), 'crlDistributionPoints=URI:http://crl.e-imza.test/p/8.crl\n');
    const entries: CrlEntry[] = [{ serial: revokedSerial, revokedAt: new Date(Date.now() - 60_000), reason: 'certificateHold', invalidityDate: null }];
    const { pemFile } = await writeCrl(ca, 'part9', await signCrl(inputFor(ca, { entries, issuingDistributionPoint: { url, onlyContainsUserCerts: true } }), ca.signer));

    expect((await verify(ca, pemFile, revokedLeaf)).text).toContain('certificate revoked');
    expect(await verify(ca, pemFile, goodLeaf)).toMatchObject({ code: 0 });
    // a leaf of another partition is outside this CRL's scope: no status from it
    const other = await verify(ca, pemFile, otherLeaf);
    expect(other.code).not.toBe(0);
    expect(other.text).toContain('different CRL scope');
  });
});

// ---- inspectCrl ----------------------------------------------------------------------------------

describe('inspectCrl', () => {
  it('round-trips full, delta and IDP CRLs', async () => {
    const ca = cas.p256;
    const full = inputFor(ca, { crlNumber: 2n ** 100n + 1n, entries: everyReasonEntries(false), freshestCrlUrl: 'http://crl.e-imza.test/delta.crl' });
    const delta = inputFor(ca, { crlNumber: 9n, deltaOf: 8n, entries: everyReasonEntries(true), issuingDistributionPoint: { url: 'http://crl.e-imza.test/p/2.crl' } });
    for (const input of [full, delta, inputFor(ca)]) {
      const info = inspectCrl(await signCrl(input, ca.signer));
      expect(info).toEqual({
        crlNumber: input.crlNumber,
        deltaOf: input.deltaOf ?? null,
        thisUpdate: wholeSeconds(input.thisUpdate),
        nextUpdate: wholeSeconds(input.nextUpdate),
        entries: input.entries.map((entry) => ({
          serial: entry.serial,
          revokedAt: wholeSeconds(entry.revokedAt),
          reason: entry.reason === 'unspecified' ? null : entry.reason,
          invalidityDate: entry.invalidityDate && wholeSeconds(entry.invalidityDate),
        })),
        issuerNameDer: new Uint8Array(ca.subjectNameDer),
        idpUrl: input.issuingDistributionPoint?.url ?? null,
        freshestCrlUrl: input.freshestCrlUrl ?? null,
      });
    }
  });

  it('reads a CRL made by openssl ca -gencrl', async () => {
    const ca = cas.rsa2048;
    const dir = path.join(ca.dir, 'openssl-ca');
    await execFileAsync('mkdir', ['-p', dir]);
    const serials: [Serial, Serial, Serial] = [randomSerial(), randomSerial(), randomSerial()];
    writeFileSync(
      path.join(dir, 'index.txt'),
      [
        `R\t300101000000Z\t250301101112Z,keyCompromise\t${serials[0].toUpperCase()}\tunknown\t/CN=a`,
        `R\t300101000000Z\t250302101112Z,certificateHold\t${serials[1].toUpperCase()}\tunknown\t/CN=b`,
        `R\t300101000000Z\t250303101112Z\t${serials[2].toUpperCase()}\tunknown\t/CN=c`,
        `V\t300101000000Z\t\t0123ABCD\tunknown\t/CN=d`,
      ].join('\n') + '\n',
    );
    writeFileSync(path.join(dir, 'crlnumber'), '1000\n');
    writeFileSync(
      path.join(dir, 'ca.cnf'),
      [
        '[ ca ]', 'default_ca = test', '[ test ]', `database = ${dir}/index.txt`, `crlnumber = ${dir}/crlnumber`,
        `private_key = ${ca.keyFile}`, `certificate = ${ca.certFile}`, 'default_crl_days = 1', 'default_md = sha256', 'crl_extensions = crl_ext',
        '[ crl_ext ]', 'authorityKeyIdentifier = keyid:always',
      ].join('\n') + '\n',
    );
    const crlFile = path.join(dir, 'crl.pem');
    await run(['ca', '-gencrl', '-batch', '-config', path.join(dir, 'ca.cnf'), '-out', crlFile]);
    const info = inspectCrl(decodePemOrDer(readFileSync(crlFile, 'utf8'), 'X509 CRL'));
    expect(info.crlNumber).toBe(0x1000n);
    expect(info.deltaOf).toBeNull();
    expect(hex(info.issuerNameDer)).toBe(hex(ca.subjectNameDer));
    // openssl ca writes its entries sorted by serial (X509_CRL_sort)
    const bySerial = (a: { serial: string }, b: { serial: string }): number => (a.serial < b.serial ? -1 : 1);
    expect(info.entries).toEqual(
      [
      { serial: serials[0], revokedAt: at('2025-03-01T10:11:12Z'), reason: 'keyCompromise', invalidityDate: null },
      { serial: serials[1], revokedAt: at('2025-03-02T10:11:12Z'), reason: 'certificateHold', invalidityDate: null },
      { serial: serials[2], revokedAt: at('2025-03-03T10:11:12Z'), reason: null, invalidityDate: null },
      ].sort(bySerial),
    );
  });

  it('refuses bytes that are not a CRL', () => {
    expect(outcome(() => inspectCrl(Uint8Array.of(0x30, 0x00)))).toEqual({ kind: 'malformed', code: 'malformedCrl' });
    expect(outcome(() => inspectCrl(Uint8Array.of(0x30, 0x03, 0x02, 0x01)))).toEqual({ kind: 'malformed', code: 'malformedCrl' });
  });
});
