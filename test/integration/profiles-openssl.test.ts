/**
 * OpenSSL as the independent judge of every profile: a root, three issuing CAs, one leaf per
 * end-entity profile and an OCSP signer, built by policy/ + x509/ exactly as the CA core does
 * (spec -> TBS -> lint -> sign), once with ECDSA P-256 and once with RSA (a 3072-bit root).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CertificateSpec } from '../../src/domain/certificateSpec.js';
import type { Holder } from '../../src/domain/holder.js';
import { randomSerial } from '../../src/domain/serial.js';
import { checkKeyPolicy } from '../../src/policy/key-policy.js';
import { buildCertificateSpec, getProfile, type ProfileId, type SpecRequest } from '../../src/policy/profiles.js';
import { DEFAULT_PKI_SETTINGS } from '../../src/policy/settings.js';
import type { KeyAlgorithm, Signer } from '../../src/signing/types.js';
import { buildTbsCertificate, signTbs } from '../../src/x509/certificate.js';
import { parseCsr } from '../../src/x509/csr.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { lintTbs } from '../../src/x509/lint.js';
import { encodeName } from '../../src/x509/names.js';
import { decodePemOrDer, pemEncode } from '../../src/x509/pem.js';

const settings = DEFAULT_PKI_SETTINGS;
const DAY_MS = 86_400_000;
const generate = promisify(generateKeyPair);

// ---- the in-test key and Signer -------------------------------------------------------------------

interface TestKey {
  algorithm: KeyAlgorithm;
  spki: Uint8Array;
  signer: Signer;
}

async function newKey(algorithm: KeyAlgorithm): Promise<TestKey> {
  const { publicKey, privateKey } =
    algorithm.kind === 'ec'
      ? await generate('ec', { namedCurve: algorithm.curve })
      : await generate('rsa', { modulusLength: algorithm.bits });
  const spki = new Uint8Array((publicKey as KeyObject).export({ type: 'spki', format: 'der' }));
  const hash = algorithm.kind === 'ec' && algorithm.curve === 'P-384' ? 'sha384' : 'sha256';
  const signer: Signer = {
    keyUri: 'test:in-memory',
    algorithm,
    publicKeySpki: spki,
    sign: async (data) => new Uint8Array(sign(hash, data, { key: privateKey as KeyObject, dsaEncoding: 'der' })),
  };
  return { algorithm, spki, signer };
}

// ---- issuing as the CA core does ---------------------------------------------------------------------

interface Authority {
  name: string;
  key: TestKey;
  nameDer: Uint8Array;
  der: Uint8Array;
}

async function issue(issuer: { key: TestKey; nameDer: Uint8Array }, subjectSpki: Uint8Array, profile: ProfileId, spec: CertificateSpec) {
  const now = new Date();
  const tbs = buildTbsCertificate({
    serial: randomSerial(),
    notBefore: now,
    notAfter: new Date(now.getTime() + getProfile(profile).defaultValidityDays(settings) * DAY_MS),
    issuerName: issuer.nameDer,
    issuerPublicKeySpki: issuer.key.spki,
    subjectPublicKeySpki: subjectSpki,
    spec,
    signatureAlgorithm: issuer.key.algorithm,
  });
  lintTbs(tbs, { issuerSpki: issuer.key.spki, expectedSpec: spec, now, maxValidityDays: getProfile(profile).defaultValidityDays(settings) });
  return signTbs(tbs, issuer.key.signer);
}

function specFor(profile: ProfileId, request: Partial<SpecRequest> & { caName: string; subjectKey: 'rsa' | 'ec' }): CertificateSpec {
  return buildCertificateSpec(profile, { holder: {}, settings, keyOnSecureDevice: true, ...request });
}

async function authority(name: string, profile: 'root-ca' | 'issuing-ca', algorithm: KeyAlgorithm, parent?: Authority): Promise<Authority> {
  const key = await newKey(algorithm);
  const spec = specFor(profile, { caName: parent?.name ?? name, subjectKey: algorithm.kind, commonName: `e-imza ${name} CA` });
  const nameDer = encodeName(spec.subject);
  const der = await issue(parent ?? { key, nameDer }, key.spki, profile, spec);
  return { name, key, nameDer, der };
}

// ---- what each profile must look like to OpenSSL ----------------------------------------------------

const CITIZEN: Holder = { fin: '5ZX2K7Q', givenName: 'Leyla', surname: 'Əliyeva', email: 'leyla@example.az', phone: '+994501234567' };
const REPRESENTATIVE: Holder = { ...CITIZEN, organization: 'Vergilər Nazirliyi', voen: '1400057421' };
const MEMBER: Holder = { memberName: 'Dövlət Vergi Xidməti', memberClass: 'GOV', memberCode: '1401555071', dnsName: 'ss1.vergi.gov.az' };

const PERSON_SUBJECT = 'C=AZ,GN=Leyla,SN=Əliyeva,CN=LEYLA ƏLİYEVA,serialNumber=PNOAZ-5ZX2K7Q';
const REPRESENTATIVE_SUBJECT =
  'C=AZ,O=Vergilər Nazirliyi,organizationIdentifier=NTRAZ-1400057421,GN=Leyla,SN=Əliyeva,CN=LEYLA ƏLİYEVA,serialNumber=PNOAZ-5ZX2K7Q';
const MEMBER_SUBJECT = 'C=AZ,O=Dövlət Vergi Xidməti,businessCategory=GOV,serialNumber=1401555071';

interface Expected {
  profile: ProfileId;
  ca: 'eimza' | 'mobile' | 'portal';
  holder: Holder;
  documentNumber?: string;
  subject: string;
  keyUsage: { ec: string; rsa: string };
  eku?: string;
  policies: string[];
  qcStatements: boolean;
  san?: RegExp;
  /** openssl verify -purpose values (OpenSSL 3.0 has none for document signing, so `any` there). */
  purposes: { ec: string[]; rsa: string[] };
}

