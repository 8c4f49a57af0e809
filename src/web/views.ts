import { createHash } from 'node:crypto';
import type { CertificateStatusEntry } from '../ca/queries.js';
import { formatSerialWithColons, type Serial } from '../domain/serial.js';
import type { CertificateInfo } from '../x509/inspect.js';
import type { OcspCertStatus } from '../x509/ocsp.js';
import type { CertificateFacts, PublicStatus } from './facts.js';
import { Html, html, type HtmlPart } from './html.js';
import { formatDate, typeName, type Lang, type Texts } from './i18n.js';

/** The status page's HTML: one layout, no scripts, the CSS inline and allowed by its hash (CSP). */

export interface PageContext {
  lang: Lang;
  t: Texts;
  /** An internal link, with ?lang= kept when the visitor chose the language that way. */
  link(path: string): string;
  /** The current URL in the other language. */
  switchHref: string;
  otherLang: Lang;
  /** The OCSP responder URL written into our certificates. */
  ocspUrl: string;
  now: Date;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:1.0625rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:#1b1b1b;background:#fff}
a{color:#0b4f9c}
a:visited{color:#5b2a86}
:focus-visible{outline:3px solid #c25e00;outline-offset:2px}
.skip{position:absolute;left:-9999px;top:0;background:#fff;color:#0b4f9c;padding:.5rem 1rem;border:2px solid #0b4f9c;z-index:1}
.skip:focus{left:.5rem;top:.5rem}
header,main,footer{max-width:48rem;margin:0 auto;padding:1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:baseline;border-bottom:1px solid #d0d7de}
.brand{font-weight:700;font-size:1.25rem;margin:0}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
.lang{margin-left:auto}
main:focus{outline:none}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.25rem;margin:1.75rem 0 .5rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{color:#4a4a4a;margin:.25rem 0;font-size:.95rem}
input[type=text],textarea{width:100%;font:inherit;padding:.5rem;border:2px solid #5a5a5a;border-radius:4px;background:#fff;color:#1b1b1b}
textarea{min-height:8rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
input[type=file]{font:inherit;max-width:100%}
button{font:inherit;font-weight:600;margin-top:.75rem;padding:.55rem 1.25rem;border:2px solid #0b4f9c;border-radius:4px;background:#0b4f9c;color:#fff;cursor:pointer}
button:hover{background:#083b75}
.status{border-left:.5rem solid #57606a;padding:.75rem 1rem;margin:1rem 0;border-radius:4px;background:#eef0f2}
.status h1{margin:0 0 .25rem}
.status p{margin:.25rem 0}
.valid{border-color:#1a7f37;background:#e9f6ec}
.suspended{border-color:#9a6700;background:#fff5db}
.revoked,.notIssued,.error{border-color:#b42318;background:#fdecea}
dl{display:grid;grid-template-columns:minmax(9rem,max-content) 1fr;gap:.35rem 1rem;margin:1rem 0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
code,.serial{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
.pager{display:flex;gap:1.5rem;margin:1rem 0}
footer{color:#4a4a4a;font-size:.9rem;border-top:1px solid #d0d7de;margin-top:2rem}
@media (max-width:34rem){dl{grid-template-columns:1fr;gap:.1rem}dd{margin-bottom:.5rem}h1{font-size:1.35rem}.lang{margin-left:0}}
`;

/** Ours and constant, so printed as is: the CSP hash is over exactly these bytes. */
const STYLE = new Html(CSS);
/** The CSP source of the one inline style sheet: the page runs no script at all. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`;

export function layout(ctx: PageContext, title: string, body: HtmlPart, current: 'check' | 'lists' | null): string {
  const { t } = ctx;
  const navLink = (href: string, text: string, here: boolean) => html`<li><a href="${ctx.link(href)}"${here ? html` aria-current="page"` : ''}>${text}</a></li>`;
  return html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — ${t.siteName}</title>
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">${t.skipLink}</a>
<header>
<p class="brand">${t.siteName}</p>
<nav aria-label="${t.siteName}"><ul>${navLink('/', t.navCheck, current === 'check')}${navLink('/lists', t.navLists, current === 'lists')}</ul></nav>
<a class="lang" href="${ctx.switchHref}" hreflang="${ctx.otherLang}" lang="${ctx.otherLang}">${t.otherLanguage}</a>
</header>
<main id="main" tabindex="-1">
${body}
</main>
<footer><p>${t.footer}</p></footer>
</body>
</html>
`.value;
}

function time(ctx: PageContext, d: Date): Html {
  return html`<time datetime="${d.toISOString()}">${formatDate(d, ctx.lang)}</time>`;
}

// ---- the lookup forms --------------------------------------------------------------------------

export function lookupForms(ctx: PageContext, serialValue = ''): Html {
  const { home } = ctx.t;
  return html`<h2 id="by-serial">${home.bySerial}</h2>
<form method="post" action="${ctx.link('/lookup')}" aria-labelledby="by-serial">
<label for="serial">${home.serialLabel}</label>
<p class="hint" id="serial-hint">${home.serialHint}</p>
<input type="text" id="serial" name="serial" value="${serialValue}" maxlength="128" autocomplete="off" autocapitalize="characters" spellcheck="false" required aria-describedby="serial-hint">
<button type="submit">${home.check}</button>
</form>
<h2 id="by-certificate">${home.byCertificate}</h2>
<form method="post" action="${ctx.link('/lookup')}" enctype="multipart/form-data" aria-labelledby="by-certificate">
<label for="pem">${home.pemLabel}</label>
<textarea id="pem" name="pem" rows="8" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"></textarea>
<label for="file">${home.fileLabel}</label>
<p class="hint" id="file-hint">${home.fileHint}</p>
<input type="file" id="file" name="file" accept=".pem,.crt,.cer,.der,application/pkix-cert,application/x-x509-ca-cert,application/x-pem-file" aria-describedby="file-hint">
<button type="submit">${home.check}</button>
</form>
<p>${home.privacy}</p>`;
}

export function homePage(ctx: PageContext): string {
  const { home } = ctx.t;
  return layout(ctx, home.title, html`<h1>${home.title}</h1>\n<p>${home.intro}</p>\n${lookupForms(ctx)}`, 'check');
}

// ---- results -----------------------------------------------------------------------------------

export function statusHeadline(t: Texts, status: PublicStatus): string {
  return t.result[status.kind];
}

export function statusDetail(ctx: PageContext, facts: Pick<CertificateFacts, 'status' | 'notAfter'>): HtmlPart {
  const { result } = ctx.t;
  const s = facts.status;
  switch (s.kind) {
    case 'valid':
      return html`<p>${paragraphWithTime(result.validDetail, ctx, facts.notAfter)}</p>`;
    case 'expired':
      return html`<p>${paragraphWithTime(result.expiredDetail, ctx, s.on)}</p>`;
    case 'suspended':
      return html`<p>${paragraphWithTime(result.suspendedDetail, ctx, s.since)}</p>`;
    case 'revoked':
      return html`<p>${paragraphWithTime((at) => result.revokedDetail(at, ctx.t.reason(s.reason)), ctx, s.at)}</p>${
        s.invalidityDate ? html`<p>${paragraphWithTime(result.invalidity, ctx, s.invalidityDate)}</p>` : ''
      }`;
    case 'notIssued':
      return html`<p>${result.unknownSerialDetail}</p>`;
  }
}

/** A sentence with one date in it, the date marked up as <time>. */
function paragraphWithTime(sentence: (date: string) => string, ctx: PageContext, d: Date): Html {
  const marker = '\u0000';
  const [before = '', after = ''] = sentence(marker).split(marker);
  return html`${before}${time(ctx, d)}${after}`;
}

export function ocspAnswerText(ocsp: OcspCertStatus): string {
  if (ocsp.kind === 'revoked') return `revoked (${ocsp.reason ?? 'no reason'})`;
  return ocsp.kind;
}

export function certificatePage(ctx: PageContext, f: CertificateFacts): string {
  const { result } = ctx.t;
  const headline = statusHeadline(ctx.t, f.status);
  const row = (label: string, value: HtmlPart) => (value === undefined ? '' : html`<dt>${label}</dt><dd>${value}</dd>\n`);
  const permalink = `/certificates/${f.serial}`;
  const body = html`<section class="status ${f.status.kind}" aria-labelledby="status-title">
<h1 id="status-title">${headline}</h1>
${statusDetail(ctx, f)}
</section>
<h2>${result.details}</h2>
<dl>
${row(result.serial, html`<span class="serial">${formatSerialWithColons(f.serial)}</span>`)}${row(result.type, typeName(f.profile, ctx.lang))}${row(result.commonName, f.subject.commonName)}${row(
    result.organization,
    f.subject.organization,
  )}${row(result.organizationalUnit, f.subject.organizationalUnit)}${row(result.organizationIdentifier, f.subject.organizationIdentifier)}${row(
    result.registrationNumber,
    f.subject.registrationNumber,
  )}${row(result.issuer, html`${f.ca.commonName} (<a href="${`/ca/${encodeURIComponent(f.ca.name)}.crt`}">${result.caCertificate}</a>)`)}${row(
    result.notBefore,
    time(ctx, f.notBefore),
  )}${row(result.notAfter, time(ctx, f.notAfter))}${row(
    result.ocspAnswer,
    f.ca.hasOcsp ? html`<code>${ocspAnswerText(f.ocsp)}</code> — <code>${ctx.ocspUrl}</code>` : ctx.t.lists.noOcsp,
  )}${row(result.checkedAt, time(ctx, ctx.now))}</dl>
<p>${result.permalink}: <a href="${ctx.link(permalink)}">${permalink}</a></p>
<p><a href="${ctx.link('/')}">${result.checkAnother}</a></p>`;
  return layout(ctx, headline, body, null);
}

/** 404: a serial we never issued (or only reserved: OCSP says unknown). */
export function notIssuedPage(ctx: PageContext, serial: Serial): string {
  const { result } = ctx.t;
  const body = html`<section class="status notIssued" aria-labelledby="status-title">
<h1 id="status-title">${result.notIssued}</h1>
<p>${result.unknownSerialDetail}</p>
</section>
<dl><dt>${result.serial}</dt><dd class="serial">${formatSerialWithColons(serial)}</dd></dl>
${lookupForms(ctx)}`;
  return layout(ctx, result.notIssued, body, null);
}

/** A pasted certificate that is not one of ours: what it claims, never the status of a namesake. */
export function foreignPage(ctx: PageContext, info: CertificateInfo): string {
  const { result } = ctx.t;
  const body = html`<section class="status notIssued" aria-labelledby="status-title">
<h1 id="status-title">${result.notIssued}</h1>
<p>${result.foreignDetail}</p>
</section>
<dl>
<dt>${result.serialInCertificate}</dt><dd class="serial">${formatSerialWithColons(info.serial)}</dd>
<dt>${result.issuerInCertificate}</dt><dd>${info.issuer}</dd>
</dl>
${lookupForms(ctx)}`;
  return layout(ctx, result.notIssued, body, null);
}

// ---- lists -------------------------------------------------------------------------------------

export interface ListedCa {
  name: string;
  commonName: string;
  hasOcsp: boolean;
}

function downloads(ctx: PageContext, ca: ListedCa): Html {
  const { lists } = ctx.t;
  const file = encodeURIComponent(ca.name);
  return html`<ul>
<li><a href="/ca/${file}.crt">${lists.caCertificate}</a> <code>/ca/${ca.name}.crt</code></li>
<li><a href="/crl/${file}.crl">${lists.fullCrl}</a> <code>/crl/${ca.name}.crl</code></li>
<li><a href="/crl/${file}-delta.crl">${lists.deltaCrl}</a> <code>/crl/${ca.name}-delta.crl</code></li>
<li>${ca.hasOcsp ? html`${lists.ocsp}: <code>${ctx.ocspUrl}</code>` : lists.noOcsp}</li>
</ul>`;
}

export function listsIndexPage(ctx: PageContext, cas: ListedCa[]): string {
  const { lists } = ctx.t;
  const sections = cas.map(
    (ca) => html`<h2>${ca.commonName}</h2>
${downloads(ctx, ca)}
<p><a href="${ctx.link(`/lists/${encodeURIComponent(ca.name)}`)}">${lists.viewList}: ${ca.commonName}</a></p>
`,
  );
  return layout(ctx, lists.title, html`<h1>${lists.title}</h1>\n<p>${lists.intro}</p>\n${sections}`, 'lists');
}

export interface ListPageInput {
  ca: ListedCa;
  entries: (CertificateStatusEntry & { at: Date })[];
  /** Link to the next page, or null on the last page; `first` when this is not the first page. */
  nextHref: string | null;
  firstHref: string | null;
}

export function caListPage(ctx: PageContext, input: ListPageInput): string {
  const { lists } = ctx.t;
  const title = lists.caTitle(input.ca.commonName);
  const rows = input.entries.map(
    (e) => html`<tr><td><a class="serial" href="${ctx.link(`/certificates/${e.serial}`)}">${formatSerialWithColons(e.serial)}</a></td><td>${
      e.status === 'suspended' ? lists.suspended : lists.revoked
    }</td><td>${time(ctx, e.at)}</td><td>${e.status === 'suspended' ? '' : ctx.t.reason(e.revocationReason)}</td></tr>\n`,
  );
  const table =
    input.entries.length === 0
      ? html`<p>${lists.empty}</p>`
      : html`<div class="table"><table>
<caption>${lists.caption(input.ca.commonName)}</caption>
<thead><tr><th scope="col">${lists.serial}</th><th scope="col">${lists.status}</th><th scope="col">${lists.date}</th><th scope="col">${lists.reason}</th></tr></thead>
<tbody>
${rows}</tbody>
</table></div>`;
  const pager =
    input.nextHref || input.firstHref
      ? html`<nav class="pager" aria-label="${lists.title}">${input.firstHref ? html`<a href="${input.firstHref}">${lists.first}</a>` : ''}${
          input.nextHref ? html`<a href="${input.nextHref}" rel="next">${lists.next}</a>` : ''
        }</nav>`
      : '';
  const body = html`<h1>${title}</h1>
<p>${lists.intro}</p>
${table}
${pager}
<h2>${lists.downloads}</h2>
${downloads(ctx, input.ca)}`;
  return layout(ctx, title, body, 'lists');
}

// ---- errors ------------------------------------------------------------------------------------

export function errorPage(ctx: PageContext, title: string, message: string, opts: { form: boolean; serialValue?: string }): string {
  const body = html`<section class="status error" aria-labelledby="status-title">
<h1 id="status-title">${title}</h1>
<p>${message}</p>
</section>
${opts.form ? lookupForms(ctx, opts.serialValue ?? '') : html`<p><a href="${ctx.link('/')}">${ctx.t.errors.back}</a></p>`}`;
  return layout(ctx, title, body, null);
}
