import { appendAudit } from '../audit/log.js';
import { issueCertificate, type IssuedCertificate } from '../ca/issue.js';
import type { CertificateType } from '../domain/application.js';
import { CaError } from '../errors.js';
import { holderOf } from '../policy/applicants.js';
import { profileFor, requiredTypes } from '../policy/products.js';
import {
  claimCertificateType,
  completeClaim,
  findApplication,
  insertApplicationEvent,
  listApplicationCertificates,
  releaseClaim,
  updateApplication,
} from '../store/applications.js';
import { inTransaction } from '../store/transaction.js';
import { actorOf, assertOffice, authorize, type Principal } from './access.js';
import type { RaDeps } from './deps.js';
import { officeOfApplication, parseApplicationId, transition } from './applications.js';

export interface ApplicationCertificateRequest {
  type: CertificateType;
  csr: string | Uint8Array;
  /** The card the key pair was generated on (its PKCS#11 token serial) and the chip batch. */
  card?: { serialNumber: string; batch?: string | undefined } | undefined;
}

const YEAR_DAYS = 365;

/**
 * Issues one certificate of an approved application through the CA core. The type is claimed
 * first (so two desks cannot both issue it), the CA records and signs, then the claim is completed;
 * when the last type of the product is issued the application becomes `issued` and the holder is
 * told it is ready for pickup.
 */
export async function issueForApplication(ra: RaDeps, p: Principal, id: string, req: ApplicationCertificateRequest): Promise<IssuedCertificate> {
  authorize(p, 'application.issue');
  const { issued, complete } = await issueApprovedApplication(ra, { actor: actorOf(p), operator: p.id }, id, req, p);
  if (complete) await completeApplication(ra, p, id);
  return issued;
}

/** Who issues: the audit actor, and the operator the certificate's provenance names (who answers for the identity check). */
export interface IssuingParty {
  actor: string;
  operator: string;
}

/**
 * The authorization-free core of issuance for an application (the caller has decided who may):
 * claim the type, issue through the CA, complete the claim with its history entry and audit event.
 * `principalForScope`, when given, limits it to that principal's office. `complete` says whether
 * every type of the product now has its certificate; moving the application on is the caller's.
 */
export async function issueApprovedApplication(
  ra: RaDeps,
  by: IssuingParty,
  id: string,
  req: ApplicationCertificateRequest,
  principalForScope?: Principal,
): Promise<{ issued: IssuedCertificate; complete: boolean }> {
  const applicationId = parseApplicationId(id);
  const card = req.card ? normaliseCard(req.card) : null;
  const now = ra.ca.clock.now();
  const application = await inTransaction(ra.ca.db, async ({ tx }) => {
    const a = await findApplication(tx, applicationId, true);
    if (!a) throw new CaError('notFound', `no application ${id}`, { code: 'applicationNotFound' });
    if (principalForScope) assertOffice(principalForScope, a.officeCode);
    if (a.state !== 'approved') {
      throw new CaError('invalidTransition', `certificates are issued for approved applications; this one is ${a.state}`, { code: 'applicationNotApproved' });
    }
    profileFor(a.product, req.type);
    if (card && a.card && (card.serialNumber !== a.card.serialNumber || (card.batch ?? null) !== (a.card.batch ?? null))) {
      throw new CaError('conflict', `this application's certificates go on card ${a.card.serialNumber}`, { code: 'cardMismatch' });
    }
    if (!(await claimCertificateType(tx, a.id, req.type, now, new Date(now.getTime() - ra.staleAfterMs)))) {
      throw new CaError('conflict', `the ${req.type} certificate of this application is already issued`, { code: 'certificateAlreadyIssued' });
    }
    return a;
  });

  let issued: IssuedCertificate;
  try {
    issued = await issueCertificate(ra.ca, {
      profile: profileFor(application.product, req.type),
      csr: req.csr,
      holder: holderOf(application.applicant),
      days: application.validityYears * YEAR_DAYS,
      // Every carrier sold (card, USB token, SIM) is a secure device that generates the key inside.
      keyOnSecureDevice: true,
      actor: by.actor,
      provenance: {
        officeCode: application.officeCode,
        operator: by.operator,
        ...((card?.batch ?? application.card?.batch) ? { batch: (card?.batch ?? application.card?.batch)! } : {}),
        keyGeneration: application.carrier,
      },
      refuseKnownKey: true,
    });
  } catch (e) {
    await inTransaction(ra.ca.db, ({ tx }) => releaseClaim(tx, application.id, req.type));
    throw e;
  }

  const complete = await inTransaction(ra.ca.db, async ({ tx }) => {
    await completeClaim(tx, application.id, req.type, issued.serial);
    const a = (await findApplication(tx, application.id, true))!;
    if (card && !a.card) {
      a.card = { serialNumber: card.serialNumber, batch: card.batch ?? null };
      a.updatedAt = now;
      await updateApplication(tx, a);
    }
    await insertApplicationEvent(tx, a.id, {
      occurredAt: ra.ca.clock.now(),
      actor: by.actor,
      action: 'certificate',
      fromState: a.state,
      toState: a.state,
      details: { type: req.type, serial: issued.serial, ...(card ? { card: card.serialNumber } : {}) },
    });
    await appendAudit(tx, ra.ca.clock, [
      { actor: by.actor, action: 'application.certificateIssued', serial: issued.serial, details: { id: a.id, type: req.type } },
    ]);
    const done = await listApplicationCertificates(tx, a.id);
    return requiredTypes(a.product).every((t) => done.some((c) => c.type === t && c.serial));
  });
  return { issued, complete };
}

/** approved -> issued, and the holder is told the card is ready for pickup. */
async function completeApplication(ra: RaDeps, p: Principal, applicationId: string): Promise<void> {
  const officeName = await officeOfApplication(ra, applicationId);
  try {
    await transition(ra, p, applicationId, 'complete', null, () => ({}), async (uow, a) => {
      await ra.notices?.applicationEvent(uow.tx, {
        applicationId: a.id,
        recipient: a.applicant.email,
        givenName: a.applicant.givenName,
        surname: a.applicant.surname,
        event: 'ready',
        officeName,
      });
    });
  } catch (e) {
    // Two desks finishing the last two types at once: the other one completed it.
    if (!(e instanceof CaError && e.kind === 'invalidTransition')) throw e;
  }
}

function normaliseCard(card: { serialNumber: string; batch?: string | undefined }): { serialNumber: string; batch?: string } {
  const serialNumber = card.serialNumber.trim();
  if (!/^[\x21-\x7e]{1,64}$/.test(serialNumber)) throw new CaError('malformed', 'card.serialNumber must be 1 to 64 printable characters', { code: 'invalidCard' });
  const batch = card.batch?.trim();
  if (batch !== undefined && !/^[\x21-\x7e]{1,64}$/.test(batch)) throw new CaError('malformed', 'card.batch must be 1 to 64 printable characters', { code: 'invalidCard' });
  return { serialNumber, ...(batch ? { batch } : {}) };
}

