import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { AddressCounter, type WindowPolicy } from '../api/rate-limit.js';
import type { CaDeps } from '../ca/deps.js';
import { listSuspendedAndRevoked } from '../ca/queries.js';
import { parseSerial, type Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import { ocspStatusOf } from '../ocsp/signing.js';
import { ocspUrl } from '../policy/settings.js';
import { certificateFacts } from './facts.js';
import { caListJson, certificateJson, foreignJson, listsIndexJson, notIssuedJson } from './json.js';
import { findRecord, identifyCertificate, lookupInput, MAX_UPLOAD_BYTES, parseSerialInput, type LookupFields } from './lookup.js';
import { parseMultipart } from './multipart.js';
import { chooseLanguage, TEXTS, type Lang } from './i18n.js';
import { caListPage, certificatePage, errorPage, foreignPage, homePage, listsIndexPage, notIssuedPage, STYLE_HASH, type ListedCa, type PageContext } from './views.js';

/**
 * The public status page (docs/status-page.md): GET / (the lookup forms), POST /lookup (serial,
 * pasted PEM or uploaded file -> 303 to the result), GET /certificates/{serial} (HTML, or JSON with
 * Accept: application/json), GET /lists and /lists/{ca} (suspended and revoked, keyset-paged).
 * Reads go through the CA use cases; the status comes from the OCSP responder's own decision.
 */
export interface StatusPageOptions {
  /** Requests per client address and window, over every page of the router. */
  rateLimit?: WindowPolicy;
  log?: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** A person checking a few certificates never meets it; a harvester does (and OCSP is for machines). */
export const STATUS_PAGE_RATE_LIMIT: WindowPolicy = { max: 60, windowMs: 60_000 };
export const LIST_PAGE_SIZE = 100;

/** No script may run, nothing may frame the page, forms post only here (CSP Level 3). */
const CSP = `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

const CERTIFICATE_TYPES = ['application/pkix-cert', 'application/x-x509-ca-cert', 'application/x-x509-user-cert', 'application/x-pem-file', 'application/octet-stream', 'text/plain'];

interface PageLocals {
  ctx: PageContext;
  retryAfterSeconds?: number;
  serialValue?: string;
}

function locals(res: Response): PageLocals {
  return res.locals as PageLocals;
}

export function statusPageRouter(ca: CaDeps, options: StatusPageOptions = {}): Router {
  const router = Router();
  const now = () => ca.clock.now();
  const limiter = new AddressCounter(options.rateLimit ?? STATUS_PAGE_RATE_LIMIT, () => now().getTime());

  /** Every page: security headers, language, then the rate limit (its 429 is a page too). */
  const page: RequestHandler = (req, res, next) => {
    res.set({
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': 'no-store',
      vary: 'Accept, Accept-Language',
    });
    locals(res).ctx = pageContext(req, ca, now());
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = limiter.blockedFor(address);
    if (wait > 0) {
      locals(res).retryAfterSeconds = Math.ceil(wait / 1000);
      throw new CaError('rateLimited', 'too many requests from this address', { code: 'tooManyRequests' });
    }
    limiter.count(address);
    next();
  };

  router.get('/', page, (_req, res) => {
    sendHtml(res, 200, homePage(locals(res).ctx));
  });

  router.get('/lookup', page, (_req, res) => {
    res.redirect(303, locals(res).ctx.link('/'));
  });

  router.post(
    '/lookup',
    page,
    express.urlencoded({ extended: false, limit: MAX_UPLOAD_BYTES, parameterLimit: 10 }),
    express.raw({ type: ['multipart/form-data', ...CERTIFICATE_TYPES], limit: MAX_UPLOAD_BYTES }),
    async (req, res) => {
      const { ctx } = locals(res);
      const fields = formFields(req);
      locals(res).serialValue = fields.serial?.slice(0, 128);
      const input = lookupInput(fields);
      if (input.kind === 'serial') {
        res.redirect(303, ctx.link(`/certificates/${input.serial}`));
        return;
      }
      const found = await identifyCertificate(ca, input.der);
      if (found.kind === 'ours') {
        res.redirect(303, ctx.link(`/certificates/${found.serial}`));
        return;
      }
      if (wantsJson(req)) res.status(404).json(foreignJson(ctx, found.info));
      else sendHtml(res, 404, foreignPage(ctx, found.info));
    },
  );

  router.get('/certificates/:serial', page, async (req, res) => {
    const { ctx } = locals(res);
    const input = String(req.params.serial);
    locals(res).serialValue = input.slice(0, 128);
    const serial = parseSerialInput(input);
    if (serial !== input) {
      res.redirect(301, ctx.link(`/certificates/${serial}`));
      return;
    }
    const record = await findRecord(ca, serial);
    const facts = certificateFacts(record, await ca.cas.list(), ctx.now);
    if (!facts) {
      if (wantsJson(req)) res.status(404).json(notIssuedJson(ctx, serial));
      else sendHtml(res, 404, notIssuedPage(ctx, serial));
      return;
    }
    if (wantsJson(req)) res.json(certificateJson(ctx, facts));
    else sendHtml(res, 200, certificatePage(ctx, facts));
  });

  // The holder e-mails (src/notify/templates.ts statusUrl) link to /status/{serial}.
  router.get('/status/:serial', page, (req, res) => {
    res.redirect(301, locals(res).ctx.link(`/certificates/${encodeURIComponent(String(req.params.serial))}`));
  });

  router.get('/lists', page, async (req, res) => {
    const { ctx } = locals(res);
    const cas = await listedCas(ca);
    if (wantsJson(req)) res.json(listsIndexJson(ctx, cas));
    else sendHtml(res, 200, listsIndexPage(ctx, cas));
  });

  router.get('/lists/:ca', page, async (req, res) => {
    const { ctx } = locals(res);
    const listed = (await listedCas(ca)).find((c) => c.name === req.params.ca);
    if (!listed) throw new CaError('notFound', 'no such CA', { code: 'caNotFound' });
    const { after, limit } = pageQuery(req);
    const found = await listSuspendedAndRevoked(ca, listed.name, { ...(after ? { after } : {}), limit });
    const base = `/lists/${encodeURIComponent(listed.name)}`;
    const query = (extra: Record<string, string>) => {
      const q = new URLSearchParams({ ...(limit !== LIST_PAGE_SIZE ? { limit: String(limit) } : {}), ...extra });
      return ctx.link(q.size ? `${base}?${q.toString()}` : base);
    };
    const input = {
      ca: listed,
      entries: found.entries.map((e) => {
        const ocsp = ocspStatusOf(e);
        return { ...e, at: ocsp.kind === 'revoked' ? ocsp.revokedAt : e.statusChangedAt };
      }),
      nextHref: found.next ? query({ after: found.next }) : null,
      firstHref: after ? query({}) : null,
    };
    if (wantsJson(req)) res.json(caListJson(ctx, input));
    else sendHtml(res, 200, caListPage(ctx, input));
  });

  router.use(pageErrors(ca, options.log));
  return router;
}

function pageContext(req: Request, ca: CaDeps, now: Date): PageContext {
  const { lang, explicit } = chooseLanguage(req.query.lang, (...langs) => req.acceptsLanguages(...langs));
  const otherLang: Lang = lang === 'az' ? 'en' : 'az';
  const link = (path: string) => (explicit ? withLang(path, lang) : path);
  return { lang, t: TEXTS[lang], link, switchHref: withLang(req.originalUrl, otherLang), otherLang, ocspUrl: ocspUrl(ca.settings), now };
}

/** `path` (with its query) with lang=… set; only the path and query are kept, never a host. */
function withLang(path: string, lang: Lang): string {
  const url = new URL(path, 'http://status.invalid');
  url.searchParams.set('lang', lang);
  return `${url.pathname}${url.search}`;
}

function wantsJson(req: Request): boolean {
  return req.accepts(['text/html', 'application/json']) === 'application/json';
}

function sendHtml(res: Response, status: number, body: string): void {
  res.status(status).type('text/html; charset=utf-8').send(body);
}

function field(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new CaError('malformed', 'a form field was sent twice', { code: 'malformedForm' });
  return value;
}

function formFields(req: Request): LookupFields {
  const body: unknown = req.body;
  if (req.is('multipart/form-data')) {
    const parts = parseMultipart(body as Buffer, req.get('content-type') ?? '');
    const text = (name: string) => parts.find((p) => p.name === name && p.filename === undefined)?.data.toString('utf8');
    return { serial: text('serial'), pem: text('pem'), file: parts.find((p) => p.name === 'file' && p.data.length > 0)?.data };
  }
  if (req.is('application/x-www-form-urlencoded')) {
    const form = (body ?? {}) as Record<string, unknown>;
    return { serial: field(form.serial), pem: field(form.pem) };
  }
  if (Buffer.isBuffer(body)) return { file: body };
  throw new CaError('malformed', 'send a form, or the certificate as application/pkix-cert', { code: 'unsupportedMediaType' });
}

function pageQuery(req: Request): { after: Serial | undefined; limit: number } {
  const after = req.query.after;
  const limit = req.query.limit ?? String(LIST_PAGE_SIZE);
  if ((after !== undefined && typeof after !== 'string') || typeof limit !== 'string' || !/^[1-9][0-9]{0,2}$/.test(limit) || Number(limit) > LIST_PAGE_SIZE) {
    throw new CaError('malformed', 'bad paging parameters', { code: 'malformedQuery' });
  }
  return { after: after ? parseSerial(after) : undefined, limit: Number(limit) };
}

async function listedCas(ca: CaDeps): Promise<ListedCa[]> {
  return (await ca.cas.list()).map((c) => ({ name: c.record.name, commonName: c.certificate.subjectCommonName ?? c.record.name, hasOcsp: c.ocspCertificateDer !== null }));
}

/** Errors as friendly pages (or JSON problems): a 4xx for the visitor's mistakes, never a stack trace. */
function pageErrors(ca: CaDeps, log: StatusPageOptions['log']): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const l = locals(res);
    const ctx = l.ctx ?? pageContext(req, ca, ca.clock.now());
    const e = ctx.t.errors;
    const { status, code, title, message, form } = classify(err, e, l.retryAfterSeconds ?? 60);
    if (status >= 500) log?.('error', 'status page error', { error: err instanceof Error ? err.stack : String(err) });
    if (status === 429) res.setHeader('Retry-After', String(l.retryAfterSeconds ?? 60));
    if (res.headersSent) return;
    if (wantsJson(req)) {
      res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, code, detail: message }));
      return;
    }
    sendHtml(res, status, errorPage(ctx, title, message, { form, ...(l.serialValue !== undefined ? { serialValue: l.serialValue } : {}) }));
  };
}

type ErrorTexts = PageContext['t']['errors'];

function classify(err: unknown, e: ErrorTexts, retryAfter: number): { status: number; code: string; title: string; message: string; form: boolean } {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  const httpStatus = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  if (type === 'entity.too.large' || type === 'parameters.too.many') return { status: 413, code: 'bodyTooLarge', title: e.tooLargeTitle, message: e.tooLarge, form: true };
  if (isCaError(err)) {
    switch (err.code) {
      case 'invalidSerial':
        return { status: 400, code: err.code, title: e.badSerialTitle, message: e.badSerial, form: true };
      case 'invalidCertificate':
        return { status: 400, code: err.code, title: e.badCertificateTitle, message: e.badCertificate, form: true };
      case 'emptyLookup':
        return { status: 400, code: err.code, title: e.emptyTitle, message: e.empty, form: true };
      case 'unsupportedMediaType':
        return { status: 415, code: err.code, title: e.badRequestTitle, message: e.badRequest, form: true };
      case 'tooManyRequests':
        return { status: 429, code: err.code, title: e.rateLimitedTitle, message: e.rateLimited(retryAfter), form: false };
    }
    if (err.kind === 'notFound') return { status: 404, code: err.code, title: e.notFoundTitle, message: e.notFound, form: false };
    if (err.kind === 'malformed') return { status: 400, code: err.code, title: e.badRequestTitle, message: e.badRequest, form: true };
  }
  // body-parser's other refusals (bad encoding, charset): the client's, with their own 4xx.
  if (typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus < 500) return { status: httpStatus, code: 'badRequest', title: e.badRequestTitle, message: e.badRequest, form: true };
  return { status: 500, code: 'internal', title: e.internalTitle, message: e.internal, form: false };
}
