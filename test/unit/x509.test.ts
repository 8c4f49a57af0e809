import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as pkijs from 'pkijs';
import type { CertificateSpec, NameAttribute } from '../../src/domain/certificateSpec.js';
import { parseSerial, randomSerial } from '../../src/domain/serial.js';
import { CaError } from '../../src/errors.js';
import { checkKeyPolicy } from '../../src/policy/key-policy.js';
import type { KeyAlgorithm, Signer } from '../../src/signing/types.js';
import { assembleCertificate, buildTbsCertificate, certificateTime, serialToInteger, signTbs } from '../../src/x509/certificate.js';
import { parseCsr } from '../../src/x509/csr.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { decodeKeyUsage, encodeKeyUsage } from '../../src/x509/key-usage.js';
import { findLintFailures, lintTbs, type LintOptions } from '../../src/x509/lint.js';
import { decodeName, encodeName, formatName } from '../../src/x509/names.js';
import { decodePemOrDer, pemEncode, splitPemCertificates } from '../../src/x509/pem.js';
import { describePublicKey, keyAlgorithmOf, signatureAlgorithmFor, subjectKeyIdentifier } from '../../src/x509/public-key.js';

// ---- helpers -----------------------------------------------------------------------------------

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'eimza-x509-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A CSR made by OpenSSL (the independent client); `keyArgs` are the `req -new` key options. */
function opensslCsr(name: string, ...keyArgs: string[]): string {
  openssl('req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-subj', '/CN=x/O=Example', '-out', `${name}.csr`);
  return readFileSync(path.join(dir, `${name}.csr`), 'utf8');
}

function hex(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

function caErrorOf(action: () => unknown): CaError {
  try {
    action();
  } catch (e) {
    if (e instanceof CaError) return e;
    throw e;
  }
  throw new Error('expected a CaError, nothing was thrown');
}

function expectCaError(action: () => unknown, kind: string, code: string): CaError {
  const error = caErrorOf(action);
  expect({ kind: error.kind, code: error.code }).toEqual({ kind, code });
  return error;
}

function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

/** The in-test Signer: what src/signing does, over node:crypto. */
function testSigner(algorithm: KeyAlgorithm): Signer {
  const { publicKey, privateKey } =
    algorithm.kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: algorithm.curve })
      : generateKeyPairSync('rsa', { modulusLength: algorithm.bits });
  const hash = algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  return {
    keyUri: 'test:',
    algorithm,
    publicKeySpki: spkiOf(publicKey),
    sign: async (data) => new Uint8Array(sign(hash, data, { key: privateKey, dsaEncoding: 'der' })),
  };
}

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });

/** A CSR made with pkijs over WebCrypto. */
async function pkijsCsr(algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams, hash: string): Promise<Uint8Array> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = new pkijs.CertificationRequest();
  csr.subject.typesAndValues.push(new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: 'pkijs' }) }));
  // pkijs is typed against the DOM's CryptoKey; node's is the same object.
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey as never, engine);
  await csr.sign(keys.privateKey as never, hash, engine);
  return new Uint8Array(csr.toSchema(true).toBER());
}

