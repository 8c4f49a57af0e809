import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import { checkCsr } from '../ca/issue.js';
import { getCertificate } from '../ca/queries.js';
import { changeCertificateStatus } from '../ca/status.js';
import { nextApplicationState, type ApplicationRecord, type CertificateType, type IdDocument, type IdDocumentType } from '../domain/application.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { MobileIdRecord } from '../domain/mobile-id.js';
import type { StatusAction } from '../domain/status.js';
import { CaError, isCaError, isTransient } from '../errors.js';
import { validateIdDocument } from '../policy/applicants.js';
import {
  ACTIVATION_CODE_DIGITS,
  ACTIVATION_CODE_MAX_FAILURES,
  ACTIVATION_CODE_TTL_MS,
  validateIccid,
  validateMsisdn,
} from '../policy/mobile.js';
import type { Permission } from '../policy/roles.js';
import { findApplication, insertApplicationEvent, listApplicationCertificates, updateApplication } from '../store/applications.js';
import { isKeyCertified } from '../store/certificates.js';
import {
  findCurrentMobileId,
  findLatestMobileId,
  findMobileId,
  insertMobileId,
  listMobileIdsOfApplication,
  updateMobileId,
} from '../store/mobile-ids.js';
import { inTransaction } from '../store/transaction.js';
import { pemEncode } from '../x509/pem.js';
import { actorOf, assertOffice, authorize, type Principal } from './access.js';
import { parseApplicationId } from './applications.js';
import type { RaDeps } from './deps.js';
import { issueApprovedApplication } from './issuance.js';

/**
 * Mobile-ID (issue 5): a clerk enrols the SIM of an approved mobile-ID application; the holder's
 * phone activates it with a one-time code, sending one CSR per key generated on the SIM, and gets
 * an authentication and a signature certificate from the mobile-ID CA; desks then suspend,
 * restore or revoke the pair together. The code is a secret: 8 digits from the CSPRNG, only its
 * SHA-256 is stored, it is sent after commit and never stored, logged or answered.
 */

/** Issued in this order; the application's types (src/policy/products.ts) and the request fields. */
const PAIR: readonly { type: CertificateType; field: 'authenticationCsr' | 'signatureCsr' }[] = [
  { type: 'authentication', field: 'authenticationCsr' },
  { type: 'signature', field: 'signatureCsr' },
];

export interface CodeDelivery {
  sms: boolean;
  email: boolean;
}

export interface Enrolment {
  mobileId: MobileIdRecord;
  /** Which channels accepted the activation code (at least one, or the call failed with 503). */
  delivery: CodeDelivery;
}

export interface EnrolInput {
  msisdn: string;
  iccid: string;
  /** SIM replacement: supersede the holder's enrolment of this MSISDN (its certificates revoked as superseded). */
  replace?: boolean | undefined;
}

/**
 * Binds a SIM to an approved mobile-ID application and sends the holder an activation code. With
 * `replace`, the MSISDN's current enrolment (the same holder's only) and any other pending
 * enrolment of this application are superseded: an active one's certificates are revoked
 * (superseded) through the CA core first, each on its own, so a repeat after a failure goes on
 * where it stopped; then, in one transaction, they become `replaced` and the new one `pending`.
 */
