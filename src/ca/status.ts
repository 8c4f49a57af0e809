import { appendAudit } from '../audit/log.js';
import { isExpired, type CertificateRecord } from '../domain/certificate.js';
import { parseSerial, type Serial } from '../domain/serial.js';
import { nextStatus, type StatusAction } from '../domain/status.js';
import { CaError } from '../errors.js';
import { getProfile } from '../policy/profiles.js';
import { parseRevocationReason } from '../policy/revocation.js';
import { changeStatus, findCertificateForUpdate, listCertificates, type CertificateFilter } from '../store/certificates.js';
import { notifyStatusChanged } from '../store/status-notifications.js';
import { inTransaction, type UnitOfWork } from '../store/transaction.js';
import type { CaDeps, CertificateEvent } from './deps.js';

export interface StatusChangeRequest {
  serial: string;
  actor: string;
  /** revoke only: an operator reason (policy/revocation.ts); default unspecified. */
  reason?: string;
  /** revoke only: when the key is known or suspected to have been compromised (RFC 5280 §5.3.2). */
  invalidityDate?: Date;
  /** Free text for the audit log (the holder's request reference, a ticket). */
  comment?: string;
}

/**
 * Suspend, restore or revoke one certificate (architecture.md "Status"): one transaction holding
 * the status change, the re-signed OCSP responses and the audit event; every node's OCSP cache is
 * told at commit.
 */
export async function changeCertificateStatus(deps: CaDeps, action: StatusAction, req: StatusChangeRequest): Promise<CertificateRecord> {
  const serial = parseSerial(req.serial);
  const reason = action === 'revoke' ? parseRevocationReason(req.reason ?? 'unspecified') : null;
  if (action !== 'revoke' && (req.reason !== undefined || req.invalidityDate !== undefined)) {
    throw new CaError('malformed', `a reason and an invalidity date belong to revoke, not ${action}`, { code: 'invalidReason' });
  }
  const now = deps.clock.now();
  if (req.invalidityDate && req.invalidityDate.getTime() > now.getTime()) {
    throw new CaError('malformed', 'the invalidity date lies in the future', { code: 'invalidInvalidityDate' });
  }
  await deps.cas.list(); // loaded outside the transaction (see applyStatusChange)
  return inTransaction(deps.db, async (uow) => {
    const current = await findCertificateForUpdate(uow.tx, serial);
    if (!current) throw new CaError('notFound', `no certificate with serial ${serial}`, { code: 'certificateNotFound' });
    const to = nextStatus(current.status, action, isExpired(current, now));
    if (action === 'suspend' && !getProfile(current.profile).allowsSuspension) {
      throw new CaError('policyForbids', `${current.profile} certificates cannot be suspended; revoke instead`, { code: 'suspensionNotAllowed' });
    }
    const changed: CertificateRecord = {
      ...current,
      status: to,
      statusChangedAt: now,
      revocationReason: to === 'revoked' ? reason : null,
      // For a suspended certificate this is the time of suspension (the CRL entry's date).
      revokedAt: to === 'active' ? null : now,
      invalidityDate: to === 'revoked' ? (req.invalidityDate ?? null) : null,
    };
    await applyStatusChange(deps, uow, current, changed, {
      actor: req.actor,
      action: `certificate.${action === 'suspend' ? 'suspended' : action === 'restore' ? 'restored' : 'revoked'}`,
      details: {
        from: current.status,
        to,
        ...(reason ? { reason } : {}),
        ...(changed.invalidityDate ? { invalidityDate: changed.invalidityDate.toISOString() } : {}),
        ...(req.comment ? { comment: req.comment } : {}),
      },
    });
    return changed;
  });
}

/**
 * The one way a status changes, shared by the use cases above and the reconciler: compare-and-set
 * (which orders it for delta CRLs), publish (OCSP re-signed in the same transaction), audit, and a
 * notification to every node at commit. The CA directory must be loaded before the transaction
 * starts: the publisher reads it, and on the embedded database (one connection) a read outside the
 * transaction would wait for the transaction forever.
 */
export async function applyStatusChange(
  deps: CaDeps,
  uow: UnitOfWork,
  from: CertificateRecord,
  to: CertificateRecord,
  audit: { actor: string; action: string; details: Record<string, unknown> },
): Promise<void> {
  const statusSeq = await changeStatus(uow.tx, {
    serial: from.serial,
    from: from.status,
    to: to.status,
    at: to.statusChangedAt,
    reason: to.revocationReason,
    revokedAt: to.revokedAt,
    invalidityDate: to.invalidityDate,
  });
  if (statusSeq === null) throw new CaError('conflict', `the status of ${from.serial} changed meanwhile; try again`, { code: 'concurrentChange' });
  to.statusSeq = statusSeq;
  await deps.publisher.statusChanged(uow, to);
  const event = holderEvent(from, to);
  if (event) await deps.notices?.certificateEvent(uow.tx, to, event);
  await appendAudit(uow.tx, deps.clock, [{ actor: audit.actor, action: audit.action, caName: from.caName, serial: from.serial, details: audit.details }]);
  await notifyStatusChanged(uow.tx, from.caName, from.serial);
  const action = to.status === 'revoked' ? 'revoke' : to.status === 'suspended' ? 'suspend' : 'restore';
  uow.onCommit(() => deps.metrics?.statusChanged(action));
}

