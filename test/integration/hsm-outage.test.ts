import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verify } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Module, type Slot } from 'graphene-pk11';
import { createPkcs11KeyStore } from '../../hsm/pkcs11-keystore.js';
import { acquireModule, moduleGeneration, releaseModule } from '../../hsm/pkcs11-module.js';
import { parsePkcs11Uri } from '../../hsm/pkcs11-uri.js';
import { ensureSoftHsmToken, type SoftHsmToken } from '../../hsm/softhsm.js';
import { reconcileReservations } from '../../src/ca/reconcile.js';
import type { KeyStore, Signer } from '../../src/signing/types.js';
import { findCertificate, listStaleReservations } from '../../src/store/certificates.js';
import type { Serial } from '../../src/domain/serial.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { opensslCsr } from '../helpers/csr.js';
import { execFileAsync, openssl, removeDir, tempDir } from '../helpers/env.js';
import { openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * Issue 7: the HSM (a SoftHSM2 token) goes away under a running CA and comes back. While it is
 * away every signature fails fast with hsmUnavailable (HTTP 503, problem+json), /health/ready says
 * not ready, nothing half-written stays; when it is back the service reconnects by itself, with no
 * restart. The ways of losing it are those measured in docs/hsm.md ("Token removed or sessions
 * lost"): the token's directory moved out of SoftHSM's tokendir and back, every session closed
 * from outside the pool (C_CloseAllSessions), the module finalized from outside (C_Finalize).
 *
 * Each describe has its own SoftHSM configuration and token directory, one after the other:
 * SoftHSM reads SOFTHSM2_CONF at C_Initialize, once per process.
 */
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const LABEL = 'e-imza CA';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves the token's directory out of SoftHSM's tokendir (`<dir>/tokens`), and back. */
function tokenMover(softhsmDir: string) {
  const tokens = path.join(softhsmDir, 'tokens');
  const away = path.join(softhsmDir, 'away');
  let moved: string | undefined;
  return {
    remove() {
      const [uuid] = readdirSync(tokens);
      if (!uuid) throw new Error('no token directory');
      moved = uuid;
      renameSync(path.join(tokens, uuid), path.join(away));
    },
    putBack() {
      if (moved === undefined || !existsSync(away)) return;
      renameSync(away, path.join(tokens, moved));
      moved = undefined;
    },
  };
}

/** Independent witness: which token labels OpenSC's pkcs11-tool sees through this configuration. */
async function visibleTokenLabels(confPath: string): Promise<string[]> {
  const { stdout } = await execFileAsync('pkcs11-tool', ['--module', MODULE, '--list-token-slots'], { env: { ...process.env, SOFTHSM2_CONF: confPath } }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  return [...stdout.matchAll(/token label\s*:\s*(.*)$/gm)].map((m) => m[1]!.trim());
}

/**
 * Our own handle on the same library: the same process, so the same Cryptoki state as the key
 * store's. C_CloseAllSessions and C_Finalize through it act on the store's sessions.
 */
function outsideTheStore<T>(act: (module: Module, slot: Slot) => T): T {
  const module = Module.load(MODULE);
  try {
    module.initialize({ flags: 2 }); // CKR_CRYPTOKI_ALREADY_INITIALIZED: graphene ignores it
    const slot = Array.from(module.getSlots(true)).find((s) => s.getToken().label === LABEL);
    if (!slot) throw new Error('token not found');
    return act(module, slot);
  } finally {
    module.close();
  }
}

describe('a CA on a SoftHSM token, over HTTP, while the token goes away and comes back', () => {
  let f: RaFixture;
  let softhsmDir: string;
  let token: ReturnType<typeof tokenMover>;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    f = await openRaFixture({ configure: (config) => {
        config.keyStore.backend = 'pkcs11';
      } });
    softhsmDir = path.join(f.pki.ctx.dataDir, 'softhsm');
    token = tokenMover(softhsmDir);
  }, 180_000);

  afterAll(async () => {
    token?.putBack();
    await f?.close();
    // What was measured, for docs/hsm.md.
    if (Object.keys(timings).length) console.log(`hsm-outage timings (ms): ${JSON.stringify(timings)}`);
  });

  async function issue(name: string, applicationId?: string) {
    const id = applicationId ?? (await f.approvedApplication());
    const { csrPem } = await opensslCsr(f.dir, name);
    const started = performance.now();
    const r = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type: 'authentication', csr: csrPem });
    return { ...r, id, csrPem, ms: performance.now() - started };
  }

  /** The certificate of a 201, written to `<dir>/<name>.pem` with its chain, verified by OpenSSL against the root. */
  async function verified(name: string, issued: { status: number; body: { certificate: string; chain: string } }): Promise<string> {
    expect(issued.status).toBe(201);
    const certPath = path.join(f.dir, `${name}.pem`);
    const chainPath = path.join(f.dir, `${name}-chain.pem`);
    writeFileSync(certPath, issued.body.certificate);
    writeFileSync(chainPath, issued.body.chain);
    const r = await openssl(['verify', '-x509_strict', '-CAfile', f.pki.pem('root'), '-untrusted', chainPath, certPath]);
    expect(r.stdout).toContain(': OK');
    return certPath;
  }

  const ready = () => f.api('GET', '/health/ready', null);

  /** `openssl ocsp` as a relying party: "good", or the responder's error ("trylater"). */
  async function ocspStatus(certPath: string, nonce: boolean): Promise<string> {
    const r = await openssl([
      'ocsp', '-issuer', f.pki.pem('eimza'), '-cert', certPath, '-url', `${f.url}/ocsp`, '-CAfile', f.pki.pem('root'), ...(nonce ? [] : ['-no_nonce']),
    ]);
    const out = r.stdout + r.stderr;
    if (/Responder Error: trylater/.test(out)) return 'trylater';
    return new RegExp(`${certPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\w+)`).exec(out)?.[1] ?? out;
  }

  /**
   * The same question by hand, for the answers `openssl ocsp` does not show (it gives up on the
   * HTTP 503 that goes with tryLater): HTTP status, Retry-After and the OCSP response status.
   */
  async function ocspByHand(serial: string, nonce: boolean) {
    const issuer = inspectCertificate(decodePemOrDer(readFileSync(f.pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
    const certId = buildCertId('sha1', issuer.subjectNameDer, issuer.subjectPublicKeySpki, serial as Serial);
    const res = await fetch(`${f.url}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: buildOcspRequest([certId], nonce ? Buffer.from('0123456789abcdef') : undefined),
    });
    const info = inspectOcspResponse(new Uint8Array(await res.arrayBuffer()));
    return { http: res.status, retryAfter: res.headers.get('retry-after'), status: info.status, cert: info.responses?.[0]?.status.kind };
  }

  let cachedCert: string; // asked over OCSP while the token was there
  let cachedSerial: string;
  let neverAsked: string; // never asked: no answer signed for it
  let neverAskedSerial: string;
  const failedApplications: string[] = [];
  let failedCsr: string; // the CSR of the second failed attempt

  it('keeps every CA and OCSP key on the token, and issues certificates OpenSSL verifies', async () => {
    for (const ca of await f.pki.ctx.ca.cas.list()) {
      expect(ca.record.keyUri).toMatch(/^pkcs11:token=e-imza%20CA;/);
      if (ca.record.ocspKeyUri) expect(ca.record.ocspKeyUri).toMatch(/^pkcs11:/);
    }
    const before = await issue('before');
    timings['issue with the token there'] = Math.round(before.ms);
    cachedCert = await verified('before', before);
    cachedSerial = before.body.serial;
    expect(await ocspStatus(cachedCert, false)).toBe('good');
    expect((await ready()).status).toBe(200);
  });

  it('sessions lost (C_CloseAllSessions from outside the pool): the next issuance opens new ones and logs in again, unseen by the client', async () => {
    await sleep(1100); // past the reconnect interval of any earlier reconnect
    outsideTheStore((_module, slot) => slot.closeAll());
    const issued = await issue('after-close-all');
    neverAsked = await verified('after-close-all', issued);
    neverAskedSerial = issued.body.serial;
    timings['issue after C_CloseAllSessions'] = Math.round(issued.ms);
    expect((await ready()).status).toBe(200);
  });

  it('module finalized from outside (C_Finalize): the store initializes it again, unseen by the client', async () => {
    await sleep(1100);
    outsideTheStore((module) => module.finalize());
    const issued = await issue('after-finalize');
    await verified('after-finalize', issued);
    timings['issue after C_Finalize'] = Math.round(issued.ms);
    expect((await ready()).status).toBe(200);
  });

  it('token removed: issuance fails fast with 503 hsmUnavailable (problem+json) and /health/ready is not ready', async () => {
    await sleep(1100);
    token.remove();
    expect(await visibleTokenLabels(path.join(softhsmDir, 'softhsm2.conf'))).not.toContain(LABEL);

    const first = await issue('removed-1');
    expect({ status: first.status, code: first.body.code }).toEqual({ status: 503, code: 'hsmUnavailable' });
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(first.body.detail).toContain('e-imza CA');
    // Within the reconnect interval the store does not even call the module.
    const second = await issue('removed-2');
    expect({ status: second.status, code: second.body.code }).toEqual({ status: 503, code: 'hsmUnavailable' });
    expect(second.body.detail).toMatch(/next reconnect attempt in \d+ ms/);
    failedApplications.push(first.id, second.id);
    failedCsr = second.csrPem;
    timings['503 with the token just removed'] = Math.round(first.ms);
    timings['503 within the reconnect interval'] = Math.round(second.ms);
    expect(first.ms).toBeLessThan(5000);
    expect(second.ms).toBeLessThan(5000);

    const notReady = await ready();
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'unavailable', checks: { database: 'ok', keyStore: 'failed' } });

    // Ten more in parallel: all 503, none a 500, none hanging.
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => issue(`removed-burst-${i}`)));
    expect(new Set(burst.map((r) => `${r.status} ${r.body.code}`))).toEqual(new Set(['503 hsmUnavailable']));
    failedApplications.push(...burst.map((r) => r.id));
    const pin = readFileSync(path.join(softhsmDir, 'user.pin'), 'utf8').trim();
    for (const r of [first, second, ...burst]) expect(JSON.stringify(r.body)).not.toContain(pin);
    timings['slowest of 10 parallel 503s'] = Math.round(Math.max(...burst.map((r) => r.ms)));

    const metrics = await fetch(`${f.url}/metrics`).then((r) => r.text());
    expect(Number(/^eimza_hsm_errors_total\{operation="sign"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('nothing half-written: each failed attempt left a reserved serial (its TBS, no certificate) and its application still approved and unissued', async () => {
    const reserved = await listStaleReservations(f.pki.ctx.ca.db, new Date(Date.now() + 3_600_000));
    expect(reserved).toHaveLength(failedApplications.length);
    for (const r of reserved) {
      expect(r.status).toBe('reserved');
      expect(r.der).toBeNull();
      expect(r.tbs?.length).toBeGreaterThan(0);
    }
    for (const id of failedApplications) {
      const application = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
      expect(application.status).toBe(200);
      expect(application.body.state).toBe('approved');
      expect(application.body.certificates.filter((c: { serial: string | null }) => c.serial)).toEqual([]);
    }
  });

  it('OCSP while the token is away: answers signed before are still served, anything needing a new signature gets tryLater', async () => {
    expect(await ocspStatus(cachedCert, false)).toBe('good');
    expect(await ocspByHand(cachedSerial, false)).toEqual({ http: 200, retryAfter: null, status: 'successful', cert: 'good' });
    // A nonce needs a live signature; for the other certificate nothing was pre-signed yet. (The
    // HTTP status of a tryLater answer is the OCSP endpoint's business: 200, or 503 with Retry-After.)
    for (const answer of [await ocspByHand(cachedSerial, true), await ocspByHand(neverAskedSerial, false)]) {
      expect({ status: answer.status, cert: answer.cert }).toEqual({ status: 'tryLater', cert: undefined });
      expect([200, 503]).toContain(answer.http);
    }
  });

  it('token back: ready again by itself, and issuance works again with no restart', async () => {
    token.putBack();
    expect(await visibleTokenLabels(path.join(softhsmDir, 'softhsm2.conf'))).toContain(LABEL);
    const started = performance.now();
    let r = await ready();
    while (r.status !== 200 && performance.now() - started < 10_000) {
      await sleep(100);
      r = await ready();
    }
    timings['token back to ready'] = Math.round(performance.now() - started);
    expect(r.body).toMatchObject({ status: 'ready', checks: { database: 'ok', keyStore: 'ok' } });

    // The applications that failed are completed now, each with a new key.
    const retried = await issue('after-return', failedApplications[0]);
    const certPath = await verified('after-return', retried);
    const completed = await f.api('GET', `/api/v1/applications/${failedApplications[0]}`, f.tokens.clerk);
    expect(completed.body.certificates).toEqual([expect.objectContaining({ type: 'authentication', serial: retried.body.serial })]);
    // The key of a failed attempt is certified by its reservation (the TBS may have been signed
    // somewhere, as far as the CA can know): that application needs a new key pair.
    const sameKey = await f.api('POST', `/api/v1/applications/${failedApplications[1]}/certificates`, f.tokens.clerk, { type: 'authentication', csr: failedCsr });
    expect({ status: sameKey.status, code: sameKey.body.code }).toEqual({ status: 409, code: 'keyAlreadyUsed' });
    expect(await ocspStatus(certPath, true)).toBe('good'); // signed live, with a nonce
    expect(await ocspStatus(neverAsked, false)).toBe('good');
  });

  it('the reconciler revokes the failed attempts\' reservations (superseded): none of them ever becomes a certificate', async () => {
    const reserved = (await listStaleReservations(f.pki.ctx.ca.db, new Date(Date.now() + 3_600_000))).map((r) => r.serial);
    expect(reserved).toHaveLength(failedApplications.length);
    const { resolved } = await reconcileReservations({ ...f.pki.ctx.ca, reservationGraceMs: 0 }, 'test');
    expect(resolved.sort()).toEqual([...reserved].sort());
    for (const serial of reserved) {
      const record = await findCertificate(f.pki.ctx.ca.db, serial as Serial);
      expect({ status: record?.status, reason: record?.revocationReason, der: record?.der }).toEqual({ status: 'revoked', reason: 'superseded', der: null });
    }
  });
});

describe('the PKCS#11 key store on its own, while the token goes away and comes back', () => {
  let dir: string;
  let hsm: SoftHsmToken;
  let store: KeyStore;
  let signer: Signer;
  let token: ReturnType<typeof tokenMover>;
  const data = Buffer.from('to be signed');

  beforeAll(async () => {
    dir = tempDir('eimza-hsm-outage-');
    hsm = await ensureSoftHsmToken({ directory: dir, tokenLabel: LABEL });
    store = await createPkcs11KeyStore({ modulePath: hsm.modulePath, tokenLabel: LABEL, pin: hsm.pin });
    signer = await store.generateKey('outage-key', { kind: 'ec', curve: 'P-256' });
    token = tokenMover(dir);
  }, 60_000);

  afterAll(async () => {
    token?.putBack();
    await store?.close();
    removeDir(dir);
  });

  const verifies = (signature: Uint8Array) =>
    verify('sha256', data, { key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' }, signature);

  /** The module's initialization generation: how many times it was re-initialized (C_Finalize + C_Initialize). */
  function reinitializations(): number {
    const module = acquireModule(hsm.modulePath);
    try {
      return moduleGeneration(module);
    } finally {
      releaseModule(module);
    }
  }

  it('while the token is away, signing, opening keys and check() fail fast with hsmUnavailable, at most one re-initialization a second', async () => {
    expect(verifies(await signer.sign(data))).toBe(true);
    await sleep(1100);
    token.remove();
    const before = reinitializations();
    const started = performance.now();
    const outcomes = new Map<string, number>();
    let calls = 0;
    let slowest = 0;
    const timed = async (p: Promise<unknown>) => {
      const t = performance.now();
      try {
        return await p;
      } finally {
        slowest = Math.max(slowest, performance.now() - t);
      }
    };
    while (performance.now() - started < 2500) {
      const batch = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => timed(signer.sign(data))),
        timed(store.openSigner(signer.keyUri)),
        timed(store.check!()),
      ]);
      for (const b of batch) {
        const key = b.status === 'fulfilled' ? 'ok' : `${(b.reason as { kind?: string }).kind}/${(b.reason as { code?: string }).code}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      calls += batch.length;
      await sleep(10);
    }
    expect([...outcomes.keys()]).toEqual(['hsmUnavailable/hsmUnavailable']);
    expect(calls).toBeGreaterThan(200);
    // 2.5 s of constant demand: one attempt at once, then one a second.
    const tries = reinitializations() - before;
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(4);
    console.log(`key store with the token away: ${calls} calls in 2.5 s, slowest failure ${slowest.toFixed(1)} ms, ${tries} re-initializations`);
    expect(slowest).toBeLessThan(1000);
  });

  it('token back: the store reconnects by itself; the key is found again by CKA_ID and signs as before', async () => {
    token.putBack();
    await sleep(1100);
    await store.check!();
    const signatures = await Promise.all(Array.from({ length: 50 }, () => signer.sign(data)));
    expect(signatures.every(verifies)).toBe(true);
    expect(verifies(await (await store.openSigner(signer.keyUri)).sign(data))).toBe(true);
  });

  it('a token put back with another key under the same label and CKA_ID is refused (keyChanged), never signed with', async () => {
    token.remove();
    const id = Buffer.from(parsePkcs11Uri(signer.keyUri).id!).toString('hex');
    const env = { ...process.env, SOFTHSM2_CONF: hsm.confPath };
    // An impostor: same token label, same PIN, same key label and id, another key.
    await execFileAsync('softhsm2-util', ['--init-token', '--free', '--label', LABEL, '--so-pin', '12345678', '--pin', hsm.pin], { env });
    await execFileAsync(
      'pkcs11-tool',
      ['--module', MODULE, '--token-label', LABEL, '--login', '--pin', hsm.pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--id', id, '--label', 'outage-key'],
      { env },
    );
    await sleep(1100);
    await expect(signer.sign(data)).rejects.toMatchObject({ kind: 'internal', code: 'keyChanged' });

    // Impostor out, the real token back.
    const tokens = path.join(dir, 'tokens');
    for (const entry of readdirSync(tokens)) removeDir(path.join(tokens, entry));
    token.putBack();
    await sleep(1100);
    await store.check!();
    expect(verifies(await signer.sign(data))).toBe(true);
  });
});