export async function enrolMobileId(ra: RaDeps, p: Principal, applicationId: string, input: EnrolInput): Promise<Enrolment> {
  authorize(p, 'application.issue');
  const msisdn = validateMsisdn(input.msisdn);
  const iccid = validateIccid(input.iccid);
  const id = parseApplicationId(applicationId);
  // Read before any transaction: on the embedded database a read outside one would wait for it.
  const application = await findApplication(ra.ca.db, id);
  if (!application) throw applicationNotFound(applicationId);
  assertOffice(p, application.officeCode);
  assertEnrollable(application);
  if ((await listApplicationCertificates(ra.ca.db, id)).length > 0) throw certificatesIssued();
  const superseded = await enrolmentsToSupersede(ra, application, msisdn, input.replace === true);
  const actor = actorOf(p);
  for (const old of superseded) {
    if (old.state === 'active') await changePair(ra, old, 'revoke', { actor, reason: 'superseded', comment: JSON.stringify({ request: 'SIM replacement', office: p.officeCode, mobileId: old.id, by: id }) });
  }

  const code = newActivationCode();
  const now = ra.ca.clock.now();
  const mobileIdId = randomUUID();
  const record: MobileIdRecord = {
    id: mobileIdId,
    applicationId: id,
    fin: application.applicant.fin,
    msisdn,
    iccid,
    state: 'pending',
    activationCodeSha256: codeDigest(ra, mobileIdId, code),
    activationExpiresAt: new Date(now.getTime() + ACTIVATION_CODE_TTL_MS),
    failedAttempts: 0,
    authenticationSerial: null,
    signatureSerial: null,
    createdAt: now,
    createdBy: p.id,
    activatedAt: null,
  };
  try {
    await inTransaction(ra.ca.db, async ({ tx }) => {
      const a = await findApplication(tx, id, true);
      if (!a) throw applicationNotFound(applicationId);
      assertEnrollable(a);
      if ((await listApplicationCertificates(tx, id)).length > 0) throw certificatesIssued();
      const open = await listMobileIdsOfApplication(tx, id, ['pending', 'active']);
      if (open.some((m) => !superseded.some((s) => s.id === m.id))) throw changedMeanwhile();
      for (const old of superseded) {
        const locked = await findMobileId(tx, old.id, true);
        if (!locked || locked.state !== old.state) throw changedMeanwhile();
        await updateMobileId(tx, old.id, { state: 'replaced', activationCodeSha256: null, activationExpiresAt: null });
      }
      await insertMobileId(tx, record);
      await insertApplicationEvent(tx, id, {
        occurredAt: now,
        actor,
        action: 'mobile-id.enrol',
        fromState: a.state,
        toState: a.state,
        details: { mobileId: record.id, msisdn, iccid, ...(superseded.length ? { replaced: superseded.map((s) => s.id) } : {}) },
      });
      await appendAudit(tx, ra.ca.clock, [
        ...superseded.map((old) => ({ actor, action: 'mobileId.replaced', details: { id: old.id, msisdn: old.msisdn, by: record.id } })),
        { actor, action: 'mobileId.enrolled', details: { id: record.id, application: id, msisdn, iccid, office: p.officeCode } },
      ]);
    });
  } catch (e) {
    // The partial unique index mobile_id_one_per_msisdn: another desk enrolled this number meanwhile.
    if (isCaError(e) && e.code === 'duplicate') throw new CaError('conflict', `${msisdn} already has a mobile-ID being enrolled`, { code: 'msisdnInUse', cause: e });
    throw e;
  }
  return { mobileId: record, delivery: await deliverCode(ra, application, record, code) };
}

/**
 * What a new enrolment of `msisdn` for `application` supersedes: the number's current enrolment
 * (with `replace` and the same holder only), any open one of the application (with `replace`),
 * and a pending one whose application was cancelled or rejected (it can never be activated, so it
 * does not hold the number).
 */
async function enrolmentsToSupersede(ra: RaDeps, application: ApplicationRecord, msisdn: string, replace: boolean): Promise<MobileIdRecord[]> {
  let current = await findCurrentMobileId(ra.ca.db, msisdn);
  const others = (await listMobileIdsOfApplication(ra.ca.db, application.id, ['pending', 'active'])).filter((m) => m.id !== current?.id);
  if (current?.state === 'pending' && current.applicationId !== application.id && (await findApplication(ra.ca.db, current.applicationId))?.state !== 'approved') {
    others.push(current);
    current = null;
  }
  if (current && !replace) {
    throw new CaError('conflict', `${msisdn} already has a mobile-ID ${current.state === 'active' ? 'in use' : 'being enrolled'}; a new SIM of its holder replaces it with replace: true`, {
      code: 'msisdnInUse',
    });
  }
  if (current && current.fin !== application.applicant.fin) {
    throw new CaError('conflict', `${msisdn} is enrolled for another holder; that holder's mobile-ID must be revoked first`, { code: 'msisdnOfAnotherHolder' });
  }
  const own = others.find((m) => m.applicationId === application.id);
  if (own && !replace) {
    throw new CaError('conflict', `this application already has a SIM being enrolled (${own.msisdn}); replace: true supersedes it`, { code: 'mobileIdInProgress' });
  }
  return [...(current ? [current] : []), ...others];
}