const PERSON: NameAttribute[] = [
  { type: 'C', value: 'AZ' },
  { type: 'givenName', value: 'Şəhriyar' },
  { type: 'surname', value: 'Işıqlı-Güləliyeva' },
  { type: 'CN', value: 'ŞƏHRİYAR IŞIQLI-GÜLƏLİYEVA' },
  { type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q' },
];

const LEAF_SPEC: CertificateSpec = {
  subject: PERSON,
  keyUsage: ['digitalSignature'],
  extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
  certificatePolicies: ['2.16.31.1.1.1.2', '0.4.0.2042.1.2'],
  authorityInfoAccess: { ocsp: 'http://localhost:8080/ocsp', caIssuers: 'http://localhost:8080/ca/eimza.crt' },
  crlDistributionPoint: 'http://localhost:8080/crl/eimza.crl',
};

const CA_SPEC: CertificateSpec = {
  subject: [
    { type: 'C', value: 'AZ' },
    { type: 'O', value: 'e-imza' },
    { type: 'CN', value: 'e-imza Test CA' },
  ],
  keyUsage: ['keyCertSign', 'cRLSign'],
  basicConstraints: { ca: true },
};

const NOW = new Date('2026-03-01T10:00:00.000Z');
const DAY_MS = 86_400_000;

// ---- PEM ---------------------------------------------------------------------------------------

describe('pem', () => {
  const der = new Uint8Array(new asn1js.Sequence({ value: [new asn1js.Integer({ value: 42 })] }).toBER());

  it('round-trips DER through PEM, 64-character lines', () => {
    const long = encodeName(PERSON);
    const pem = pemEncode('CERTIFICATE', long);
    expect(pem.split('\n').slice(1, -3).every((line) => line.length === 64)).toBe(true);
    expect(hex(decodePemOrDer(pem, 'CERTIFICATE'))).toBe(hex(long));
    expect(hex(decodePemOrDer(new TextEncoder().encode(pem)))).toBe(hex(long));
    expect(hex(decodePemOrDer(`explanatory text\r\n${pem.replace(/\n/g, '\r\n')}`))).toBe(hex(long));
  });

  it('passes DER bytes through', () => {
    expect(decodePemOrDer(der)).toBe(der);
  });

  it('rejects garbage text, broken base64, mismatched and unexpected labels as malformedPem', () => {
    expectCaError(() => decodePemOrDer('hello'), 'malformed', 'malformedPem');
    expectCaError(() => decodePemOrDer('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----'), 'malformed', 'malformedPem');
    expectCaError(() => decodePemOrDer(pemEncode('CERTIFICATE', der).replace('END CERTIFICATE', 'END X509 CRL')), 'malformed', 'malformedPem');
    expectCaError(() => decodePemOrDer(pemEncode('PRIVATE KEY', der), 'CERTIFICATE'), 'malformed', 'malformedPem');
    expectCaError(() => decodePemOrDer(pemEncode('CERTIFICATE', der) + pemEncode('CERTIFICATE', der)), 'malformed', 'malformedPem');
  });

  it('rejects bytes that are not one DER element as malformedDer', () => {
    expectCaError(() => decodePemOrDer(new Uint8Array([1, 2, 3])), 'malformed', 'malformedDer');
    expectCaError(() => decodePemOrDer(der.subarray(0, der.length - 1)), 'malformed', 'malformedDer');
    expectCaError(() => decodePemOrDer(new Uint8Array([...der, 0])), 'malformed', 'malformedDer');
    expectCaError(() => decodePemOrDer(pemEncode('CERTIFICATE', new Uint8Array([0x30, 0x05, 1]))), 'malformed', 'malformedDer');
  });

  it('splits a bundle into its certificates, skipping other blocks', () => {
    const other = encodeName(PERSON);
    const bundle = `${pemEncode('CERTIFICATE', der)}# comment\n${pemEncode('PRIVATE KEY', other)}${pemEncode('CERTIFICATE', other)}`;
    expect(splitPemCertificates(bundle).map(hex)).toEqual([hex(der), hex(other)]);
    expectCaError(() => splitPemCertificates(pemEncode('PRIVATE KEY', der)), 'malformed', 'malformedPem');
  });
});

// ---- keys and algorithms -------------------------------------------------------------------------

describe('public keys', () => {
  it('describes RSA, EC and other keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(describePublicKey(spkiOf(rsa))).toEqual({ kind: 'rsa', bits: 2048, publicExponent: 65537n });
    const rsa3 = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).publicKey;
    expect(describePublicKey(spkiOf(rsa3))).toEqual({ kind: 'rsa', bits: 1024, publicExponent: 3n });
    expect(describePublicKey(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey))).toEqual({
      kind: 'ec',
      curveOid: '1.2.840.10045.3.1.7',
      curve: 'P-256',
    });
    expect(describePublicKey(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey))).toEqual({
      kind: 'ec',
      curveOid: '1.3.132.0.34',
      curve: 'P-384',
    });
    expect(describePublicKey(spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey))).toEqual({ kind: 'ec', curveOid: '1.3.132.0.10' });
    expect(describePublicKey(spkiOf(generateKeyPairSync('ed25519').publicKey))).toEqual({ kind: 'other', algorithmOid: '1.3.101.112' });
    expectCaError(() => describePublicKey(new Uint8Array([0x30, 0])), 'malformed', 'malformedPublicKey');
  });

  it('computes the subject key identifier as OpenSSL does (RFC 5280 §4.2.1.2 method 1)', () => {
    openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ski.key', '-subj', '/CN=ski', '-days', '1', '-addext', 'subjectKeyIdentifier=hash', '-out', 'ski.pem');
    const certificate = new X509Certificate(readFileSync(path.join(dir, 'ski.pem')));
    const printed = openssl('x509', '-in', 'ski.pem', '-noout', '-ext', 'subjectKeyIdentifier').split('\n')[1]!.trim();
    expect(hex(subjectKeyIdentifier(spkiOf(certificate.publicKey)))).toBe(printed.replace(/:/g, '').toLowerCase());
  });

  it('picks the signature AlgorithmIdentifier of the issuer key (NULL parameters only for RSA)', () => {
    const der = (algorithm: KeyAlgorithm) => hex(signatureAlgorithmFor(algorithm).toSchema().toBER());
    expect(der({ kind: 'rsa', bits: 3072 })).toBe('300d06092a864886f70d01010b0500');
    expect(der({ kind: 'ec', curve: 'P-256' })).toBe('300a06082a8648ce3d040302');
    expect(der({ kind: 'ec', curve: 'P-384' })).toBe('300a06082a8648ce3d040303');
  });

  it('knows which keys can be CA keys', () => {
    expect(keyAlgorithmOf(testSigner({ kind: 'ec', curve: 'P-384' }).publicKeySpki)).toEqual({ kind: 'ec', curve: 'P-384' });
    expectCaError(() => keyAlgorithmOf(spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)), 'badPublicKey', 'unsupportedCurve');
    expectCaError(() => keyAlgorithmOf(spkiOf(generateKeyPairSync('ed25519').publicKey)), 'badPublicKey', 'unsupportedKeyType');
  });
});

