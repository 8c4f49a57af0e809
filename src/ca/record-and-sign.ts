import { createHash } from 'node:crypto';
import { appendAudit } from '../audit/log.js';
import type { Provenance } from '../domain/certificate.js';
import type { CertificateSpec } from '../domain/certificateSpec.js';
import { randomSerial, type Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import type { Signer } from '../signing/types.js';
import { insertReservation, markIssued } from '../store/certificates.js';
import { upsertHolder } from '../store/holders.js';
import { inTransaction } from '../store/transaction.js';
import { assembleCertificate, buildTbsCertificate } from '../x509/certificate.js';
import { lintTbs } from '../x509/lint.js';
import type { CaDeps } from './deps.js';

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
 * the database does not know (the reconciler resolves the row).
 */
export async function recordAndSign(deps: CaDeps, plan: SigningPlan): Promise<SignedCertificate> {
  const { serial, tbs } = await reserve(deps, plan);
  const signature = await plan.issuer.signer.sign(tbs);
  const der = assembleCertificate(tbs, plan.issuer.signer.algorithm, signature);
  await deps.faults?.afterSign?.(serial, der);
  await inTransaction(deps.db, async ({ tx }) => {
    if (!(await markIssued(tx, serial, der, deps.clock.now()))) {
      // The reconciler resolved this reservation while we were signing: do not resurrect it.
      throw new CaError('conflict', `serial ${serial} is no longer reserved`, { code: 'reservationLost' });
    }
    await appendAudit(tx, deps.clock, [
      {
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
    ]);
  });
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
      await inTransaction(deps.db, async ({ tx }) => {
        const holderId = plan.holder ? await upsertHolder(tx, { ...plan.holder, at: now }) : null;
        await insertReservation(tx, {
          serial,
          caName: plan.issuer.caName,
          profile: plan.profile,
          holderId,
          subject: describeSubject(plan.spec),
          spkiSha256: createHash('sha256').update(plan.subjectSpki).digest(),
          tbs,
          notBefore: plan.notBefore,
          notAfter: plan.notAfter,
          reservedAt: now,
          provenance: plan.provenance,
          holderSnapshot: plan.holderSnapshot,
        });
      });
      return { serial, tbs };
    } catch (e) {
      // A 128-bit collision is astronomically unlikely; retrying is cheaper than reasoning about it.
      if (isCaError(e) && e.code === 'duplicate' && attempt < SERIAL_ATTEMPTS) continue;
      throw e;
    }
  }
}

export function describeSubject(spec: CertificateSpec): string {
  return spec.subject.map((a) => `${a.type}=${a.value}`).join(', ');
}