/** A fresh activation code for a pending enrolment (the first did not arrive, or ran out): the old one stops working. */
export async function renewActivationCode(ra: RaDeps, p: Principal, mobileIdRef: string): Promise<Enrolment> {
  authorize(p, 'application.issue');
  const row = await getMobileIdRow(ra, mobileIdRef);
  const application = await findApplication(ra.ca.db, row.applicationId);
  if (!application) throw applicationNotFound(row.applicationId);
  assertOffice(p, application.officeCode);
  assertRenewable(row);
  assertEnrollable(application);
  const code = newActivationCode();
  const now = ra.ca.clock.now();
  const change = { activationCodeSha256: codeDigest(ra, row.id, code), activationExpiresAt: new Date(now.getTime() + ACTIVATION_CODE_TTL_MS), failedAttempts: 0 };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    const locked = await findMobileId(tx, row.id, true);
    if (!locked) throw mobileIdNotFound(mobileIdRef);
    assertRenewable(locked);
    await updateMobileId(tx, row.id, change);
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: 'mobileId.codeRenewed', details: { id: row.id } }]);
  });
  const renewed: MobileIdRecord = { ...row, ...change };
  return { mobileId: renewed, delivery: await deliverCode(ra, application, renewed, code) };
}

export interface ActivationInput {
  msisdn: string;
  activationCode: string;
  authenticationCsr: string;
  signatureCsr: string;
}

export interface IssuedPem {
  serial: string;
  pem: string;
}

export interface Activation {
  mobileId: MobileIdRecord;
  authentication: IssuedPem;
  signature: IssuedPem;
  chainPem: string;
}

/**
 * The SIM activates its enrolment. Order: the code (a wrong one counted, the fifth locks the
 * enrolment), then both CSRs (decoding, key policy, proof of possession, two different keys, no
 * key another certificate has), and only then issuance of the authentication and then the
 * signature certificate through the application, so a bad request issues nothing and leaves the
 * code usable. Should the second issuance fail (the HSM, the database), the first certificate
 * stays with the application and the enrolment stays pending: the same request again issues the
 * missing one. The enrolment becomes active, with both serials, in one transaction with the
 * application's completion (the SIM is in the holder's hands: handed over).
 */
export async function activateMobileId(ra: RaDeps, input: ActivationInput): Promise<Activation> {
  const msisdn = validateMsisdn(input.msisdn);
  const actor = `mobile-id:${msisdn}`;
  const row = await checkActivationCode(ra, msisdn, input.activationCode.replace(/\s+/g, ''), actor);
  const application = await findApplication(ra.ca.db, row.applicationId);
  if (!application) throw applicationNotFound(row.applicationId);
  if (application.state !== 'approved') {
    throw new CaError('invalidTransition', `the application of this enrolment is ${application.state}; start again at a desk`, { code: 'applicationNotApproved' });
  }

  const keys = new Map<CertificateType, Uint8Array>();
  for (const { type, field } of PAIR) keys.set(type, (await checkField(field, () => checkCsr(ra.ca, input[field]))).spkiSha256);
  if (Buffer.from(keys.get('authentication')!).equals(keys.get('signature')!)) {
    throw new CaError('conflict', 'the authentication and the signature certificate need two different key pairs', { code: 'keyAlreadyUsed' });
  }
  // A type issued by an earlier attempt with this same key is taken as it is (see above).
  const claimed = await listApplicationCertificates(ra.ca.db, application.id);
  const earlier = new Map<CertificateType, CertificateRecord>();
  for (const { type, field } of PAIR) {
    const done = claimed.find((c) => c.type === type && c.serial);
    const key = keys.get(type)!;
    if (done) {
      const record = await getCertificate(ra.ca, done.serial!);
      if (!Buffer.from(record.spkiSha256).equals(key)) {
        throw new CaError('conflict', `the ${type} certificate of this enrolment was issued for another key`, { code: 'certificateAlreadyIssued' });
      }
      earlier.set(type, record);
    } else if (await isKeyCertified(ra.ca.db, key)) {
      throw new CaError('conflict', `${field}: this public key is already certified by another certificate; generate a new key pair`, { code: 'keyAlreadyUsed' });
    }
  }

  const issued = new Map<CertificateType, IssuedPem>();
  let chainPem: string | null = null;
  for (const { type, field } of PAIR) {
    const before = earlier.get(type);
    if (before?.der) {
      issued.set(type, { serial: before.serial, pem: pemEncode('CERTIFICATE', before.der) });
      continue;
    }
    const { issued: cert } = await checkField(field, () =>
      issueApprovedApplication(ra, { actor, operator: row.createdBy }, application.id, { type, csr: input[field] }),
    );
    issued.set(type, { serial: cert.serial, pem: cert.pem });
    chainPem = cert.chainPem;
  }
  chainPem ??= await chainOf(ra, earlier.get('authentication')!.caName);

  const now = ra.ca.clock.now();
  const active: MobileIdRecord = {
    ...row,
    state: 'active',
    authenticationSerial: issued.get('authentication')!.serial,
    signatureSerial: issued.get('signature')!.serial,
    activatedAt: now,
    activationCodeSha256: null,
    activationExpiresAt: null,
  };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    const locked = await findMobileId(tx, row.id, true);
    // Wrong codes sent while this request, which had the right one, was issuing may have locked it: the holder was first.
    if (!locked || (locked.state !== 'pending' && locked.state !== 'locked')) throw changedMeanwhile();
    await updateMobileId(tx, row.id, {
      state: 'active',
      authenticationSerial: active.authenticationSerial,
      signatureSerial: active.signatureSerial,
      activatedAt: now,
      activationCodeSha256: null,
      activationExpiresAt: null,
    });
    const a = (await findApplication(tx, application.id, true))!;
    const details = { mobileId: row.id, msisdn };
    const audit = [];
    // approved -> issued -> handed-over: both certificates are on the SIM the holder took home.
    for (const action of ['complete', 'handover'] as const) {
      const to = nextApplicationState(a.state, action);
      if (!to) continue;
      await insertApplicationEvent(tx, a.id, { occurredAt: now, actor, action, fromState: a.state, toState: to, details });
      audit.push({ actor, action: `application.${to}`, details: { id: a.id, from: a.state, to, ...details } });
      a.state = to;
    }
    a.updatedAt = now;
    await updateApplication(tx, a);
    await appendAudit(tx, ra.ca.clock, [
      { actor, action: 'mobileId.activated', details: { id: row.id, application: a.id, authentication: active.authenticationSerial, signature: active.signatureSerial } },
      ...audit,
    ]);
  });
  return { mobileId: active, authentication: issued.get('authentication')!, signature: issued.get('signature')!, chainPem };
}