// ---- CSR ---------------------------------------------------------------------------------------

describe('parseCsr', () => {
  let rsaKeyPath: string;
  beforeAll(() => {
    rsaKeyPath = path.join(dir, 'rsa2048.key');
    writeFileSync(rsaKeyPath, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  it('parses and verifies an OpenSSL EC P-256 CSR, PEM and DER', () => {
    const pem = opensslCsr('p256', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
    const csr = parseCsr(pem, checkKeyPolicy);
    expect(csr.publicKey).toEqual({ kind: 'ec', curveOid: '1.2.840.10045.3.1.7', curve: 'P-256' });
    expect(csr.subject.map((a) => [a.type, a.value])).toEqual([
      ['2.5.4.3', 'x'],
      ['2.5.4.10', 'Example'],
    ]);
    expect(csr.signatureAlgorithmOid).toBe('1.2.840.10045.4.3.2');
    expect(describePublicKey(csr.subjectPublicKeyInfo)).toEqual(csr.publicKey);
    expect(hex(parseCsr(csr.der).der)).toBe(hex(csr.der));
  });

  it.each([
    ['EC P-384 / SHA-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384']],
    ['EC P-256 / SHA-512', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha512']],
  ])('verifies an OpenSSL %s CSR', (name, args) => {
    expect(parseCsr(opensslCsr(name.replace(/\W+/g, '-'), ...args), checkKeyPolicy).publicKey.kind).toBe('ec');
  });

  it.each([
    ['PKCS#1 v1.5 SHA-256', ['-sha256']],
    ['PSS SHA-256', ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']],
    ['PSS SHA-384 salt = digest', ['-sha384', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-1']],
  ])('verifies an OpenSSL RSA %s CSR', (name, args) => {
    openssl('req', '-new', '-key', rsaKeyPath, '-subj', '/CN=rsa', ...args, '-out', 'rsa.csr');
    const csr = parseCsr(readFileSync(path.join(dir, 'rsa.csr'), 'utf8'), checkKeyPolicy);
    expect(csr.publicKey).toEqual({ kind: 'rsa', bits: 2048, publicExponent: 65537n });
    expect(csr.signatureAlgorithmOid).toBe(name.startsWith('PSS') ? '1.2.840.113549.1.1.10' : '1.2.840.113549.1.1.11');
  });

  it('verifies pkijs/WebCrypto CSRs (ECDSA P-256, RSA PKCS#1 v1.5)', async () => {
    const ec = await pkijsCsr({ name: 'ECDSA', namedCurve: 'P-256' }, 'SHA-256');
    expect(parseCsr(ec, checkKeyPolicy).subject[0]?.value).toBe('pkijs');
    const rsa = await pkijsCsr({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, 'SHA-256');
    expect(parseCsr(pemEncode('NEW CERTIFICATE REQUEST', rsa), checkKeyPolicy).publicKey.kind).toBe('rsa');
  });

  it('rejects a CSR with a flipped signature byte or a changed body as csrSignatureInvalid', () => {
    const der = decodePemOrDer(opensslCsr('flip', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'));
    const flipped = der.slice();
    flipped[flipped.length - 1]! ^= 0x01;
    expectCaError(() => parseCsr(flipped), 'badCsr', 'csrSignatureInvalid');
    const body = der.slice();
    const subjectAt = Buffer.from(body).indexOf('Example');
    body[subjectAt]! ^= 0x20; // "example"
    expectCaError(() => parseCsr(body), 'badCsr', 'csrSignatureInvalid');
  });

  it('runs the key policy before the signature: RSA-1024 → weakRsaKey, secp256k1 → unsupportedCurve', () => {
    const weak = opensslCsr('rsa1024', '-newkey', 'rsa:1024');
    expectCaError(() => parseCsr(weak, checkKeyPolicy), 'badPublicKey', 'weakRsaKey');
    expect(parseCsr(weak).publicKey).toMatchObject({ kind: 'rsa', bits: 1024 }); // x509 alone can verify it
    const k1 = opensslCsr('k1', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1');
    expectCaError(() => parseCsr(k1, checkKeyPolicy), 'badPublicKey', 'unsupportedCurve');
    expectCaError(() => parseCsr(k1), 'badPublicKey', 'unsupportedCurve'); // fails closed without a policy too
  });

  it('rejects keys it cannot verify as unsupportedKeyType (Ed25519)', () => {
    const ed = opensslCsr('ed', '-newkey', 'ed25519');
    expectCaError(() => parseCsr(ed, checkKeyPolicy), 'badPublicKey', 'unsupportedKeyType');
    expectCaError(() => parseCsr(ed), 'badPublicKey', 'unsupportedKeyType');
  });

  it('rejects broken PEM armor as malformedPem and an undecodable request as malformedCsr', () => {
    expectCaError(() => parseCsr('not a csr'), 'malformed', 'malformedPem');
    expectCaError(() => parseCsr(pemEncode('CERTIFICATE', encodeName(PERSON))), 'malformed', 'malformedPem');
    expectCaError(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nnot base64!!\n-----END CERTIFICATE REQUEST-----\n'), 'malformed', 'malformedPem');
    expectCaError(() => parseCsr(new Uint8Array([0x30, 0x82, 0x01, 0x00, 0x02])), 'malformed', 'malformedCsr');
    expectCaError(() => parseCsr(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), 'malformed', 'malformedCsr');
    expectCaError(() => parseCsr(pemEncode('CERTIFICATE REQUEST', encodeName(PERSON))), 'malformed', 'malformedCsr');
  });
});

// ---- names -------------------------------------------------------------------------------------

describe('names', () => {
  it('writes one attribute per RDN, in order; C and serialNumber PrintableString, the rest UTF8String', () => {
    const der = encodeName(PERSON);
    const name = asn1js.fromBER(der).result as asn1js.Sequence;
    const rdns = name.valueBlock.value as asn1js.Set[];
    expect(rdns).toHaveLength(5);
    const tags = rdns.map((rdn) => {
      expect(rdn.valueBlock.value).toHaveLength(1);
      return ((rdn.valueBlock.value[0] as asn1js.Sequence).valueBlock.value[1] as asn1js.BaseBlock).constructor.name;
    });
    expect(tags).toEqual(['PrintableString', 'Utf8String', 'Utf8String', 'Utf8String', 'PrintableString']);
    expect(decodeName(der).map((a) => a.value)).toEqual(PERSON.map((a) => a.value));
  });

  it('keeps Azerbaijani letters, as OpenSSL shows with -nameopt utf8', async () => {
    const signer = testSigner({ kind: 'ec', curve: 'P-256' });
    const spec = { ...CA_SPEC, subject: PERSON };
    const der = await signTbs(
      buildTbsCertificate({
        serial: randomSerial(),
        notBefore: new Date(),
        notAfter: new Date(Date.now() + DAY_MS),
        issuerName: encodeName(PERSON),
        issuerPublicKeySpki: signer.publicKeySpki,
        subjectPublicKeySpki: signer.publicKeySpki,
        spec,
        signatureAlgorithm: signer.algorithm,
      }),
      signer,
    );
    writeFileSync(path.join(dir, 'names.pem'), pemEncode('CERTIFICATE', der));
    const subject = openssl('x509', '-in', 'names.pem', '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus');
    expect(subject.trim()).toBe('subject=C=AZ,GN=Şəhriyar,SN=Işıqlı-Güləliyeva,CN=ŞƏHRİYAR IŞIQLI-GÜLƏLİYEVA,serialNumber=PNOAZ-5ZX2K7Q');
    expect(inspectCertificate(der).subject).toBe('C=AZ, GN=Şəhriyar, SN=Işıqlı-Güləliyeva, CN=ŞƏHRİYAR IŞIQLI-GÜLƏLİYEVA, serialNumber=PNOAZ-5ZX2K7Q');
  });

  it('escapes RFC 4514 specials for display', () => {
    expect(formatName(encodeName([{ type: 'O', value: 'Vergi, "Xidmət" + #1' }]))).toBe('O=Vergi\\, \\"Xidmət\\" \\+ #1');
    expect(formatName(encodeName([{ type: 'CN', value: '#hash' }]))).toBe('CN=\\#hash');
  });

  it.each([
    [{ type: 'serialNumber', value: 'PNOAZ-ƏLİ' }, /PrintableString/],
    [{ type: 'serialNumber', value: 'a_b' }, /PrintableString/],
    [{ type: 'C', value: 'Az' }, /alpha-2/],
    [{ type: 'C', value: 'AZE' }, /longer/],
    [{ type: 'CN', value: 'X'.repeat(65) }, /longer than 64/],
    [{ type: 'O', value: '' }, /non-empty/],
    [{ type: 'O', value: ' padded' }, /non-empty/],
    [{ type: 'O', value: 'Line\nbreak' }, /control characters/],
  ] as [NameAttribute, RegExp][])('rejects %j', (attribute, detail) => {
    expect(expectCaError(() => encodeName([attribute]), 'malformed', 'invalidNameValue').detail).toMatch(detail);
  });
});

// ---- extensions and certificate fields ------------------------------------------------------------

describe('encoding details', () => {
  it('encodes keyUsage as a DER named bit list', () => {
    const der = (bits: Parameters<typeof encodeKeyUsage>[0]) => hex(encodeKeyUsage(bits).toBER());
    expect(der(['digitalSignature'])).toBe('03020780');
    expect(der(['nonRepudiation'])).toBe('03020640');
    expect(der(['digitalSignature', 'keyEncipherment'])).toBe('030205a0');
    expect(der(['keyAgreement'])).toBe('03020308');
    expect(der(['keyCertSign', 'cRLSign'])).toBe('03020106');
    expect(decodeKeyUsage(new Uint8Array(encodeKeyUsage(['nonRepudiation', 'keyAgreement']).toBER()))).toEqual(['nonRepudiation', 'keyAgreement']);
  });

  it('encodes serials as positive minimal INTEGERs', () => {
    const der = (serial: string) => hex(serialToInteger(parseSerial(serial)).toBER());
    expect(der('7f')).toBe('02017f');
    expect(der('80')).toBe('02020080');
    expect(der('abc')).toBe('02020abc');
    expect(der('1' + '0'.repeat(31))).toBe('0210' + '1' + '0'.repeat(31));
  });

  it('uses UTCTime through 2049 and GeneralizedTime from 2050, whole seconds', () => {
    const der = (iso: string) => Buffer.from(certificateTime(new Date(iso)).toSchema().toBER()).toString('latin1').slice(2);
    expect(der('2049-12-31T23:59:59.999Z')).toBe('491231235959Z');
    expect(der('2050-01-01T00:00:00.500Z')).toBe('20500101000000Z');
  });
});

// ---- building, inspecting, linting -----------------------------------------------------------------

describe('certificates and pre-signing lint', () => {
  const issuer = testSigner({ kind: 'ec', curve: 'P-256' });
  const other = testSigner({ kind: 'ec', curve: 'P-384' });
  const subjectKey = testSigner({ kind: 'ec', curve: 'P-256' });
  const issuerName = encodeName(CA_SPEC.subject);

  function tbs(over: Partial<Parameters<typeof buildTbsCertificate>[0]> = {}): Uint8Array {
    return buildTbsCertificate({
      serial: parseSerial('4a5b6c7d8e9f00112233445566778899'),
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 1095 * DAY_MS),
      issuerName,
      issuerPublicKeySpki: issuer.publicKeySpki,
      subjectPublicKeySpki: subjectKey.publicKeySpki,
      spec: LEAF_SPEC,
      signatureAlgorithm: issuer.algorithm,
      ...over,
    });
  }

  const options: LintOptions = { issuerSpki: issuer.publicKeySpki, expectedSpec: LEAF_SPEC, now: NOW, maxValidityDays: 1100 };

  /** Re-encodes a TBS after editing it with pkijs: what a bug or a tampered database row would produce. */
  function tamper(tbsDer: Uint8Array, edit: (certificate: pkijs.Certificate) => void): Uint8Array {
    const certificate = pkijs.Certificate.fromBER(assembleCertificate(tbsDer, issuer.algorithm, new Uint8Array([0])));
    edit(certificate);
    return new Uint8Array(certificate.encodeTBS().toBER());
  }

  function failedChecks(tbsDer: Uint8Array, lintOptions: LintOptions = options): string[] {
    return findLintFailures(tbsDer, lintOptions).map((f) => f.check);
  }

  it('builds a certificate that passes lint and inspects to what was asked', async () => {
    const tbsDer = tbs();
    expect(findLintFailures(tbsDer, options)).toEqual([]);
    const der = await signTbs(tbsDer, issuer);
    const info = inspectCertificate(der);
    expect(info).toMatchObject({
      serial: '4a5b6c7d8e9f00112233445566778899',
      issuer: 'C=AZ, O=e-imza, CN=e-imza Test CA',
      subjectCommonName: 'ŞƏHRİYAR IŞIQLI-GÜLƏLİYEVA',
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 1095 * DAY_MS),
      publicKey: { kind: 'ec', curve: 'P-256' },
      signatureAlgorithmOid: '1.2.840.10045.4.3.2',
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.2'],
      isCa: false,
      policies: ['2.16.31.1.1.1.2', '0.4.0.2042.1.2'],
      subjectKeyId: hex(subjectKeyIdentifier(subjectKey.publicKeySpki)),
      authorityKeyId: hex(subjectKeyIdentifier(issuer.publicKeySpki)),
    });
    expect(hex(info.tbsDer)).toBe(hex(tbsDer));
    expect(hex(info.issuerNameDer)).toBe(hex(issuerName));
    expect(hex(info.subjectPublicKeySpki)).toBe(hex(subjectKey.publicKeySpki));
    expect(info.sha256Fingerprint).toBe(new X509Certificate(der).fingerprint256.replace(/:/g, '').toLowerCase());
    expect(new X509Certificate(der).verify(createPublicKey({ key: Buffer.from(issuer.publicKeySpki), format: 'der', type: 'spki' }))).toBe(true);
  });

  it('inspects a CA certificate: cA, pathLength, RSA signature', async () => {
    const rsa = testSigner({ kind: 'rsa', bits: 2048 });
    const spec = { ...CA_SPEC, basicConstraints: { ca: true, pathLength: 0 } };
    const der = await signTbs(tbs({ spec, issuerPublicKeySpki: rsa.publicKeySpki, subjectPublicKeySpki: rsa.publicKeySpki, signatureAlgorithm: rsa.algorithm }), rsa);
    expect(inspectCertificate(der)).toMatchObject({ isCa: true, pathLength: 0, keyUsage: ['keyCertSign', 'cRLSign'], signatureAlgorithmOid: '1.2.840.113549.1.1.11' });
    expect(new X509Certificate(der).verify(new X509Certificate(der).publicKey)).toBe(true);
  });

  it('throws internal / preSigningLintFailed naming the failed checks', () => {
    const error = expectCaError(() => lintTbs(tbs({ notAfter: NOW }), options), 'internal', 'preSigningLintFailed');
    expect(error.detail).toMatch(/validityOrder/);
  });

  it.each([
    ['a short serial', { serial: parseSerial('1234') }, 'serialLength'],
    ['notAfter = notBefore', { notAfter: NOW }, 'validityOrder'],
    ['a validity over the maximum', { notAfter: new Date(NOW.getTime() + 1200 * DAY_MS) }, 'validityMaximum'],
    ['a notBefore far from now', { notBefore: new Date(NOW.getTime() - 3 * DAY_MS) }, 'notBeforeNearNow'],
    ['an empty subject', { spec: { ...LEAF_SPEC, subject: [] } }, 'subjectNotEmpty'],
    ['an AKI of another key', { issuerPublicKeySpki: other.publicKeySpki }, 'authorityKeyIdMatchesIssuer'],
    ['a signature algorithm of another key', { signatureAlgorithm: { kind: 'rsa', bits: 2048 } as KeyAlgorithm }, 'signatureAlgorithmMatchesIssuer'],
    ['cA on a spec that is not a CA', { spec: { ...LEAF_SPEC, keyUsage: ['keyCertSign'], basicConstraints: { ca: true } } as CertificateSpec }, 'caFlagMatchesSpec'],
    ['extensions other than the spec', { spec: { ...LEAF_SPEC, extendedKeyUsage: ['1.3.6.1.5.5.7.3.1'] } }, 'extensionsMatchSpec'],
    ['a subject other than the spec', { spec: { ...LEAF_SPEC, subject: PERSON.slice(1) } }, 'subjectMatchesSpec'],
  ] as [string, Partial<Parameters<typeof buildTbsCertificate>[0]>, string][])('fails on %s', (_name, over, check) => {
    expect(failedChecks(tbs(over))).toContain(check);
  });

  it('fails on a keyUsage that is missing or not critical, and on duplicate extensions', () => {
    const notCritical = tamper(tbs(), (c) => {
      c.extensions!.find((e) => e.extnID === '2.5.29.15')!.critical = false;
    });
    expect(failedChecks(notCritical)).toEqual(expect.arrayContaining(['keyUsageCritical', 'extensionsMatchSpec']));
    const missing = tamper(tbs(), (c) => {
      c.extensions = c.extensions!.filter((e) => e.extnID !== '2.5.29.15');
    });
    expect(failedChecks(missing, { ...options, expectedSpec: undefined })).toEqual(['keyUsageCritical']);
    const duplicated = tamper(tbs(), (c) => {
      c.extensions!.push(c.extensions![0]!);
    });
    expect(failedChecks(duplicated, { ...options, expectedSpec: undefined })).toEqual(['noDuplicateExtensions']);
  });

  it('fails on a negative or unpadded serial, v1, and wrong time encoding', () => {
    const negative = tamper(tbs(), (c) => {
      c.serialNumber = new asn1js.Integer({ valueHex: Buffer.from('ff112233445566778899', 'hex') });
    });
    expect(failedChecks(negative)).toContain('serialPositive');
    const unpadded = tamper(tbs(), (c) => {
      c.serialNumber = new asn1js.Integer({ valueHex: Buffer.from('00112233445566778899', 'hex') });
    });
    expect(findLintFailures(unpadded, options)).toEqual([{ check: 'serialPositive', detail: 'serial is not minimally encoded' }]);
    const v1 = tamper(tbs(), (c) => {
      c.version = 0;
    });
    expect(failedChecks(v1)).toContain('versionIsV3');
    const generalized = tamper(tbs(), (c) => {
      c.notBefore = new pkijs.Time({ type: 1, value: NOW });
    });
    expect(failedChecks(generalized)).toEqual(['validityTimeEncoding']);
  });

  it('reports undecodable bytes as one failed check', () => {
    expect(failedChecks(new Uint8Array([0x30, 0x00]))).toEqual(['parseable']);
  });
});