const LEAVES: Expected[] = [
  {
    profile: 'signature',
    ca: 'eimza',
    holder: CITIZEN,
    subject: PERSON_SUBJECT,
    keyUsage: { ec: 'Non Repudiation', rsa: 'Non Repudiation' },
    policies: ['2.16.31.1.1.1.1', '0.4.0.194112.1.2'],
    qcStatements: true,
    purposes: { ec: ['smimesign'], rsa: ['smimesign'] },
  },
  {
    profile: 'authentication',
    ca: 'eimza',
    holder: REPRESENTATIVE,
    subject: REPRESENTATIVE_SUBJECT,
    keyUsage: { ec: 'Digital Signature', rsa: 'Digital Signature' },
    eku: 'TLS Web Client Authentication',
    policies: ['2.16.31.1.1.1.2', '0.4.0.2042.1.2'],
    qcStatements: false,
    purposes: { ec: ['sslclient'], rsa: ['sslclient'] },
  },
  {
    profile: 'encryption',
    ca: 'eimza',
    holder: CITIZEN,
    subject: PERSON_SUBJECT,
    keyUsage: { ec: 'Key Agreement', rsa: 'Key Encipherment' },
    eku: 'E-mail Protection',
    policies: ['2.16.31.1.1.1.3', '0.4.0.2042.1.1'],
    qcStatements: false,
    san: /email:leyla@example\.az/,
    // OpenSSL's smimeencrypt purpose insists on keyEncipherment, so ECDH (keyAgreement) certificates use `any`.
    purposes: { ec: ['any'], rsa: ['smimeencrypt'] },
  },
  {
    profile: 'mobile-auth',
    ca: 'mobile',
    holder: CITIZEN,
    subject: PERSON_SUBJECT,
    keyUsage: { ec: 'Digital Signature', rsa: 'Digital Signature' },
    eku: 'TLS Web Client Authentication',
    policies: ['2.16.31.1.1.2.2', '0.4.0.2042.1.2'],
    qcStatements: false,
    purposes: { ec: ['sslclient'], rsa: ['sslclient'] },
  },
  {
    profile: 'mobile-sign',
    ca: 'mobile',
    holder: CITIZEN,
    documentNumber: '1',
    subject: PERSON_SUBJECT,
    keyUsage: { ec: 'Non Repudiation', rsa: 'Non Repudiation' },
    policies: ['2.16.31.1.1.2.1', '0.4.0.194112.1.2'],
    qcStatements: true,
    san: /DirName:.*serialNumber\s?=\s?PNOAZ-5ZX2K7Q-1/,
    purposes: { ec: ['smimesign'], rsa: ['smimesign'] },
  },
  {
    profile: 'server-signing',
    ca: 'portal',
    holder: MEMBER,
    subject: `${MEMBER_SUBJECT},CN=Dövlət Vergi Xidməti`,
    keyUsage: { ec: 'Non Repudiation', rsa: 'Non Repudiation' },
    policies: ['2.16.31.1.1.3.1', '0.4.0.2042.1.2'],
    qcStatements: false,
    purposes: { ec: ['any'], rsa: ['any'] },
  },
  {
    profile: 'server-tls',
    ca: 'portal',
    holder: MEMBER,
    subject: `${MEMBER_SUBJECT},CN=ss1.vergi.gov.az`,
    keyUsage: { ec: 'Digital Signature', rsa: 'Digital Signature, Key Encipherment' },
    eku: 'TLS Web Server Authentication, TLS Web Client Authentication',
    policies: ['2.16.31.1.1.3.2'],
    qcStatements: false,
    san: /DNS:ss1\.vergi\.gov\.az/,
    purposes: { ec: ['sslserver', 'sslclient'], rsa: ['sslserver', 'sslclient'] },
  },
];