/**
 * Checks the code against the MSISDN's enrolment, in a transaction holding its row, so parallel
 * guesses are counted one by one. A wrong code is counted (and the count committed) before the
 * refusal; the fifth locks the enrolment. The digests are compared in constant time.
 */
async function checkActivationCode(ra: RaDeps, msisdn: string, code: string, actor: string): Promise<MobileIdRecord> {
  const now = ra.ca.clock.now();
  const outcome = await inTransaction(ra.ca.db, async ({ tx }) => {
    const row = await findLatestMobileId(tx, msisdn, true);
    if (!row) return { kind: 'unknown' as const };
    if (row.state === 'locked') return { kind: 'locked' as const };
    if (row.state === 'active') return { kind: 'active' as const };
    if (!row.activationCodeSha256 || !row.activationExpiresAt) return { kind: 'unknown' as const };
    if (row.activationExpiresAt.getTime() <= now.getTime()) return { kind: 'expired' as const };
    if (timingSafeEqual(codeDigest(ra, row.id, code), row.activationCodeSha256)) return { kind: 'ok' as const, row };
    const failures = row.failedAttempts + 1;
    const lock = failures >= ACTIVATION_CODE_MAX_FAILURES;
    await updateMobileId(tx, row.id, { failedAttempts: failures, ...(lock ? { state: 'locked' as const, activationCodeSha256: null, activationExpiresAt: null } : {}) });
    await appendAudit(tx, ra.ca.clock, [{ actor, action: lock ? 'mobileId.locked' : 'mobileId.wrongCode', details: { id: row.id, failures } }]);
    return { kind: 'wrong' as const, left: ACTIVATION_CODE_MAX_FAILURES - failures };
  });
  switch (outcome.kind) {
    case 'ok':
      return outcome.row;
    case 'locked':
      throw new CaError('conflict', 'this enrolment is locked after too many wrong codes; the holder enrols again at a desk', { code: 'enrolmentLocked' });
    case 'active':
      throw new CaError('conflict', 'the mobile-ID of this number is already active', { code: 'mobileIdAlreadyActive' });
    case 'expired':
      throw new CaError('unauthorized', 'the activation code has expired; the desk can send a new one', { code: 'activationCodeExpired' });
    case 'wrong':
      throw new CaError(
        'unauthorized',
        outcome.left > 0 ? `wrong activation code; ${outcome.left} more wrong ${outcome.left === 1 ? 'try locks' : 'tries lock'} the enrolment` : 'wrong activation code; the enrolment is now locked',
        { code: 'wrongActivationCode' },
      );
    case 'unknown':
      // No enrolment waiting for this number: the same answer as a wrong code, so numbers cannot be probed.
      throw new CaError('unauthorized', 'wrong activation code', { code: 'wrongActivationCode' });
  }
}

