import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import {
  nextApplicationState,
  type ApplicationAction,
  type ApplicationRecord,
  type ApplicationState,
  type Carrier,
  type IdDocumentType,
  type PaymentMethod,
  type Product,
} from '../domain/application.js';
import { CaError, isCaError } from '../errors.js';
import { categoryOf, validateApplicant, validateIdDocument, type ApplicantInput } from '../policy/applicants.js';
import { carrierFor, PRODUCT_DEFINITIONS } from '../policy/products.js';
import type { Permission } from '../policy/roles.js';
import { formatAmount, lookupTariff, parseAmount } from '../policy/tariffs.js';
import {
  findApplication,
  insertApplication,
  insertApplicationEvent,
  listApplicationCertificates,
  listApplicationEvents,
  listApplications as listApplicationRows,
  type ApplicationCertificate,
  type ApplicationEvent,
  updateApplication,
} from '../store/applications.js';
import { findOffice } from '../store/offices.js';
import { inTransaction, type UnitOfWork } from '../store/transaction.js';
import { actorOf, assertOffice, authorize, officeScope, type Principal } from './access.js';
import type { RaDeps } from './deps.js';
import { getOffice } from './principals.js';

/** Applications at the desk and online pre-orders (issue 4): submitted -> paid -> approved -> issued -> handed-over. */

export interface CreateApplicationInput {
  applicant: ApplicantInput & { idDocument?: { type: IdDocumentType; number: string } | undefined };
  product: Product;
  validityYears: number;
  carrier?: Carrier | undefined;
  /** Desk: defaults to the operator's office (only an all-office role may name another). Online: the office of collection. */
  officeCode?: string | undefined;
}

/** A desk application (principal given) or an online pre-order (principal null, identity checked on collection). */
export async function createApplication(ra: RaDeps, principal: Principal | null, input: CreateApplicationInput): Promise<ApplicationRecord> {
  if (principal) authorize(principal, 'application.create');
  const settings = ra.ca.settings;
  const now = ra.ca.clock.now();
  const applicant = validateApplicant(input.applicant, settings, now);
  if (!settings.holderValidityYears.includes(input.validityYears)) {
    throw new CaError('malformed', `validityYears must be one of ${settings.holderValidityYears.join(', ')}`, { code: 'invalidValidity' });
  }
  if (PRODUCT_DEFINITIONS[input.product].needsPhone && !applicant.phone) {
    throw new CaError('malformed', 'mobile-ID is bound to a phone number: applicant.phone is required', { code: 'missingPhone' });
  }
  const carrier = carrierFor(input.product, input.carrier);
  const officeCode = principal ? deskOffice(principal, input.officeCode) : input.officeCode;
  if (!officeCode) throw new CaError('malformed', 'an online pre-order names the office where the card will be collected (officeCode)', { code: 'missingOffice' });
  const office = await getOffice(ra, officeCode);
  // At a desk the clerk has the identity document in hand; online it is checked on collection.
  const idDocument = principal ? input.applicant.idDocument : undefined;
  if (principal && !idDocument) throw new CaError('malformed', 'record the identity document checked at the desk (applicant.idDocument)', { code: 'missingIdDocument' });
  const category = categoryOf(applicant);
  const tariff = lookupTariff(settings, category, input.validityYears);
  const actor = principal ? actorOf(principal) : 'online';
  const application: ApplicationRecord = {
    id: randomUUID(),
    officeCode: office.code,
    channel: principal ? 'desk' : 'online',
    state: 'submitted',
    applicant,
    category,
    idDocument: idDocument ? validateIdDocument(idDocument) : null,
    product: input.product,
    carrier,
    validityYears: input.validityYears,
    tariffMinor: tariff.amountMinor,
    currency: tariff.currency,
    payment: null,
    card: null,
    createdBy: actor,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await inTransaction(ra.ca.db, async ({ tx }) => {
      await insertApplication(tx, application);
      await insertApplicationEvent(tx, application.id, { occurredAt: now, actor, action: 'submit', fromState: null, toState: 'submitted', details: { channel: application.channel } });
      await appendAudit(tx, ra.ca.clock, [
        { actor, action: 'application.submitted', details: { id: application.id, office: office.code, product: application.product, fin: applicant.fin } },
      ]);
    });
  } catch (e) {
    // The partial unique index application_one_open: one open application per holder and product.
    if (isCaError(e) && e.code === 'duplicate') {
      throw new CaError('conflict', `${applicant.fin} already has an open ${input.product} application`, { code: 'duplicateApplication' });
    }
    throw e;
  }
  return application;
}

