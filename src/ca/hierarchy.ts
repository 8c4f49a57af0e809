import { randomBytes } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { CaError } from '../errors.js';
import { buildCertificateSpec, getProfile, type ProfileId } from '../policy/profiles.js';
import type { KeyAlgorithm, Signer } from '../signing/types.js';
import { insertCa, setOcspSigner } from '../store/cas.js';
import { deleteOcspResponsesOfCa } from '../store/ocsp-responses.js';
import { notifyResponderChanged } from '../store/status-notifications.js';
import { inTransaction } from '../store/transaction.js';
import { encodeName } from '../x509/names.js';
import type { CaDeps } from './deps.js';
import { truncateToSecond } from './issue.js';
import { issuerOf } from './issuer.js';
import { recordAndSign, type Issuer } from './record-and-sign.js';

/** The demo hierarchy of profiles.md: one root, three issuing CAs, each with its OCSP signer. */
export const ISSUING_CAS = [
  { name: 'eimza', commonName: 'e-imza CA' },
  { name: 'mobile', commonName: 'e-imza Mobile-ID CA' },
  { name: 'portal', commonName: 'e-imza Portal CA' },
] as const;
export const ROOT_CA = { name: 'root', commonName: 'e-imza Root CA' } as const;

export interface InitOptions {
  rootAlgorithm: KeyAlgorithm;
  issuingAlgorithm: KeyAlgorithm;
  actor: string;
  onProgress?: (step: string) => void;
}

export interface InitResult {
  cas: { name: string; serial: string; ocspSignerSerial: string | null }[];
}

const DAY_MS = 86_400_000;

export async function initHierarchy(deps: CaDeps, opts: InitOptions): Promise<InitResult> {
  if (!(await deps.cas.isEmpty())) {
    throw new CaError('conflict', 'the CA hierarchy already exists', { code: 'caAlreadyInitialized' });
  }
  const result: InitResult = { cas: [] };

  opts.onProgress?.(`root CA key (${describe(opts.rootAlgorithm)})`);
  const rootSigner = await deps.keys.generateKey(keyLabel(ROOT_CA.name), opts.rootAlgorithm);
  const root = await signCaCertificate(deps, 'root-ca', 'self-signed', rootSigner, ROOT_CA.commonName, opts.actor);
  await recordCa(deps, { name: ROOT_CA.name, kind: 'root', parentName: null, keyUri: rootSigner.keyUri, serial: root.serial }, opts.actor);
  await deps.cas.reload();
  // The issuing CA certificates carry an OCSP URL too (profiles.md: "Issuing CAs need OCSP too"):
  // the root answers through a delegated responder, so its own key stays offline.
  opts.onProgress?.('root OCSP signer');
  const rootOcsp = await issueOcspSigner(deps, ROOT_CA.name, opts.rootAlgorithm, opts.actor);
  result.cas.push({ name: ROOT_CA.name, serial: root.serial, ocspSignerSerial: rootOcsp.serial });

  for (const spec of ISSUING_CAS) {
    opts.onProgress?.(`${spec.name} CA key (${describe(opts.issuingAlgorithm)})`);
    const signer = await deps.keys.generateKey(keyLabel(spec.name), opts.issuingAlgorithm);
    const cert = await signCaCertificate(deps, 'issuing-ca', await issuerOf(await deps.cas.get(ROOT_CA.name)), signer, spec.commonName, opts.actor);
    await recordCa(deps, { name: spec.name, kind: 'issuing', parentName: ROOT_CA.name, keyUri: signer.keyUri, serial: cert.serial }, opts.actor);
    await deps.cas.reload();
    opts.onProgress?.(`${spec.name} OCSP signer`);
    const ocsp = await issueOcspSigner(deps, spec.name, opts.issuingAlgorithm, opts.actor);
    result.cas.push({ name: spec.name, serial: cert.serial, ocspSignerSerial: ocsp.serial });
  }
  await deps.cas.reload();
  return result;
}

/** A delegated OCSP responder certificate for one issuing CA (RFC 6960 §4.2.2.2). */
export async function issueOcspSigner(deps: CaDeps, caName: string, algorithm: KeyAlgorithm, actor: string) {
  const ca = await deps.cas.get(caName);
  const signer = await deps.keys.generateKey(keyLabel(`${caName}-ocsp`), algorithm);
  const commonName = `${ca.certificate.subjectCommonName ?? caName} OCSP Responder`;
  const cert = await signCaCertificate(deps, 'ocsp-signer', await issuerOf(ca), signer, commonName, actor);
  await inTransaction(deps.db, async ({ tx }) => {
    await setOcspSigner(tx, caName, signer.keyUri, cert.serial);
    // Answers signed by a previous responder key would not match the new certificate: they go, and
    // are signed again on demand; every node hears of it at commit.
    await deleteOcspResponsesOfCa(tx, caName);
    await notifyResponderChanged(tx, caName);
    await appendAudit(tx, deps.clock, [{ actor, action: 'ca.ocspSignerSet', caName, serial: cert.serial, details: {} }]);
  });
  await deps.cas.reload();
  return cert;
}

export async function signCaCertificate(
  deps: CaDeps,
  profileId: ProfileId,
  issuedBy: Issuer | 'self-signed',
  subjectKey: Signer,
  commonName: string,
  actor: string,
) {
  const profile = getProfile(profileId);
  const caName = issuedBy === 'self-signed' ? ROOT_CA.name : issuedBy.caName;
  const spec = buildCertificateSpec(profileId, {
    holder: {},
    settings: deps.settings,
    caName,
    subjectKey: subjectKey.algorithm.kind,
    keyOnSecureDevice: deps.keys.defaultBackend === 'pkcs11',
    commonName,
  });
  // A root names itself as issuer: the very subject the profile built.
  const issuer: Issuer =
    issuedBy === 'self-signed'
      ? { caName, nameDer: encodeName(spec.subject), spki: subjectKey.publicKeySpki, signer: subjectKey }
      : issuedBy;
  const notBefore = truncateToSecond(deps.clock.now());
  const notAfter = new Date(notBefore.getTime() + profile.defaultValidityDays(deps.settings) * DAY_MS);
  return recordAndSign(deps, {
    issuer,
    profile: profileId,
    subjectSpki: subjectKey.publicKeySpki,
    spec,
    notBefore,
    notAfter,
    holder: null,
    holderSnapshot: null,
    provenance: { keyGeneration: 'hsm' },
    actor,
    auditDetails: { keyUri: subjectKey.keyUri },
  });
}

async function recordCa(
  deps: CaDeps,
  ca: { name: string; kind: 'root' | 'issuing'; parentName: string | null; keyUri: string; serial: string },
  actor: string,
): Promise<void> {
  await inTransaction(deps.db, async ({ tx }) => {
    await insertCa(tx, {
      name: ca.name,
      kind: ca.kind,
      parentName: ca.parentName,
      keyUri: ca.keyUri,
      certificateSerial: ca.serial,
      ocspKeyUri: null,
      ocspCertificateSerial: null,
      createdAt: deps.clock.now(),
    });
    await appendAudit(tx, deps.clock, [
      { actor, action: 'ca.created', caName: ca.name, serial: ca.serial, details: { kind: ca.kind, parent: ca.parentName, keyUri: ca.keyUri } },
    ]);
  });
}

/** Labels are unique per ceremony so a re-run never confuses an old key with a new one. */
export function keyLabel(name: string): string {
  return `${name}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
}

function describe(a: KeyAlgorithm): string {
  return a.kind === 'rsa' ? `RSA ${a.bits}` : `ECDSA ${a.curve}`;
}