const PERMISSION: Record<StatusAction, Permission> = { suspend: 'certificate.suspend', restore: 'certificate.restore', revoke: 'certificate.revoke' };

export interface PairRequest {
  idDocument?: { type: IdDocumentType; number: string } | undefined;
  reason?: string | undefined;
  invalidityDate?: Date | undefined;
  comment?: string | undefined;
}

export interface PairChange {
  mobileId: MobileIdRecord;
  certificates: CertificateRecord[];
}

/**
 * Suspends, restores or revokes both certificates of an active mobile-ID (the holder's request at
 * any desk, as for a card: suspend by any desk role, restore with the identity document checked
 * and revoke by a supervisor), each through the CA core. A certificate already in the asked state
 * is left as it is, so a repeat after a failure finishes the pair. Revoking makes it `revoked`.
 */
export async function changeMobileIdStatus(ra: RaDeps, p: Principal, mobileIdRef: string, action: StatusAction, req: PairRequest): Promise<PairChange> {
  authorize(p, PERMISSION[action]);
  const checked: IdDocument | null = req.idDocument ? validateIdDocument(req.idDocument) : null;
  if (action === 'restore' && !checked) {
    throw new CaError('malformed', 'a mobile-ID is restored only with the identity document checked at the desk (idDocument)', { code: 'identityNotChecked' });
  }
  const row = await getMobileIdRow(ra, mobileIdRef);
  if (row.state !== 'active') throw new CaError('invalidTransition', `this mobile-ID is ${row.state}`, { code: 'mobileIdNotActive' });
  const actor = actorOf(p);
  const certificates = await changePair(ra, row, action, {
    actor,
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    ...(req.invalidityDate ? { invalidityDate: req.invalidityDate } : {}),
    comment: JSON.stringify({
      request: 'mobile-ID holder at desk',
      office: p.officeCode,
      mobileId: row.id,
      ...(checked ? { idDocument: checked } : {}),
      ...(req.comment ? { note: req.comment } : {}),
    }),
  });
  if (action !== 'revoke') return { mobileId: row, certificates };
  await inTransaction(ra.ca.db, async ({ tx }) => {
    const locked = await findMobileId(tx, row.id, true);
    if (locked?.state !== 'active') return;
    await updateMobileId(tx, row.id, { state: 'revoked' });
    await appendAudit(tx, ra.ca.clock, [{ actor, action: 'mobileId.revoked', details: { id: row.id, msisdn: row.msisdn, reason: req.reason ?? 'unspecified' } }]);
  });
  return { mobileId: { ...row, state: 'revoked' }, certificates };
}

/**
 * Acts on each certificate of the pair through the CA core. One that is already where the action
 * leads (or expired) is left as it is; when neither changes, suspend and restore are refused as for
 * one certificate, while revoke goes on (a repeat after a failure finishes the enrolment's state).
 */
async function changePair(
  ra: RaDeps,
  row: MobileIdRecord,
  action: StatusAction,
  req: { actor: string; reason?: string; invalidityDate?: Date; comment: string },
): Promise<CertificateRecord[]> {
  const serials = [row.authenticationSerial, row.signatureSerial].filter((s): s is string => s !== null);
  const out: CertificateRecord[] = [];
  let changed = 0;
  let refused: CaError | null = null;
  for (const serial of serials) {
    try {
      out.push(await changeCertificateStatus(ra.ca, action, { serial, ...req }));
      changed++;
    } catch (e) {
      if (!(isCaError(e) && e.kind === 'invalidTransition')) throw e;
      refused ??= e;
      out.push(await getCertificate(ra.ca, serial));
    }
  }
  if (changed === 0 && refused && action !== 'revoke') throw refused;
  return out;
}

export interface CurrentPair {
  mobileId: MobileIdRecord;
  authentication: { record: CertificateRecord; pem: string };
  signature: { record: CertificateRecord; pem: string };
  chainPem: string;
}

/** For relying parties: the certificates of the MSISDN's active mobile-ID. */
export async function currentMobileIdCertificates(ra: RaDeps, msisdnInput: string): Promise<CurrentPair> {
  const msisdn = validateMsisdn(msisdnInput);
  const row = await findCurrentMobileId(ra.ca.db, msisdn);
  if (!row || row.state !== 'active' || !row.authenticationSerial || !row.signatureSerial) {
    throw new CaError('notFound', `${msisdn} has no active mobile-ID`, { code: 'mobileIdNotFound' });
  }
  const withPem = async (serial: string) => {
    const record = await getCertificate(ra.ca, serial);
    if (!record.der) throw new CaError('notFound', `${msisdn} has no active mobile-ID`, { code: 'mobileIdNotFound' });
    return { record, pem: pemEncode('CERTIFICATE', record.der) };
  };
  const authentication = await withPem(row.authenticationSerial);
  const signature = await withPem(row.signatureSerial);
  return { mobileId: row, authentication, signature, chainPem: await chainOf(ra, authentication.record.caName) };
}