/** What the holder is told of; a reservation the reconciler revokes was never theirs to know of. */
function holderEvent(from: CertificateRecord, to: CertificateRecord): CertificateEvent | null {
  if (from.status === 'reserved') return null;
  if (to.status === 'suspended') return 'suspended';
  if (to.status === 'revoked') return 'revoked';
  return from.status === 'suspended' && to.status === 'active' ? 'restored' : null;
}

// ---- bulk actions --------------------------------------------------------------------------------

/** Which certificates a bulk action touches; at least one criterion besides the action itself. */
export interface BulkFilter {
  officeCode?: string;
  operator?: string;
  batch?: string;
  fin?: string;
  profile?: string;
  caName?: string;
  issuedFrom?: Date;
  issuedTo?: Date;
}

export interface BulkRequest {
  action: 'suspend' | 'revoke';
  filter: BulkFilter;
  reason?: string;
  actor: string;
  /** false = dry run: list what would change, change nothing. */
  execute: boolean;
  comment?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface BulkResult {
  executed: boolean;
  matched: number;
  changed: Serial[];
  failed: { serial: Serial; code: string; detail: string }[];
}

const BULK_PAGE = 1000;

/**
 * Suspend or revoke every certificate matching a filter (one desk, one card batch, one holder…):
 * each certificate in a transaction of its own with its own audit event, so a failure on one
 * never undoes the others and a rerun picks up where an interrupted run stopped.
 */
export async function bulkChangeStatus(deps: CaDeps, req: BulkRequest): Promise<BulkResult> {
  const criteria = bulkCriteria(req.filter);
  if (req.action === 'revoke') parseRevocationReason(req.reason ?? 'unspecified');
  const targets = await matchingCertificates(deps, criteria, req.action);
  const result: BulkResult = { executed: req.execute, matched: targets.length, changed: [], failed: [] };
  if (!req.execute) {
    result.changed = targets.map((t) => t.serial);
    return result;
  }
  let done = 0;
  for (const t of targets) {
    try {
      await changeCertificateStatus(deps, req.action, {
        serial: t.serial,
        actor: req.actor,
        ...(req.action === 'revoke' ? { reason: req.reason ?? 'unspecified' } : {}),
        comment: req.comment ?? `bulk ${req.action}`,
      });
      result.changed.push(t.serial);
    } catch (e) {
      if (!(e instanceof CaError)) throw e;
      result.failed.push({ serial: t.serial, code: e.code, detail: e.detail });
    }
    req.onProgress?.(++done, targets.length);
  }
  return result;
}

function bulkCriteria(f: BulkFilter): CertificateFilter {
  const c: CertificateFilter = {
    ...(f.officeCode ? { officeCode: f.officeCode } : {}),
    ...(f.operator ? { operator: f.operator } : {}),
    ...(f.batch ? { batch: f.batch } : {}),
    ...(f.fin ? { holderIdentityKey: `fin:${f.fin.trim().toUpperCase()}` } : {}),
    ...(f.profile ? { profile: getProfile(f.profile).id } : {}),
    ...(f.caName ? { caName: f.caName } : {}),
    ...(f.issuedFrom ? { issuedFrom: f.issuedFrom } : {}),
    ...(f.issuedTo ? { issuedTo: f.issuedTo } : {}),
  };
  if (Object.keys(c).length === 0) {
    throw new CaError('malformed', 'a bulk action needs a filter (office, operator, batch, FIN, profile, CA or issue dates)', { code: 'emptyFilter' });
  }
  return c;
}

async function matchingCertificates(deps: CaDeps, criteria: CertificateFilter, action: 'suspend' | 'revoke'): Promise<CertificateRecord[]> {
  const statuses: CertificateRecord['status'][] = action === 'suspend' ? ['active'] : ['active', 'suspended'];
  const now = deps.clock.now();
  const out: CertificateRecord[] = [];
  for (let after: Serial | undefined; ; ) {
    const page = await listCertificates(deps.db, { ...criteria, statuses, limit: BULK_PAGE, ...(after ? { afterSerial: after } : {}) });
    for (const r of page) {
      if (isExpired(r, now)) continue;
      if (action === 'suspend' && !getProfile(r.profile).allowsSuspension) continue;
      out.push(r);
    }
    if (page.length < BULK_PAGE) return out;
    after = page[page.length - 1]!.serial;
  }
}