function deskOffice(p: Principal, requested: string | undefined): string {
  if (!requested) return p.officeCode;
  const code = requested.trim().toUpperCase();
  if (officeScope(p) !== undefined && code !== p.officeCode) {
    throw new CaError('forbidden', 'a desk takes applications for its own office', { code: 'otherOffice' });
  }
  return code;
}

export async function getApplication(ra: RaDeps, p: Principal, id: string): Promise<ApplicationRecord> {
  authorize(p, 'application.read');
  const application = await findApplication(ra.ca.db, parseApplicationId(id));
  if (!application) throw notFound(id);
  assertOffice(p, application.officeCode);
  return application;
}

export async function listApplications(
  ra: RaDeps,
  p: Principal,
  f: { state?: ApplicationState; officeCode?: string; fin?: string; limit?: number; before?: { createdAt: Date; id: string } },
): Promise<ApplicationRecord[]> {
  authorize(p, 'application.read');
  const scope = officeScope(p);
  const officeCode = f.officeCode?.trim().toUpperCase();
  if (scope !== undefined && officeCode !== undefined && officeCode !== scope) {
    throw new CaError('forbidden', 'a desk sees the applications of its own office only', { code: 'otherOffice' });
  }
  return listApplicationRows(ra.ca.db, {
    ...((scope ?? officeCode) ? { officeCode: scope ?? officeCode } : {}),
    ...(f.state ? { state: f.state } : {}),
    ...(f.fin ? { fin: f.fin.trim().toUpperCase() } : {}),
    ...(f.before ? { before: f.before } : {}),
    limit: Math.min(Math.max(f.limit ?? 100, 1), 500),
  });
}

export async function recordPayment(
  ra: RaDeps,
  p: Principal,
  id: string,
  payment: { amount: string; receipt: string; method: PaymentMethod },
): Promise<ApplicationRecord> {
  const amountMinor = parseAmount(payment.amount);
  if (amountMinor === null) throw new CaError('malformed', 'amount must be a decimal string like "18.00"', { code: 'invalidAmount' });
  const receipt = payment.receipt.trim();
  if (!/^[A-Za-z0-9/-]{1,64}$/.test(receipt)) throw new CaError('malformed', 'receipt must be 1 to 64 letters, digits, hyphens or slashes', { code: 'invalidReceipt' });
  return transition(ra, p, id, 'pay', 'application.pay', (a) => {
    if (amountMinor !== a.tariffMinor) {
      throw new CaError('policyForbids', `the tariff is ${formatAmount(a.tariffMinor)} ${a.currency}, not ${payment.amount}`, { code: 'wrongAmount' });
    }
    a.payment = { amountMinor, currency: a.currency, receipt, method: payment.method, at: ra.ca.clock.now(), by: actorOf(p) };
    return { amount: formatAmount(amountMinor), currency: a.currency, receipt, method: payment.method };
  });
}

/** The identity document checked at the desk; an online pre-order gets it when the holder comes. */
export async function recordIdentity(ra: RaDeps, p: Principal, id: string, doc: { type: IdDocumentType; number: string }): Promise<ApplicationRecord> {
  const checked = validateIdDocument(doc);
  return update(ra, p, id, 'application.identify', 'identify', (a) => {
    if (a.state !== 'submitted' && a.state !== 'paid') {
      throw new CaError('invalidTransition', `the identity is recorded before approval, not in state ${a.state}`, { code: 'invalidTransition' });
    }
    a.idDocument = checked;
    return { idDocument: checked.type };
  });
}

export async function approveApplication(ra: RaDeps, p: Principal, id: string): Promise<ApplicationRecord> {
  return transition(ra, p, id, 'approve', 'application.approve', (a) => {
    if (!a.idDocument) throw new CaError('invalidTransition', 'no identity document has been checked for this application', { code: 'identityNotChecked' });
    return {};
  });
}

export async function rejectApplication(ra: RaDeps, p: Principal, id: string, reason: string): Promise<ApplicationRecord> {
  const office = await officeOfApplication(ra, id);
  return transition(
    ra,
    p,
    id,
    'reject',
    'application.reject',
    () => ({ reason }),
    async (uow, a) => {
      await ra.notices?.applicationEvent(uow.tx, {
        applicationId: a.id,
        recipient: a.applicant.email,
        givenName: a.applicant.givenName,
        surname: a.applicant.surname,
        event: 'rejected',
        officeName: office,
        reason,
      });
    },
  );
}

export async function cancelApplication(ra: RaDeps, p: Principal, id: string, reason: string | undefined): Promise<ApplicationRecord> {
  return transition(ra, p, id, 'cancel', 'application.cancel', () => (reason ? { reason } : {}), async (uow, a) => {
    const certificates = await listApplicationCertificates(uow.tx, a.id);
    if (certificates.some((c) => c.serial)) {
      throw new CaError('invalidTransition', 'certificates have been issued for this application; revoke them instead', { code: 'certificatesIssued' });
    }
  });
}

