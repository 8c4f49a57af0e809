import { createHash } from 'node:crypto';
import { appendAudit, type AuditEventInput } from '../audit/log.js';
import type { Clock } from '../clock.js';
import type { Provenance } from '../domain/certificate.js';
import type { CertificateSpec } from '../domain/certificateSpec.js';
import { randomSerial, type Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import type { Signer } from '../signing/types.js';
import { insertReservations, markIssued, type NewReservation } from '../store/certificates.js';
import type { Db } from '../store/database.js';
import { GroupCommit } from '../store/group-commit.js';
import { upsertHolders } from '../store/holders.js';
import { assembleCertificate, buildTbsCertificate } from '../x509/certificate.js';
import { lintTbs } from '../x509/lint.js';
import type { CaDeps, CertificateNotices, NoticeSubject } from './deps.js';

export interface Issuer {
  caName: string;
  /** DER Name of the issuer (its certificate's subject; for a self-signed root, the subject). */
  nameDer: Uint8Array;
  spki: Uint8Array;
  signer: Signer;
}

export interface HolderIdentity {
  identityKey: string;
  kind: string;
  displayName: string;
}

export interface SigningPlan {
  issuer: Issuer;
  profile: string;
  /** The CRL scope the spec's CDP names ('' = the whole CA). */
  crlScope?: string;
  subjectSpki: Uint8Array;
  spec: CertificateSpec;
  notBefore: Date;
  notAfter: Date;
  holder: HolderIdentity | null;
  holderSnapshot: unknown;
  provenance: Provenance;
  actor: string;
  auditDetails?: Record<string, unknown>;
}

export interface SignedCertificate {
  serial: Serial;
  der: Uint8Array;
}

const SERIAL_ATTEMPTS = 3;

/**
 * The issuance cycle of architecture.md, shared by every certificate the CA signs (its own
 * hierarchy included):
 *   build the final TBS bytes -> pre-signing lint -> reserve the serial and store those bytes
 *   (one transaction) -> sign -> store the certificate, status active, and the audit event
 *   (one transaction).
 * A crash after signing leaves a `reserved` row holding the exact TBS: never a signed certificate
 * the database does not know (the reconciler resolves the row). Under load the two writes are
 * group-committed with other issuances (IssuanceWriters), each certificate still all-or-nothing.
 */
export async function recordAndSign(deps: CaDeps, plan: SigningPlan): Promise<SignedCertificate> {
  const { serial, tbs } = await reserve(deps, plan);
  const signature = await plan.issuer.signer.sign(tbs);
  const der = assembleCertificate(tbs, plan.issuer.signer.algorithm, signature);
  await deps.faults?.afterSign?.(serial, der);
  await deps.issuance.submit({
    kind: 'finalize',
    serial,
    der,
    notice: { serial, caName: plan.issuer.caName, profile: plan.profile, notAfter: plan.notAfter, holderSnapshot: plan.holderSnapshot, revocationReason: null },
    audit: {
      actor: plan.actor,
      action: 'certificate.issued',
      caName: plan.issuer.caName,
      serial,
      details: {
        profile: plan.profile,
        notAfter: plan.notAfter.toISOString(),
        sha256: createHash('sha256').update(der).digest('hex'),
        ...plan.provenance,
        ...plan.auditDetails,
      },
    },
  });
  deps.metrics?.certificateIssued(plan.issuer.caName, plan.profile);
  return { serial, der };
}

async function reserve(deps: CaDeps, plan: SigningPlan): Promise<{ serial: Serial; tbs: Uint8Array }> {
  const now = deps.clock.now();
  for (let attempt = 1; ; attempt++) {
    const serial = randomSerial();
    const tbs = buildTbsCertificate({
      serial,
      notBefore: plan.notBefore,
      notAfter: plan.notAfter,
      issuerName: plan.issuer.nameDer,
      issuerPublicKeySpki: plan.issuer.spki,
      subjectPublicKeySpki: plan.subjectSpki,
      spec: plan.spec,
      signatureAlgorithm: plan.issuer.signer.algorithm,
    });
    lintTbs(tbs, { issuerSpki: plan.issuer.spki, expectedSpec: plan.spec, now });
    try {
      await deps.issuance.submit({
        kind: 'reserve',
        holder: plan.holder,
        reservation: {
          serial,
          caName: plan.issuer.caName,
          profile: plan.profile,
          crlScope: plan.crlScope ?? '',
          subject: describeSubject(plan.spec),
          spkiSha256: createHash('sha256').update(plan.subjectSpki).digest(),
          tbs,
          notBefore: plan.notBefore,
          notAfter: plan.notAfter,
          reservedAt: now,
          provenance: plan.provenance,
          holderSnapshot: plan.holderSnapshot,
        },
      });
      return { serial, tbs };
    } catch (e) {
      // A 128-bit collision is astronomically unlikely; retrying is cheaper than reasoning about it.
      if (isCaError(e) && e.code === 'duplicate' && attempt < SERIAL_ATTEMPTS) continue;
      throw e;
    }
  }
}

interface PendingReservation {
  kind: 'reserve';
  holder: HolderIdentity | null;
  reservation: Omit<NewReservation, 'holderId'>;
}

interface PendingFinalization {
  kind: 'finalize';
  serial: Serial;
  der: Uint8Array;
  notice: NoticeSubject;
  audit: AuditEventInput;
}

/**
 * The two writes of the issuance cycle, group-committed together: one transaction stores the
 * certificates signed since the last one (reserved -> active, with their audit events) and the
 * reservations made since (to be signed after it commits). Under load one commit serves both
 * steps of many issuances; each certificate is still all-or-nothing (GroupCommit retries items
 * alone when a batch fails). One per database, built at start.
 */
export type IssuanceWriters = GroupCommit<PendingReservation | PendingFinalization, void>;

export function createIssuanceWriters(db: Db, clock: Clock, notices?: () => CertificateNotices | undefined): IssuanceWriters {
  return new GroupCommit<PendingReservation | PendingFinalization, void>(db, async (tx, items) => {
    const outcomes = new Map<PendingReservation | PendingFinalization, CaError | undefined>();
    const finalizations = items.filter((i): i is PendingFinalization => i.kind === 'finalize');
    const reservations = items.filter((i): i is PendingReservation => i.kind === 'reserve');
    if (reservations.length) {
      const holderIds = await upsertHolders(
        tx,
        reservations.flatMap((i) => (i.holder ? [i.holder] : [])),
        clock.now(),
      );
      await insertReservations(
        tx,
        reservations.map((i) => ({ ...i.reservation, holderId: i.holder ? (holderIds.get(i.holder.identityKey) ?? null) : null })),
      );
    }
    if (finalizations.length) {
      const stillReserved = await markIssued(tx, finalizations, clock.now());
      const issued = finalizations.filter((i) => stillReserved.has(i.serial));
      const holderNotices = notices?.();
      // Only end-entity certificates have holders to tell; the hierarchy's own have no snapshot.
      if (holderNotices) for (const i of issued) if (i.notice.holderSnapshot) await holderNotices.certificateEvent(tx, i.notice, 'issued');
      await appendAudit(
        tx,
        clock,
        issued.map((i) => i.audit),
      );
      for (const i of finalizations) {
        // The reconciler resolved this reservation while we were signing: do not resurrect it.
        if (!stillReserved.has(i.serial)) outcomes.set(i, new CaError('conflict', `serial ${i.serial} is no longer reserved`, { code: 'reservationLost' }));
      }
    }
    return items.map((i) => outcomes.get(i));
  });
}

export function describeSubject(spec: CertificateSpec): string {
  return spec.subject.map((a) => `${a.type}=${a.value}`).join(', ');
}
