import type { Provenance } from '../domain/certificate.js';
import type { Holder } from '../domain/holder.js';
import type { Serial } from '../domain/serial.js';
import { CaError } from '../errors.js';
import { checkKeyPolicy } from '../policy/key-policy.js';
import { createHash, randomInt } from 'node:crypto';
import { isKeyCertified } from '../store/certificates.js';
import { END_ENTITY_PROFILES, buildCertificateSpec, crlScopeFor, getProfile, type ProfileId } from '../policy/profiles.js';
import { parseCsrAsync } from '../x509/csr.js';
import { describePublicKey, type PublicKeyDescription } from '../x509/public-key.js';
import { pemEncode } from '../x509/pem.js';
import type { CaDeps } from './deps.js';
import { issuerOf } from './issuer.js';
import { recordAndSign, type HolderIdentity } from './record-and-sign.js';

export interface IssueRequest {
  profile: string;
  /**
   * PKCS#10, PEM or DER (only its public key is used, its signature checked); or a public key
   * whose possession the caller has proved otherwise (a CRMF POPO signature, RFC 4211 §4.1).
   */
  csr: string | Uint8Array | { provenPublicKey: Uint8Array };
  holder: Holder;
  /** Validity in days; defaults to the profile's. */
  days?: number;
  /** Whether the key lives on a card or SIM (QcSSCD); defaults to false. */
  keyOnSecureDevice?: boolean;
  actor: string;
  provenance?: Provenance;
  /** Refuse a key another certificate already certifies (profiles.md: one purpose, one key pair). */
  refuseKnownKey?: boolean;
}

export interface IssuedCertificate {
  serial: Serial;
  der: Uint8Array;
  pem: string;
  /** PEM of the issuing CA's certificate and its parents, up to the root. */
  chainPem: string;
}

const MAX_DAYS = 3 * 366;
const DAY_MS = 86_400_000;

/** Issues an end-entity certificate from a CSR, following the issuance cycle in architecture.md. */
export async function issueCertificate(deps: CaDeps, req: IssueRequest): Promise<IssuedCertificate> {
  const profile = getProfile(req.profile);
  if (!(END_ENTITY_PROFILES as readonly string[]).includes(profile.id)) {
    throw new CaError('policyForbids', `profile ${profile.id} is not issued from a CSR`, { code: 'unknownProfile' });
  }
  // The key policy runs inside the parse, before any signature work on the request.
  const csr = await subjectKeyOf(req.csr, deps.settings.keyPolicy);
  const days = validityDays(req.days, profile.defaultValidityDays(deps.settings));
  if (req.refuseKnownKey && (await isKeyCertified(deps.db, createHash('sha256').update(csr.subjectPublicKeyInfo).digest()))) {
    throw new CaError('conflict', 'this public key is already certified by another certificate; generate a new key pair', { code: 'keyAlreadyUsed' });
  }

  // Everything about the request is checked before anything about the CA is looked up.
  const crlScope = crlScopeFor(profile.id as ProfileId, deps.settings, randomInt(2 ** 32) / 2 ** 32);
  const spec = buildCertificateSpec(profile.id as ProfileId, {
    crlScope,
    holder: req.holder,
    settings: deps.settings,
    caName: profile.issuingCa,
    subjectKey: csr.publicKey.kind === 'rsa' ? 'rsa' : 'ec',
    keyOnSecureDevice: req.keyOnSecureDevice ?? false,
  });
  const issuingCa = await deps.cas.get(profile.issuingCa);
  const notBefore = truncateToSecond(deps.clock.now());
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  if (notAfter > issuingCa.certificate.notAfter) {
    throw new CaError('policyForbids', `the certificate would outlive its issuing CA (${issuingCa.certificate.notAfter.toISOString()})`, {
      code: 'validityBeyondCa',
    });
  }

  const { serial, der } = await recordAndSign(deps, {
    issuer: await issuerOf(issuingCa),
    profile: profile.id,
    crlScope,
    subjectSpki: csr.subjectPublicKeyInfo,
    spec,
    notBefore,
    notAfter,
    holder: holderIdentity(req.holder),
    holderSnapshot: req.holder,
    provenance: { keyGeneration: 'holder', ...req.provenance },
    actor: req.actor,
  });
  return {
    serial,
    der,
    pem: pemEncode('CERTIFICATE', der),
    chainPem: issuingCa.chainDer.map((c) => pemEncode('CERTIFICATE', c)).join(''),
  };
}

async function subjectKeyOf(
  request: IssueRequest['csr'],
  keyPolicy: CaDeps['settings']['keyPolicy'],
): Promise<{ subjectPublicKeyInfo: Uint8Array; publicKey: PublicKeyDescription }> {
  if (typeof request === 'string' || request instanceof Uint8Array) return parseCsrAsync(request, (key) => checkKeyPolicy(key, keyPolicy));
  let publicKey: PublicKeyDescription;
  try {
    publicKey = describePublicKey(request.provenPublicKey);
  } catch (cause) {
    throw new CaError('badPublicKey', 'the public key cannot be decoded', { code: 'malformedPublicKey', cause });
  }
  checkKeyPolicy(publicKey, keyPolicy);
  return { subjectPublicKeyInfo: request.provenPublicKey, publicKey };
}

/**
 * The checks issueCertificate makes of a request before any CA work (decoding, key policy, proof
 * of possession), for a caller that must vet several requests before issuing any of them. Returns
 * the SubjectPublicKeyInfo, whose possession is now proven (issue it as `{ provenPublicKey }`
 * rather than parse and verify the CSR again), and its SHA-256, the key's identity in the
 * certificate table.
 */
export async function checkCsr(deps: Pick<CaDeps, 'settings'>, csr: string | Uint8Array): Promise<{ subjectPublicKeyInfo: Uint8Array; spkiSha256: Uint8Array }> {
  const parsed = await parseCsrAsync(csr, (key) => checkKeyPolicy(key, deps.settings.keyPolicy));
  return { subjectPublicKeyInfo: parsed.subjectPublicKeyInfo, spkiSha256: createHash('sha256').update(parsed.subjectPublicKeyInfo).digest() };
}

function validityDays(requested: number | undefined, profileDefault: number): number {
  const days = requested ?? profileDefault;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new CaError('malformed', `validity must be a whole number of days from 1 to ${MAX_DAYS}`, { code: 'invalidValidity' });
  }
  return days;
}

/** The stable identity a certificate points at (profiles.md: "keep an internal stable subject id"). */
function holderIdentity(h: Holder): HolderIdentity | null {
  if (h.fin) {
    return { identityKey: `fin:${h.fin.toUpperCase()}`, kind: 'person', displayName: `${h.givenName ?? ''} ${h.surname ?? ''}`.trim() };
  }
  if (h.memberCode) {
    return { identityKey: `member:${h.memberCode}`, kind: 'member', displayName: h.memberName ?? h.memberCode };
  }
  return null;
}

export function truncateToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