// ---- helpers ---------------------------------------------------------------------------------

function newActivationCode(): string {
  return randomInt(0, 10 ** ACTIVATION_CODE_DIGITS)
    .toString()
    .padStart(ACTIVATION_CODE_DIGITS, '0');
}

/**
 * Keyed with the enrolment key (a file, not the database) and bound to the enrolment: eight
 * digits are too few to keep from anyone who could read a plain hash, and a digest copied to
 * another enrolment does not match there.
 */
function codeDigest(ra: RaDeps, mobileIdId: string, code: string): Uint8Array {
  return createHmac('sha256', ra.exchange.enrolmentKey).update(`mobile-id:${mobileIdId}:${code}`, 'utf8').digest();
}

/** After commit: the code to the holder's phone and mailbox; neither taking it is a 503 the desk can retry with a fresh code. */
async function deliverCode(ra: RaDeps, application: ApplicationRecord, m: MobileIdRecord, code: string): Promise<CodeDelivery> {
  const delivery = (await ra.activationCodes?.send({
    reference: m.id,
    msisdn: m.msisdn,
    email: application.applicant.email,
    holderName: `${application.applicant.givenName} ${application.applicant.surname}`,
    code,
    expiresAt: m.activationExpiresAt!,
  })) ?? { sms: false, email: false };
  if (!delivery.sms && !delivery.email) {
    throw new CaError('hsmUnavailable', `the activation code of mobile-ID ${m.id} reached the holder neither by SMS nor by e-mail; ask for a new code (POST /api/v1/mobile-id/${m.id}/code)`, {
      code: 'activationCodeNotSent',
    });
  }
  return delivery;
}

function assertEnrollable(a: ApplicationRecord): void {
  if (a.product !== 'mobile-id') throw new CaError('policyForbids', `a SIM is enrolled for a mobile-id application, not a ${a.product} one`, { code: 'notMobileIdApplication' });
  if (a.state !== 'approved') {
    throw new CaError('invalidTransition', `a SIM is enrolled for an approved application; this one is ${a.state}`, { code: 'applicationNotApproved' });
  }
}

function assertRenewable(m: MobileIdRecord): void {
  if (m.state === 'locked') throw new CaError('conflict', 'this enrolment is locked after too many wrong codes; enrol the SIM again', { code: 'enrolmentLocked' });
  if (m.state !== 'pending') throw new CaError('invalidTransition', `a code is sent for a pending enrolment; this one is ${m.state}`, { code: 'mobileIdNotPending' });
}

/** Which request field a refusal is about, in the detail (the code stays the CA's). */
async function checkField<T>(field: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isCaError(e) && e.kind !== 'internal' && !isTransient(e)) throw new CaError(e.kind, `${field}: ${e.detail}`, { code: e.code, cause: e });
    throw e;
  }
}

async function chainOf(ra: RaDeps, caName: string): Promise<string> {
  return (await ra.ca.cas.get(caName)).chainDer.map((c) => pemEncode('CERTIFICATE', c)).join('');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function getMobileIdRow(ra: RaDeps, ref: string): Promise<MobileIdRecord> {
  const row = UUID.test(ref) ? await findMobileId(ra.ca.db, ref.toLowerCase()) : null;
  if (!row) throw mobileIdNotFound(ref);
  return row;
}

function mobileIdNotFound(ref: string): CaError {
  return new CaError('notFound', `no mobile-ID ${ref.slice(0, 40)}`, { code: 'mobileIdNotFound' });
}

function applicationNotFound(id: string): CaError {
  return new CaError('notFound', `no application ${id.slice(0, 40)}`, { code: 'applicationNotFound' });
}

function certificatesIssued(): CaError {
  return new CaError('invalidTransition', 'certificates of this application were issued at the desk; a SIM is enrolled before any', { code: 'certificatesIssued' });
}

function changedMeanwhile(): CaError {
  return new CaError('conflict', 'the mobile-ID enrolment changed meanwhile; try again', { code: 'concurrentChange' });
}