export async function handOver(ra: RaDeps, p: Principal, id: string, note: { cardSerial?: string | undefined }): Promise<ApplicationRecord> {
  return transition(ra, p, id, 'handover', 'application.handover', (a) => {
    if (note.cardSerial && a.card && note.cardSerial !== a.card.serialNumber) {
      throw new CaError('conflict', `this application's card is ${a.card.serialNumber}, not ${note.cardSerial}`, { code: 'cardMismatch' });
    }
    return note.cardSerial ? { cardSerial: note.cardSerial } : {};
  });
}

/**
 * One state change of an application = one transaction: the row (locked), its event, the audit
 * event and any holder notice. `change` checks and edits the record and returns event details.
 */
export async function transition(
  ra: RaDeps,
  p: Principal | null,
  id: string,
  action: ApplicationAction,
  permission: Permission | null,
  change: (a: ApplicationRecord) => Record<string, unknown>,
  inside?: (uow: UnitOfWork, a: ApplicationRecord) => Promise<void>,
  actor = p ? actorOf(p) : 'system',
): Promise<ApplicationRecord> {
  if (p && permission) authorize(p, permission);
  const applicationId = parseApplicationId(id);
  return inTransaction(ra.ca.db, async (uow) => {
    const a = await findApplication(uow.tx, applicationId, true);
    if (!a) throw notFound(id);
    if (p) assertOffice(p, a.officeCode);
    const from = a.state;
    const to = nextApplicationState(from, action);
    if (!to) throw new CaError('invalidTransition', `cannot ${action} an application that is ${from}`, { code: 'invalidTransition' });
    const details = change(a);
    a.state = to;
    a.updatedAt = ra.ca.clock.now();
    await inside?.(uow, a);
    await updateApplication(uow.tx, a);
    await insertApplicationEvent(uow.tx, a.id, { occurredAt: a.updatedAt, actor, action, fromState: from, toState: to, details });
    await appendAudit(uow.tx, ra.ca.clock, [{ actor, action: `application.${to}`, details: { id: a.id, from, to, ...details } }]);
    return a;
  });
}

/** A change that keeps the state (the identity check): same transaction shape as a transition. */
async function update(
  ra: RaDeps,
  p: Principal,
  id: string,
  permission: Permission,
  action: string,
  change: (a: ApplicationRecord) => Record<string, unknown>,
): Promise<ApplicationRecord> {
  authorize(p, permission);
  const applicationId = parseApplicationId(id);
  return inTransaction(ra.ca.db, async ({ tx }) => {
    const a = await findApplication(tx, applicationId, true);
    if (!a) throw notFound(id);
    assertOffice(p, a.officeCode);
    const details = change(a);
    a.updatedAt = ra.ca.clock.now();
    await updateApplication(tx, a);
    await insertApplicationEvent(tx, a.id, { occurredAt: a.updatedAt, actor: actorOf(p), action, fromState: a.state, toState: a.state, details });
    await appendAudit(tx, ra.ca.clock, [{ actor: actorOf(p), action: `application.${action}`, details: { id: a.id, ...details } }]);
    return a;
  });
}

/** Read before a transaction: on the embedded database a read outside an open transaction would wait for it. */
export async function officeOfApplication(ra: RaDeps, id: string): Promise<string> {
  const a = await findApplication(ra.ca.db, parseApplicationId(id));
  if (!a) throw notFound(id);
  return (await findOffice(ra.ca.db, a.officeCode))?.name ?? a.officeCode;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseApplicationId(id: string): string {
  if (!UUID.test(id)) throw notFound(id);
  return id.toLowerCase();
}

function notFound(id: string): CaError {
  return new CaError('notFound', `no application ${id.slice(0, 40)}`, { code: 'applicationNotFound' });
}

export interface ApplicationDetails {
  application: ApplicationRecord;
  certificates: ApplicationCertificate[];
  history: ApplicationEvent[];
}

/** An application with its certificates (claimed types without a serial are left out) and its history. */
export async function getApplicationDetails(ra: RaDeps, p: Principal, id: string): Promise<ApplicationDetails> {
  const application = await getApplication(ra, p, id);
  const [certificates, history] = [await listApplicationCertificates(ra.ca.db, application.id), await listApplicationEvents(ra.ca.db, application.id)];
  return { application, certificates: certificates.filter((c) => c.serial), history };
}

/** The certificates of an application just changed: their types and status, without the history. */
export async function applicationCertificates(ra: RaDeps, application: ApplicationRecord): Promise<ApplicationCertificate[]> {
  return (await listApplicationCertificates(ra.ca.db, application.id)).filter((c) => c.serial);
}
