import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createApp } from '../../src/api/app.js';
import { CaError } from '../../src/errors.js';
import { createLogger } from '../../src/logging.js';
import { ServiceMetrics } from '../../src/metrics.js';
import { KeyRegistry } from '../../src/signing/registry.js';
import type { KeyStore, Signer } from '../../src/signing/types.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { createPkcs11KeyStore, ensureSoftHsmToken } from '../../hsm/index.js';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { checkReadiness } from '../../src/ca/readiness.js';
import { openTestContext } from '../helpers/context.js';
import { testDatabaseKind } from '../helpers/env.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * Operations: GET /metrics (Prometheus text format) moves with what the service does, the
 * readiness probe tells a working node from one whose database is gone, and every request gets
 * an id (the caller's when it is a plain token) echoed in X-Request-Id.
 */
let pki: PkiFixture;

beforeAll(async () => {
  pki = await openPkiFixture();
}, 120_000);
afterAll(async () => {
  await pki?.close();
});

/** One sample of the exposition: name{labels} value, matched on the labels given (others ignored). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(): Promise<string> {
  const res = await fetch(`${pki.server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

function ocspRequestFor(serial: string): Uint8Array {
  const ca = inspectCertificate(decodePemOrDer(readFileSync(pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
  return buildOcspRequest([buildCertId('sha1', ca.subjectNameDer, ca.subjectPublicKeySpki, serial as never)]);
}

async function postOcsp(body: Uint8Array) {
  const res = await fetch(`${pki.server.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body });
  return inspectOcspResponse(new Uint8Array(await res.arrayBuffer()));
}

describe('GET /metrics', () => {
  it('counts issuance, status changes, OCSP answers by result and HTTP requests by route template', async () => {
    const before = await scrape();
    const issuedBefore = sample(before, 'eimza_certificates_issued_total', { ca: 'eimza', profile: 'authentication' }) ?? 0;
    const suspendsBefore = sample(before, 'eimza_certificate_status_changes_total', { action: 'suspend' });
    expect(suspendsBefore).toBeDefined();
    const revokedAnswersBefore = sample(before, 'eimza_ocsp_requests_total', { result: 'revoked' })!;
    const malformedBefore = sample(before, 'eimza_ocsp_requests_total', { result: 'malformed' })!;
    const ocspCountBefore = sample(before, 'eimza_ocsp_request_duration_seconds_count')!;
    expect([revokedAnswersBefore, malformedBefore, ocspCountBefore].every((v) => Number.isFinite(v))).toBe(true);

    const { serial } = await pki.issue('observed');
    const suspended = await fetch(`${pki.server.url}/api/v1/certificates/${serial}/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pki.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'metrics test' }),
    });
    expect(suspended.status).toBe(200);
    // Twice: the second is answered from the request cache, the fast path.
    const request = ocspRequestFor(serial);
    for (let i = 0; i < 2; i++) expect((await postOcsp(request)).responses![0]!.status).toMatchObject({ kind: 'revoked', reason: 'certificateHold' });
    const garbage = await fetch(`${pki.server.url}/ocsp/bm90IGFuIE9DU1AgcmVxdWVzdA==`); // "not an OCSP request"
    expect(inspectOcspResponse(new Uint8Array(await garbage.arrayBuffer())).status).toBe('malformedRequest');

    const after = await scrape();
    expect(sample(after, 'eimza_certificates_issued_total', { ca: 'eimza', profile: 'authentication' })).toBe(issuedBefore + 1);
    expect(sample(after, 'eimza_certificate_status_changes_total', { action: 'suspend' })).toBe(suspendsBefore! + 1);
    expect(sample(after, 'eimza_ocsp_requests_total', { result: 'revoked' })).toBe(revokedAnswersBefore + 2);
    expect(sample(after, 'eimza_ocsp_requests_total', { result: 'malformed' })).toBe(malformedBefore + 1);
    expect(sample(after, 'eimza_ocsp_request_duration_seconds_count')).toBe(ocspCountBefore + 3);
    expect(sample(after, 'eimza_ocsp_request_duration_seconds_bucket', { le: '+Inf' })).toBe(ocspCountBefore + 3);
    expect(sample(after, 'eimza_ocsp_request_duration_seconds_sum')).toBeGreaterThan(0);
    expect(after).toMatch(/# TYPE eimza_ocsp_request_duration_seconds histogram/);

    // By route template: the serial is not a label value.
    const route = { method: 'POST', route: '/api/v1/certificates/:serial/suspend', status: '200' };
    expect(sample(after, 'eimza_http_requests_total', route)).toBe(1);
    expect(sample(after, 'eimza_http_request_duration_seconds_count', { method: 'POST', route: route.route })).toBe(1);
    expect(after).not.toContain(serial);
    expect(sample(after, 'eimza_http_requests_total', { route: 'unmatched' })).toBeUndefined();
    await fetch(`${pki.server.url}/no/such/${serial}`);
    expect(sample(await scrape(), 'eimza_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);

    expect(sample(after, 'eimza_hsm_errors_total', { operation: 'sign' })).toBe(0);
    expect(sample(after, 'eimza_notifications_queued')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'eimza_batch_items_queued')).toBe(0); // no batch submitted here
    // The embedded database's thread reports its memory; PostgreSQL has no such thread here.
    if (testDatabaseKind === 'postgres') {
      expect(sample(after, 'eimza_embedded_database_memory_bytes', { area: 'webassembly' })).toBeUndefined();
    } else {
      expect(sample(after, 'eimza_embedded_database_memory_bytes', { area: 'webassembly' })).toBeGreaterThan(64 * 1024 * 1024);
      expect(sample(after, 'eimza_embedded_database_memory_bytes', { area: 'heap' })).toBeGreaterThan(0);
    }
    // Node's own metrics are there too.
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after).toContain('nodejs_eventloop_lag_seconds');
  });

  it('reports the age of each CA’s newest CRL, read when scraped', async () => {
    // The publisher's first round starts with the server; wait for it to have seen the eimza CA.
    let age: number | undefined;
    for (let i = 0; i < 100 && age === undefined; i++) {
      age = sample(await scrape(), 'eimza_crl_age_seconds', { ca: 'eimza', kind: 'full' });
      if (age === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
    await new Promise((r) => setTimeout(r, 1100));
    expect(sample(await scrape(), 'eimza_crl_age_seconds', { ca: 'eimza', kind: 'full' })).toBeGreaterThan(age!);
  });

  it('counts key store calls that fail with hsmUnavailable', async () => {
    const metrics = new ServiceMetrics({ now: () => new Date(), crlPublications: () => [], queuedNotifications: async () => 0, queuedBatchItems: async () => 0, embeddedDatabaseMemory: async () => null });
    const broken: Signer = {
      keyUri: 'file:broken',
      algorithm: { kind: 'ec', curve: 'P-256' },
      publicKeySpki: new Uint8Array(),
      sign: async () => {
        throw new CaError('hsmUnavailable', 'the device went away', { code: 'hsmUnavailable' });
      },
    };
    const store: KeyStore = {
      kind: 'software',
      generateKey: async () => broken,
      openSigner: async () => broken,
      close: async () => {},
    };
    const keys = new KeyRegistry({ software: async () => store }, 'software', (operation) => metrics.hsmError(operation));
    const signer = await keys.openSigner('file:broken');
    for (let i = 0; i < 2; i++) await expect(signer.sign(new Uint8Array([1]))).rejects.toMatchObject({ kind: 'hsmUnavailable' });
    const failing = new KeyRegistry(
      {
        software: async () => {
          throw new CaError('hsmUnavailable', 'no token', { code: 'hsmTokenNotFound' });
        },
      },
      'software',
      (operation) => metrics.hsmError(operation),
    );
    await expect(failing.openSigner('file:any')).rejects.toMatchObject({ code: 'hsmTokenNotFound' });
    await expect(failing.openSigner('file:other')).rejects.toBeInstanceOf(CaError);
    const text = await metrics.exposition();
    expect(sample(text, 'eimza_hsm_errors_total', { operation: 'sign' })).toBe(2);
    expect(sample(text, 'eimza_hsm_errors_total', { operation: 'open' })).toBe(2);
    // A refusal that is not the HSM's fault is not an HSM error.
    const refusing = new KeyRegistry({}, 'software', (operation) => metrics.hsmError(operation));
    expect(() => refusing.openSigner('nokey:x')).toThrow(CaError);
    expect(sample(await metrics.exposition(), 'eimza_hsm_errors_total', { operation: 'open' })).toBe(2);
  });

  it('is not served when turned off', async () => {
    const app = createApp({ ca: pki.ctx.ca, ra: pki.ctx.ra, crl: pki.ctx.crl, log: () => {}, metrics: pki.ctx.metrics, metricsAccess: 'off' });
    await withServer(app, async (url) => {
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    });
  });
});

describe('liveness and readiness', () => {
  it('is live and ready while the database and the key store work', async () => {
    const live = await fetch(`${pki.server.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'live' });
    const ready = await fetch(`${pki.server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', keyStore: 'ok' } });
    // The old /health stays as it was.
    expect(await (await fetch(`${pki.server.url}/health`)).json()).toMatchObject({ status: 'ok', cas: expect.arrayContaining(['eimza']) });
  });

  it('is live but not ready (503, database failed) once the database is gone', async () => {
    const ctx = await openTestContext();
    try {
      const app = createApp({ ca: ctx.ca, ra: ctx.ra, crl: ctx.crl, log: () => {}, metrics: ctx.metrics });
      await withServer(app, async (url) => {
        expect((await fetch(`${url}/health/ready`)).status).toBe(200);
        await ctx.db.destroy();
        const ready = await fetch(`${url}/health/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toEqual({ status: 'unavailable', checks: { database: 'failed', keyStore: 'ok' } });
        expect((await fetch(`${url}/health/live`)).status).toBe(200);
        // A scrape still answers; the gauge that needs the database says it does not know.
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(text).toContain('eimza_certificates_issued_total');
        expect(sample(text, 'eimza_notifications_queued')).toBeNaN();
        expect(sample(text, 'eimza_batch_items_queued')).toBeNaN();
      });
    } finally {
      await ctx.dispose();
    }
  });
});

describe('readiness with the CA keys in a PKCS#11 token (SoftHSM)', () => {
  it('opens every CA and OCSP key and asks the token; a closed key store is not ready', async () => {
    const ctx = await openTestContext({ keyStore: 'pkcs11' });
    try {
      await runOperation(operationContext(ctx, 'test', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' }), 'ca.init', {});
      expect(await checkReadiness(ctx.ca)).toEqual({ ready: true, checks: { database: 'ok', keyStore: 'ok' } });
      const token = await ensureSoftHsmToken({ directory: path.join(ctx.dataDir, 'softhsm'), tokenLabel: ctx.config.keyStore.pkcs11.tokenLabel });
      const store = await createPkcs11KeyStore({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin });
      await expect(store.check!()).resolves.toBeUndefined();
      await store.close();
      await expect(store.check!()).rejects.toMatchObject({ kind: 'hsmUnavailable' });
    } finally {
      await ctx.dispose();
    }
  }, 120_000);
});

describe('request ids', () => {
  it('echoes a plain X-Request-Id, and replaces a missing or odd one with a fresh UUID', async () => {
    const given = await fetch(`${pki.server.url}/health/live`, { headers: { 'x-request-id': 'lb-7f3a.42:x' } });
    expect(given.headers.get('x-request-id')).toBe('lb-7f3a.42:x');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const odd of ['two words', 'x'.repeat(200), 'id"with"quotes', `eimza_${'A'.repeat(43)}`]) {
      const res = await fetch(`${pki.server.url}/api/v1/certificates/00`, { headers: { 'x-request-id': odd } });
      expect(res.headers.get('x-request-id')).toMatch(uuid);
    }
    const none = await fetch(`${pki.server.url}/no/such/path`);
    const a = none.headers.get('x-request-id');
    const b = (await fetch(`${pki.server.url}/no/such/path`)).headers.get('x-request-id');
    expect(a).toMatch(uuid);
    expect(b).toMatch(uuid);
    expect(a).not.toBe(b);
  });

  it('puts the id in the access line and in the error line of that request; the path has no query string', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const failing = { ...pki.ctx.ca, cas: { ...pki.ctx.ca.cas, list: () => Promise.reject(new Error('the disk caught fire')) } } as unknown as typeof pki.ctx.ca;
    const app = createApp({ ca: failing, ra: pki.ctx.ra, crl: pki.ctx.crl, log: (level, message, fields) => logger[level](fields ?? {}, message), logger });
    await withServer(app, async (url) => {
      const res = await fetch(`${url}/ca/eimza.crt`, { headers: { 'x-request-id': 'req-42' } });
      expect(res.status).toBe(500);
      expect(res.headers.get('x-request-id')).toBe('req-42');
      expect((await fetch(`${url}/no/such?fin=5ZX2K7Q`, { headers: { 'x-request-id': 'req-43' } })).status).toBe(404);
      await new Promise((r) => setTimeout(r, 50));
    });
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const error = entries.find((e) => e.msg === 'unexpected error');
    expect(error).toMatchObject({ level: 'error', requestId: 'req-42' });
    expect(String(error!.error)).toContain('the disk caught fire');
    const access = entries.find((e) => e.msg === 'request' && e.requestId === 'req-42');
    expect(access).toMatchObject({ level: 'info', method: 'GET', path: '/ca/:file', status: 500, code: 'internal' });
    expect(access!.durationMs).toEqual(expect.any(Number));
    expect(entries.find((e) => e.requestId === 'req-43')).toMatchObject({ msg: 'request', path: '/no/such', status: 404 });
    expect(lines.join('')).not.toContain('5ZX2K7Q');
  });
});

async function withServer<T>(app: http.RequestListener, run: (url: string) => Promise<T>): Promise<T> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
