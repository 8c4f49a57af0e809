import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OcspAnswer, OcspResponder, OcspResult } from '../ocsp/responder.js';
import { ocspErrorResponse } from '../x509/ocsp.js';

/** RFC 5019 §2.1.1 requests are tiny; a few certificates with a nonce stay far below this. */
export const MAX_OCSP_REQUEST_BYTES = 16 * 1024;
const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

type Log = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Told of every answer (metrics, debug log). It runs on the hot path: counters and a histogram
 * of plain numbers, nothing that allocates per request (see observability.ts).
 */
export interface OcspObserver {
  /** `startedAt`: performance.now() when the request arrived. */
  answered(result: OcspResult, status: number, method: string, startedAt: number): void;
}

const UNOBSERVED: OcspObserver = { answered: () => {} };

/**
 * OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5): POST /ocsp with application/ocsp-request,
 * GET /ocsp/{url-encoded base64}. On the raw node:http request, in front of express: this is the
 * hot path, and a router's work per request would be most of its cost. Returns false for any
 * other URL.
 */
export function createOcspHandler(responder: OcspResponder, log: Log, observer: OcspObserver = UNOBSERVED): (req: IncomingMessage, res: ServerResponse) => boolean {
  // The common case, a request answered before, is answered synchronously in the 'end' handler:
  // no promise, no parsing (OcspResponder.respondCached); anything else takes respond().
  const reply = (body: Uint8Array, req: IncomingMessage, res: ServerResponse, cacheable: boolean, startedAt: number): void => {
    const cached = responder.respondCached(body);
    if (cached) {
      send(res, cached, cacheable);
      observer.answered(cached.result, 200, req.method!, startedAt);
    } else {
      void answer(responder, body, res, cacheable, log).then((result) => observer.answered(result, result === 'tryLater' ? 503 : 200, req.method!, startedAt));
    }
  };
  const refused = (req: IncomingMessage, res: ServerResponse, status: 400 | 413, startedAt: number): void => {
    refuse(res, status);
    observer.answered('malformed', status, req.method!, startedAt);
  };
  return (req, res) => {
    const url = req.url ?? '';
    if (url !== '/ocsp' && !url.startsWith('/ocsp/')) return false;
    const startedAt = performance.now();
    if (req.method === 'POST' && url === '/ocsp') {
      readBody(req, MAX_OCSP_REQUEST_BYTES, (body) => (body ? reply(body, req, res, false, startedAt) : refused(req, res, 413, startedAt)));
      return true;
    }
    if (req.method === 'GET' && url.length > 6) {
      const encoded = url.slice('/ocsp/'.length);
      let body: Buffer | null = null;
      try {
        // Base64 in a URL path: '/' and '+' arrive percent-encoded or not, depending on the client.
        body = encoded.length <= MAX_OCSP_REQUEST_BYTES * 2 ? Buffer.from(decodeURIComponent(encoded), 'base64') : null;
      } catch {
        body = null;
      }
      if (!body || body.length === 0) refused(req, res, 400, startedAt);
      else reply(body, req, res, true, startedAt);
      return true;
    }
    res.writeHead(405, { allow: 'GET, POST', 'content-type': OCSP_RESPONSE_TYPE });
    res.end(ocspErrorResponse('malformedRequest'));
    observer.answered('malformed', 405, req.method ?? '', startedAt);
    return true;
  };
}

async function answer(responder: OcspResponder, body: Uint8Array, res: ServerResponse, cacheable: boolean, log: Log): Promise<OcspResult> {
  let a: OcspAnswer;
  try {
    a = await responder.respond(body);
  } catch (e) {
    log('error', 'OCSP responder failed', { error: e instanceof Error ? e.message : String(e) });
    a = { der: ocspErrorResponse('internalError'), result: 'internalError', nextUpdate: null, thisUpdate: null };
  }
  send(res, a, cacheable);
  return a.result;
}

function send(res: ServerResponse, a: OcspAnswer, cacheable: boolean): void {
  const headers: Record<string, string | number> = { 'content-type': OCSP_RESPONSE_TYPE, 'content-length': a.der.length };
  if (cacheable && a.nextUpdate && a.thisUpdate) {
    // RFC 5019 §6.2: let HTTP caches keep the answer until its nextUpdate.
    const maxAge = Math.max(0, Math.floor((a.nextUpdate.getTime() - Date.now()) / 1000));
    headers['cache-control'] = `max-age=${maxAge}, public, no-transform, must-revalidate`;
    headers['last-modified'] = a.thisUpdate.toUTCString();
    headers.expires = a.nextUpdate.toUTCString();
  } else {
    headers['cache-control'] = 'no-store';
  }
  // tryLater: the database or the responder key is away. 503 with Retry-After tells load balancers
  // and HTTP clients too; the body is still the OCSP answer (RFC 6960 §2.3) for OCSP clients.
  if (a.result === 'tryLater') headers['retry-after'] = 5;
  res.writeHead(a.result === 'tryLater' ? 503 : 200, headers);
  res.end(a.der);
}

function refuse(res: ServerResponse, status: 400 | 413): void {
  if (res.headersSent) return;
  const der = ocspErrorResponse('malformedRequest');
  res.writeHead(status, { 'content-type': OCSP_RESPONSE_TYPE, 'content-length': der.length, connection: status === 413 ? 'close' : 'keep-alive' });
  res.end(der);
}

/** The whole body, or null once it exceeds `limit` (the rest is read and dropped; the 413 then closes the connection). */
function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | null) => void): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    done(null);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  req.on('end', () => done(size > limit ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  req.on('error', () => {}); // the client went away: nobody to answer
}
