import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { issueCertificate } from '../../src/ca/issue.js';
import { runBatchChunk } from '../../src/ra/batches.js';
import { pemEncode } from '../../src/x509/pem.js';
import { openssl } from '../helpers/env.js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * Bulk issuance for ID-card personalisation: a batch is stored and queued on pg-boss in one
 * transaction, worked by the server's workers, answered per item; resubmitting is idempotent, and
 * a certificate signed before a worker died is found again by its key instead of signed twice.
 */
let f: RaFixture;
beforeAll(async () => {
  f = await openRaFixture();
}, 120_000);
afterAll(async () => {
  await f?.close();
});

const csrPem = () => pemEncode('CERTIFICATE REQUEST', makeP256Csr('card'));
const holder = () => ({ fin: freshFin(), givenName: 'Aysel', surname: 'Məmmədova' });

async function until(batchId: string, done: (b: { state: string }) => boolean) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await f.api('GET', `/api/v1/batches/${batchId}`, f.tokens.personalisation);
    if (done(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`batch not done: ${JSON.stringify(r.body).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('POST /api/v1/batches', () => {
  it('issues every good item, answers each bad one with its code, and is idempotent by batch id', async () => {
    const items = Array.from({ length: 120 }, (_, i) => ({ id: `card-${i}`, profile: i % 2 ? 'authentication' : 'signature', holder: holder(), csr: csrPem(), cardNumber: `AZE${100000 + i}` }));
    items[7] = { ...items[7]!, csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n' };
    items[8] = { ...items[8]!, profile: 'root-ca' };
    items[9] = { ...items[9]!, holder: { fin: 'IIIIIII', givenName: 'X', surname: 'Y' } };
    const body = { id: `batch-${freshFin()}`, items };
    const submitted = await f.api('POST', '/api/v1/batches', f.tokens.personalisation, body);
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ clientId: body.id, total: 120 });
    const done = await until(submitted.body.id, (b) => b.state === 'done');
    expect(done).toMatchObject({ issued: 117, failed: 3, queued: 0 });
    const byId = new Map(done.items.map((i: { id: string }) => [i.id, i]));
    expect(byId.get('card-7')).toMatchObject({ error: { code: expect.stringMatching(/Csr|malformed/) } });
    expect(byId.get('card-8')).toMatchObject({ error: { code: 'unknownProfile' } });
    expect(byId.get('card-9')).toMatchObject({ error: { code: 'invalidFin' } });
    const issued = done.items.filter((i: { serial?: string }) => i.serial);
    expect(new Set(issued.map((i: { serial: string }) => i.serial)).size).toBe(117);

    // A certificate from the batch is a real one (OpenSSL verifies it), recorded with the batch.
    const one = await f.api('GET', `/api/v1/certificates/${issued[0].serial}`, null);
    expect(one.body.status).toBe('active');
    const record = await f.pki.ctx.ca.db.selectFrom('certificate').select(['der', 'batch']).where('serial', '=', issued[0].serial).executeTakeFirstOrThrow();
    expect(record.batch).toBe(`batch:${submitted.body.id}`);
    const file = path.join(f.dir, 'batch-cert.pem');
    writeFileSync(file, pemEncode('CERTIFICATE', record.der!));
    expect((await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('eimza'), file])).stdout).toContain(': OK');

    // The same id again: the same batch, nothing new issued.
    const again = await f.api('POST', '/api/v1/batches', f.tokens.personalisation, body);
    expect(again.body.id).toBe(submitted.body.id);
    const count = await f.pki.ctx.ca.db.selectFrom('certificate').select((eb) => eb.fn.countAll<string>().as('n')).where('batch', '=', `batch:${submitted.body.id}`).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(117);
    expect((await f.api('GET', `/api/v1/batches/${body.id}`, f.tokens.personalisation)).body.id).toBe(submitted.body.id);
  }, 120_000);

  it('refuses malformed batches before queuing anything', async () => {
    const item = { id: 'x', profile: 'signature', holder: holder(), csr: csrPem() };
    expect((await f.api('POST', '/api/v1/batches', f.tokens.personalisation, { id: 'empty', items: [] })).body.code).toBe('invalidBatchSize');
    expect((await f.api('POST', '/api/v1/batches', f.tokens.personalisation, { id: 'dup', items: [item, item] })).body.code).toBe('duplicateItemId');
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ ...item, id: `i${i}` }));
    expect((await f.api('POST', '/api/v1/batches', f.tokens.personalisation, { id: 'big', items: tooMany })).status).toBe(400);
    expect((await f.api('POST', '/api/v1/batches', f.tokens.clerk, { id: 'clerk', items: [item] })).body.code).toBe('roleForbids');
    expect((await f.api('GET', '/api/v1/batches/nope', f.tokens.personalisation)).body.code).toBe('batchNotFound');
  });

  it('a worker that died after signing: the rerun finds the certificate by its key and signs nothing twice', async () => {
    const csr = csrPem();
    const body = { id: `crash-${freshFin()}`, items: [{ id: 'only', profile: 'signature', holder: holder(), csr }] };
    const submitted = await f.api('POST', '/api/v1/batches', f.tokens.personalisation, body);
    const done = await until(submitted.body.id, (b) => b.state === 'done');
    const serial = done.items[0].serial as string;
    // Put the item back to queued, as if the worker had died between signing and recording it.
    // (and its lease had run out).
    await f.pki.ctx.ca.db.updateTable('batch_item').set({ state: 'queued', serial: null, finished_at: null, claimed_until: null }).where('batch_id', '=', submitted.body.id).execute();
    await runBatchChunk(f.pki.ctx.ra, { batchId: submitted.body.id, from: 0, to: 1 });
    const after = (await f.api('GET', `/api/v1/batches/${submitted.body.id}`, f.tokens.personalisation)).body;
    expect(after.items[0].serial).toBe(serial);
    const certificates = await f.pki.ctx.ca.db.selectFrom('certificate').select('serial').where('batch', '=', `batch:${submitted.body.id}`).execute();
    expect(certificates).toHaveLength(1);
    // While another worker's lease on the item runs, a second worker leaves it alone (and its job fails, to be retried).
    await f.pki.ctx.ca.db
      .updateTable('batch_item')
      .set({ state: 'queued', serial: null, finished_at: null, claimed_until: new Date(Date.now() + 60_000) })
      .where('batch_id', '=', submitted.body.id)
      .execute();
    await expect(runBatchChunk(f.pki.ctx.ra, { batchId: submitted.body.id, from: 0, to: 1 })).rejects.toThrow(/held by another worker/);
    expect(await f.pki.ctx.ca.db.selectFrom('certificate').select('serial').where('batch', '=', `batch:${submitted.body.id}`).execute()).toHaveLength(1);
    await f.pki.ctx.ca.db.updateTable('batch_item').set({ state: 'issued', serial, claimed_until: null }).where('batch_id', '=', submitted.body.id).execute();
    // A key certified outside the batch is refused for the item.
    const foreign = csrPem();
    await issueCertificate(f.pki.ctx.ca, { profile: 'authentication', csr: foreign, holder: holder(), actor: 'test' });
    const reused = await f.api('POST', '/api/v1/batches', f.tokens.personalisation, { id: `reuse-${freshFin()}`, items: [{ id: 'k', profile: 'signature', holder: holder(), csr: foreign }] });
    const reusedDone = await until(reused.body.id, (b) => b.state === 'done');
    expect(reusedDone.items[0].error.code).toBe('keyAlreadyUsed');
  }, 60_000);
});
