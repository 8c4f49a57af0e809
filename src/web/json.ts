import type { Serial } from '../domain/serial.js';
import type { CertificateInfo } from '../x509/inspect.js';
import type { CertificateFacts } from './facts.js';
import { typeName, type Lang, type Texts } from './i18n.js';
import type { ListedCa, ListPageInput } from './views.js';

/** The same facts as the HTML pages, for `Accept: application/json`; words in the page's language. */

interface JsonContext {
  lang: Lang;
  t: Texts;
  now: Date;
  ocspUrl: string;
}

export function certificateJson(ctx: JsonContext, f: CertificateFacts) {
  const s = f.status;
  const since = s.kind === 'suspended' ? s.since : s.kind === 'revoked' ? s.at : s.kind === 'expired' ? s.on : null;
  return {
    serial: f.serial,
    issuedByUs: true,
    type: f.profile,
    typeName: typeName(f.profile, ctx.lang),
    subject: f.subject,
    issuer: { ca: f.ca.name, commonName: f.ca.commonName, certificate: `/ca/${f.ca.name}.crt` },
    notBefore: f.notBefore.toISOString(),
    notAfter: f.notAfter.toISOString(),
    status: s.kind,
    statusText: ctx.t.result[s.kind],
    since: since?.toISOString() ?? null,
    revocationReason: s.kind === 'revoked' ? s.reason : s.kind === 'suspended' ? 'certificateHold' : null,
    reasonText: s.kind === 'revoked' ? ctx.t.reason(s.reason) : null,
    invalidityDate: s.kind === 'revoked' ? (s.invalidityDate?.toISOString() ?? null) : null,
    ocsp: f.ca.hasOcsp
      ? {
          status: f.ocsp.kind,
          ...(f.ocsp.kind === 'revoked' ? { revokedAt: f.ocsp.revokedAt.toISOString(), revocationReason: f.ocsp.reason } : {}),
          url: ctx.ocspUrl,
        }
      : null,
    checkedAt: ctx.now.toISOString(),
  };
}

export function notIssuedJson(ctx: JsonContext, serial: Serial) {
  return { serial, issuedByUs: false, status: 'notIssued', statusText: ctx.t.result.notIssued, checkedAt: ctx.now.toISOString() };
}

/** A pasted certificate that is not ours: what it says of itself, nothing of any namesake of ours. */
export function foreignJson(ctx: JsonContext, info: CertificateInfo) {
  return { serial: info.serial, issuer: info.issuer, issuedByUs: false, status: 'notIssued', statusText: ctx.t.result.notIssued, checkedAt: ctx.now.toISOString() };
}

export function listsIndexJson(ctx: JsonContext, cas: ListedCa[]) {
  return {
    cas: cas.map((ca) => ({
      ca: ca.name,
      commonName: ca.commonName,
      certificate: `/ca/${ca.name}.crt`,
      crl: `/crl/${ca.name}.crl`,
      deltaCrl: `/crl/${ca.name}-delta.crl`,
      ocsp: ca.hasOcsp ? ctx.ocspUrl : null,
      list: `/lists/${ca.name}`,
    })),
  };
}

export function caListJson(ctx: JsonContext, input: ListPageInput) {
  return {
    ca: input.ca.name,
    commonName: input.ca.commonName,
    items: input.entries.map((e) => ({
      serial: e.serial,
      status: e.status,
      at: e.at.toISOString(),
      revocationReason: e.status === 'suspended' ? 'certificateHold' : e.revocationReason,
      reasonText: e.status === 'suspended' ? null : ctx.t.reason(e.revocationReason),
    })),
    next: input.nextHref,
  };
}