// ---- running OpenSSL --------------------------------------------------------------------------------

function openssl(cwd: string, ...args: string[]): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function text(cwd: string, file: string): string {
  return openssl(cwd, 'x509', '-in', file, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus');
}

/** The line under an extension's heading in `openssl x509 -text`, or undefined when absent. */
function extensionLine(certificateText: string, heading: string): string | undefined {
  const lines = certificateText.split('\n');
  const at = lines.findIndex((line) => line.trim().startsWith(heading));
  return at === -1 ? undefined : `${lines[at]!.trim()} | ${lines[at + 1]!.trim()}`;
}

function readDer(file: string): Uint8Array {
  return decodePemOrDer(readFileSync(file, 'utf8'), 'CERTIFICATE');
}

function policiesOf(certificateText: string): string[] {
  return [...certificateText.matchAll(/Policy: (\S+)/g)].map((m) => m[1]!);
}

/** `openssl asn1parse` of the qcStatements extension value, found and opened by OpenSSL itself. */
function qcStatementsAsn1(cwd: string, file: string): string {
  const outer = openssl(cwd, 'asn1parse', '-in', file).split('\n');
  const at = outer.findIndex((line) => line.includes(':qcStatements'));
  const offset = outer[at + 1]?.split(':')[0]?.trim();
  if (at === -1 || !offset) throw new Error('no qcStatements in the certificate');
  return openssl(cwd, 'asn1parse', '-in', file, '-strparse', offset);
}

// ---- the two hierarchies ---------------------------------------------------------------------------

const HIERARCHIES = [
  { name: 'ECDSA P-256', kind: 'ec', root: { kind: 'ec', curve: 'P-256' }, issuing: { kind: 'ec', curve: 'P-256' }, leaf: { kind: 'ec', curve: 'P-256' } },
  { name: 'RSA (3072-bit root)', kind: 'rsa', root: { kind: 'rsa', bits: 3072 }, issuing: { kind: 'rsa', bits: 2048 }, leaf: { kind: 'rsa', bits: 2048 } },
] as const satisfies readonly { name: string; kind: 'ec' | 'rsa'; root: KeyAlgorithm; issuing: KeyAlgorithm; leaf: KeyAlgorithm }[];

describe.each(HIERARCHIES)('$name hierarchy, judged by OpenSSL', (hierarchy) => {
  let dir: string;
  let issuingCas: Record<string, Authority>;
  const signatureName = hierarchy.kind === 'ec' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `eimza-profiles-${hierarchy.kind}-`));
    const root = await authority('root', 'root-ca', hierarchy.root);
    const issuing = await Promise.all((['eimza', 'mobile', 'portal'] as const).map((name) => authority(name, 'issuing-ca', hierarchy.issuing, root)));
    const write = (file: string, der: Uint8Array) => writeFileSync(path.join(dir, file), pemEncode('CERTIFICATE', der));
    write('root.pem', root.der);
    for (const ca of issuing) write(`${ca.name}.pem`, ca.der);
    issuingCas = Object.fromEntries(issuing.map((ca) => [ca.name, ca]));
    const byName = issuingCas;

    await Promise.all(
      LEAVES.map(async (leaf) => {
        const key = await newKey(hierarchy.leaf);
        const spec = specFor(leaf.profile, {
          caName: leaf.ca,
          subjectKey: hierarchy.kind,
          holder: leaf.holder,
          ...(leaf.documentNumber ? { documentNumber: leaf.documentNumber } : {}),
        });
        write(`${leaf.profile}.pem`, await issue(byName[leaf.ca]!, key.spki, leaf.profile, spec));
      }),
    );
    const ocspKey = await newKey(hierarchy.leaf);
    const ocspSpec = specFor('ocsp-signer', { caName: 'eimza', subjectKey: hierarchy.kind, commonName: 'e-imza eimza CA OCSP Responder' });
    write('ocsp-signer.pem', await issue(byName.eimza!, ocspKey.spki, 'ocsp-signer', ocspSpec));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has a self-signed root: keyCertSign + cRLSign critical, cA without pathLen, no AIA/CDP', () => {
    expect(openssl(dir, 'verify', '-x509_strict', '-CAfile', 'root.pem', 'root.pem')).toContain('root.pem: OK');
    const root = text(dir, 'root.pem');
    expect(extensionLine(root, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical | Certificate Sign, CRL Sign');
    expect(extensionLine(root, 'X509v3 Basic Constraints')).toBe('X509v3 Basic Constraints: critical | CA:TRUE');
    expect(root).not.toMatch(/Authority Information Access|CRL Distribution Points|Certificate Policies/);
    expect(root).toContain(`Signature Algorithm: ${signatureName}`);
    expect(root).toContain('Subject: C=AZ,O=e-imza,CN=e-imza root CA');
    if (hierarchy.kind === 'rsa') expect(root).toContain('Public-Key: (3072 bit)');
  });

  it.each(['eimza', 'mobile', 'portal'])('has the %s issuing CA: pathLen 0 and the root URLs', (ca) => {
    expect(openssl(dir, 'verify', '-x509_strict', '-CAfile', 'root.pem', `${ca}.pem`)).toContain(`${ca}.pem: OK`);
    const issuing = text(dir, `${ca}.pem`);
    expect(extensionLine(issuing, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical | Certificate Sign, CRL Sign');
    expect(extensionLine(issuing, 'X509v3 Basic Constraints')).toBe('X509v3 Basic Constraints: critical | CA:TRUE, pathlen:0');
    expect(issuing).toContain('CA Issuers - URI:http://localhost:8080/ca/root.crt');
    expect(issuing).toContain('URI:http://localhost:8080/crl/root.crl');
    expect(issuing).toContain(`Issuer: C=AZ,O=e-imza,CN=e-imza root CA`);
  });

  it.each(LEAVES)('issues $profile: verified, with exactly the profile\'s extensions', (leaf) => {
    const file = `${leaf.profile}.pem`;
    for (const purpose of leaf.purposes[hierarchy.kind]) {
      const verified = openssl(dir, 'verify', '-x509_strict', '-purpose', purpose, '-CAfile', 'root.pem', '-untrusted', `${leaf.ca}.pem`, file);
      expect(verified).toContain(`${file}: OK`);
    }
    const certificate = text(dir, file);
    expect(certificate).toContain(`Subject: ${leaf.subject}\n`);
    expect(certificate).toContain(`Issuer: C=AZ,O=e-imza,CN=e-imza ${leaf.ca} CA\n`);
    expect(certificate).toContain(`Signature Algorithm: ${signatureName}`);
    expect(extensionLine(certificate, 'X509v3 Key Usage')).toBe(`X509v3 Key Usage: critical | ${leaf.keyUsage[hierarchy.kind]}`);
    expect(extensionLine(certificate, 'X509v3 Extended Key Usage')).toBe(leaf.eku ? `X509v3 Extended Key Usage: | ${leaf.eku}` : undefined);
    expect(policiesOf(certificate)).toEqual(leaf.policies);
    expect(certificate.includes('qcStatements')).toBe(leaf.qcStatements);
    expect(certificate).toContain('OCSP - URI:http://localhost:8080/ocsp');
    expect(certificate).toContain(`CA Issuers - URI:http://localhost:8080/ca/${leaf.ca}.crt`);
    expect(certificate).toContain(`URI:http://localhost:8080/crl/${leaf.ca}.crl`);
    expect(certificate).toMatch(/X509v3 Subject Key Identifier/);
    expect(certificate).toMatch(/X509v3 Authority Key Identifier/);
    expect(certificate).not.toMatch(/Basic Constraints|OCSP No Check/);
    if (leaf.san) expect(extensionLine(certificate, 'X509v3 Subject Alternative Name')).toMatch(leaf.san);
    else expect(certificate).not.toMatch(/Subject Alternative Name/);
  });

  it.each(['signature', 'mobile-sign'])('encodes the ETSI qcStatements of %s (openssl asn1parse)', (profile) => {
    const asn1 = qcStatementsAsn1(dir, `${profile}.pem`);
    const objects = [...asn1.matchAll(/OBJECT\s+:(\S+)/g)].map((m) => m[1]);
    expect(objects).toEqual([
      '1.3.6.1.5.5.7.11.2', // pkixQCSyntax-v2
      '0.4.0.194121.1.1', //     semanticsId-Natural
      '0.4.0.1862.1.1', // QcCompliance
      '0.4.0.1862.1.7', // QcCClegislation
      '0.4.0.1862.1.4', // QcSSCD
      '0.4.0.1862.1.6', // QcType
      '0.4.0.1862.1.6.1', //     esign
      '0.4.0.1862.1.5', // QcPDS
    ]);
    expect(asn1).toMatch(/PRINTABLESTRING\s+:AZ/);
    expect(asn1).toMatch(/IA5STRING\s+:http:\/\/localhost:8080\/pds\/en\.pdf/);
    expect(asn1).toMatch(/PRINTABLESTRING\s+:en/);
  });

  it('issues the OCSP signer: OCSPSigning, ocsp-nocheck, caIssuers only, no CDP, no policies', () => {
    const verified = openssl(dir, 'verify', '-x509_strict', '-purpose', 'ocsphelper', '-CAfile', 'root.pem', '-untrusted', 'eimza.pem', 'ocsp-signer.pem');
    expect(verified).toContain('ocsp-signer.pem: OK');
    const certificate = text(dir, 'ocsp-signer.pem');
    expect(certificate).toContain('Subject: C=AZ,O=e-imza,CN=e-imza eimza CA OCSP Responder\n');
    expect(extensionLine(certificate, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical | Digital Signature');
    expect(extensionLine(certificate, 'X509v3 Extended Key Usage')).toBe('X509v3 Extended Key Usage: | OCSP Signing');
    expect(certificate).toContain('OCSP No Check');
    expect(certificate).toContain('CA Issuers - URI:http://localhost:8080/ca/eimza.crt');
    expect(certificate).not.toMatch(/OCSP - URI|CRL Distribution Points|Certificate Policies|Basic Constraints/);
  });

  it('ignores what a CSR asks for: a CSR requesting a CA certificate gets exactly the signature profile', async () => {
    const keyArgs = hierarchy.kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    openssl(dir, 'req', '-new', ...keyArgs, '-nodes', '-keyout', 'greedy.key', '-subj', '/CN=Greedy/O=Wants a CA',
      '-addext', 'keyUsage=critical,keyCertSign', '-addext', 'basicConstraints=critical,CA:TRUE', '-out', 'greedy.csr');
    const csr = parseCsr(readFileSync(path.join(dir, 'greedy.csr'), 'utf8'), checkKeyPolicy);
    const spec = specFor('signature', { caName: 'eimza', subjectKey: hierarchy.kind, holder: CITIZEN });
    writeFileSync(path.join(dir, 'greedy.pem'), pemEncode('CERTIFICATE', await issue(issuingCas.eimza!, csr.subjectPublicKeyInfo, 'signature', spec)));
    expect(openssl(dir, 'verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'eimza.pem', 'greedy.pem')).toContain('greedy.pem: OK');
    const certificate = text(dir, 'greedy.pem');
    expect(extensionLine(certificate, 'X509v3 Key Usage')).toBe('X509v3 Key Usage: critical | Non Repudiation');
    expect(certificate).toContain(`Subject: ${PERSON_SUBJECT}\n`);
    expect(certificate).not.toMatch(/Greedy|Wants a CA|Basic Constraints|Certificate Sign/);
    expect(inspectCertificate(readDer(path.join(dir, 'greedy.pem'))).isCa).toBe(false);
  });
});
