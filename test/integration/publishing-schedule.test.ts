import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { changeCertificateStatus } from '../../src/ca/status.js';
import { FakeClock } from '../../src/clock.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { buildCertId, buildOcspRequest, inspectOcspResponse } from '../../src/x509/ocsp.js';
import { presignResponses, responseWindow } from '../../src/ocsp/signing.js';
import { IssuerIndex } from '../../src/ocsp/issuers.js';
import { findOcspResponse, upsertOcspResponses } from '../../src/store/ocsp-responses.js';
import { getCertificate } from '../../src/ca/queries.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * Time-driven publishing, on a fake clock: pre-signed OCSP answers are re-signed before they grow
 * old (X-Road: fresh thisUpdate, nextUpdate ≥ 20 minutes ahead), and the CRL schedule publishes
 * full and delta CRLs when they are due.
 */
const MINUTE = 60_000;
const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
let pki: PkiFixture;

beforeAll(async () => {
  pki = await openPkiFixture({ clock });
});

afterAll(async () => {
  await pki.close();
});

async function ask(serial: string) {
  const ca = inspectCertificate(decodePemOrDer(readFileSync(pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
  const answer = await pki.ctx.ocsp.respond(buildOcspRequest([buildCertId('sha1', ca.subjectNameDer, ca.subjectPublicKeySpki, serial as never)]));
  const single = inspectOcspResponse(answer.der).responses![0]!;
  return { status: single.status.kind, thisUpdate: single.thisUpdate, nextUpdate: single.nextUpdate! };
}

describe('OCSP refresh', () => {
  it('re-signs stored answers once they are older than ocspRefreshAfterMinutes, keeping nextUpdate ≥ 20 min ahead', async () => {
    const { serial } = await pki.issue('refresh');
    await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial, actor: 'test' });
    const first = await ask(serial);
    expect(first.status).toBe('revoked');
    expect(first.nextUpdate.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(20 * MINUTE);

    clock.advance(10 * MINUTE);
    expect(await pki.ctx.ocsp.refreshStale()).toBe(0); // nothing old enough yet
    expect((await ask(serial)).thisUpdate).toEqual(first.thisUpdate);

    clock.advance(15 * MINUTE);
    expect(await pki.ctx.ocsp.refreshStale()).toBeGreaterThanOrEqual(2); // SHA-1 and SHA-256 answers
    const refreshed = await ask(serial);
    expect(refreshed.status).toBe('revoked');
    expect(refreshed.thisUpdate.getTime()).toBe(Math.floor(clock.now().getTime() / 1000) * 1000);
    expect(refreshed.nextUpdate.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(20 * MINUTE);
  });

  it('never serves an answer whose nextUpdate is less than 20 minutes ahead, even without a refresh', async () => {
    const { serial } = await pki.issue('stale');
    const first = await ask(serial);
    clock.advance(45 * MINUTE); // no refreshStale: the responder itself must not hand out the old one
    const later = await ask(serial);
    expect(later.thisUpdate.getTime()).toBeGreaterThan(first.thisUpdate.getTime());
    expect(later.nextUpdate.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(20 * MINUTE);
  });
});

describe('the byte-identical fast path', () => {
  it('answers a repeated request from memory only while its answer is current', async () => {
    const { serial } = await pki.issue('fast');
    const ca = inspectCertificate(decodePemOrDer(readFileSync(pki.pem('eimza'), 'utf8'), 'CERTIFICATE'));
    const request = buildOcspRequest([buildCertId('sha1', ca.subjectNameDer, ca.subjectPublicKeySpki, serial as never)]);
    expect(pki.ctx.ocsp.respondCached(request)).toBeNull(); // never asked
    const first = await pki.ctx.ocsp.respond(request);
    const again = pki.ctx.ocsp.respondCached(request);
    expect(again && Buffer.from(again.der).equals(Buffer.from(first.der))).toBe(true);
    await changeCertificateStatus(pki.ctx.ca, 'suspend', { serial, actor: 'test' });
    const afterChange = pki.ctx.ocsp.respondCached(request);
    // Either nothing (evicted) or the new answer the change primed: never the old one.
    if (afterChange) expect(inspectOcspResponse(afterChange.der).responses![0]!.status.kind).toBe('revoked');
    expect(inspectOcspResponse((await pki.ctx.ocsp.respond(request)).der).responses![0]!.status.kind).toBe('revoked');
    clock.advance(45 * MINUTE);
    expect(pki.ctx.ocsp.respondCached(request)).toBeNull(); // too old to hand out
    const nonce = buildOcspRequest([buildCertId('sha1', ca.subjectNameDer, ca.subjectPublicKeySpki, serial as never)], Uint8Array.of(4, 8, 1, 2, 3, 4, 5, 6, 7, 8));
    await pki.ctx.ocsp.respond(nonce);
    expect(pki.ctx.ocsp.respondCached(nonce)).toBeNull(); // nonce requests are always signed anew
  });
});

describe('racing answers', () => {
  it('never lets an answer signed for an older status replace the one for a newer', async () => {
    const { serial } = await pki.issue('race');
    const before = await getCertificate(pki.ctx.ca, serial); // what a slow first request read
    await changeCertificateStatus(pki.ctx.ca, 'revoke', { serial, actor: 'test', reason: 'keyCompromise' });
    const issuer = (await IssuerIndex.load(pki.ctx.ca.cas)).get('eimza')!;
    const stale = await presignResponses(issuer, before, ['sha1'], responseWindow(clock.now(), pki.ctx.ca.settings.revocation));
    await upsertOcspResponses(pki.ctx.db, stale);
    const stored = await findOcspResponse(pki.ctx.db, serial as never, 'sha1');
    expect(stored!.statusSeq).toBe((await getCertificate(pki.ctx.ca, serial)).statusSeq);
    pki.ctx.ocsp.evict(serial);
    expect((await ask(serial)).status).toBe('revoked');
  });
});

describe('CRL schedule', () => {
  it('publishes a delta when its interval has passed and a full CRL when that one has', async () => {
    await pki.ctx.crl.publish({ kind: 'both' });
    expect(await pki.ctx.crl.publishDue()).toEqual([]); // everything is fresh
    clock.advance(16 * MINUTE);
    const deltas = await pki.ctx.crl.publishDue();
    expect(deltas.length).toBeGreaterThan(0);
    expect(new Set(deltas.map((d) => d.kind))).toEqual(new Set(['delta']));
    clock.advance(6 * 60 * MINUTE);
    const due = await pki.ctx.crl.publishDue();
    expect(due.filter((d) => d.kind === 'full').map((d) => d.caName).sort()).toEqual(['eimza', 'mobile', 'portal', 'root']);
    const current = await pki.ctx.crl.current('eimza.crl');
    expect(current!.thisUpdate.getTime()).toBe(Math.floor(clock.now().getTime() / 1000) * 1000);
  });
});
