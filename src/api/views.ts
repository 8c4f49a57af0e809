import type { z } from 'zod';
import { certificateView } from '../ca/queries.js';
import type { CaDeps } from '../ca/deps.js';
import type { ApplicationRecord } from '../domain/application.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { ApplicationDetails } from '../ra/applications.js';
import { requiredTypes } from '../policy/products.js';
import { formatAmount } from '../policy/tariffs.js';
import type { ApplicationSchema, CertificateSchema } from './schemas.js';

/** Records -> the JSON the API answers (shapes in schemas.ts). */

type ApplicationJson = z.infer<typeof ApplicationSchema>;

export function applicationJson(a: ApplicationRecord, extra?: Pick<ApplicationDetails, 'certificates'> & Partial<Pick<ApplicationDetails, 'history'>>): ApplicationJson {
  return {
    id: a.id,
    state: a.state,
    office: a.officeCode,
    channel: a.channel,
    applicant: { ...a.applicant, idDocument: a.idDocument },
    category: a.category,
    product: a.product,
    carrier: a.carrier,
    validityYears: a.validityYears,
    tariff: { amount: formatAmount(a.tariffMinor), currency: a.currency },
    payment: a.payment
      ? { amount: formatAmount(a.payment.amountMinor), currency: a.payment.currency, receipt: a.payment.receipt, method: a.payment.method, at: a.payment.at.toISOString(), by: a.payment.by }
      : null,
    requiredTypes: requiredTypes(a.product),
    certificates: (extra?.certificates ?? []).map((c) => ({ type: c.type, serial: c.serial!, status: c.status })),
    card: a.card,
    createdBy: a.createdBy,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
    ...(extra?.history
      ? { history: extra.history.map((h) => ({ at: h.occurredAt.toISOString(), actor: h.actor, action: h.action, from: h.fromState, to: h.toState, details: h.details })) }
      : {}),
  };
}

/** What anyone may read of a certificate: no provenance (which desk, which operator). */
export function publicCertificateJson(ca: Pick<CaDeps, 'clock'>, r: CertificateRecord): z.infer<typeof CertificateSchema> {
  const { provenance: _provenance, ...view } = certificateView(ca, r);
  return view;
}

export function encodeCursor(a: ApplicationRecord): string {
  return Buffer.from(`${a.createdAt.toISOString()}|${a.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (Number.isNaN(createdAt.getTime()) || !id || !/^[0-9a-f-]{36}$/.test(id)) return null;
  return { createdAt, id };
}
