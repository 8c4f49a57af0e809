import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { opensslCsr } from '../helpers/csr.js';
import { openssl } from '../helpers/env.js';
import { citizenApplication, freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';

let f: RaFixture;
beforeAll(async () => {
  f = await openRaFixture();
}, 120_000);
afterAll(async () => {
  await f?.close();
});

let n = 0;
async function csr(key: 'ec-p256' | 'rsa-2048' = 'ec-p256') {
  return (await opensslCsr(f.dir, `ra-${n++}`, key)).csrPem;
}

describe('an application at the desk, from submission to handover', () => {
  it('follows the contract: 201 submitted with the tariff, payment, approval, three certificates, handover', async () => {
    const fin = freshFin();
    const created = await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'submitted', tariff: { amount: '18.00', currency: 'AZN' }, office: 'AZP-0001', channel: 'desk' });
    expect(typeof created.body.id).toBe('string');
    const id = created.body.id as string;

    const paid = await f.api('POST', `/api/v1/applications/${id}/payment`, f.tokens.clerk, { amount: '18.00', receipt: 'Q-000123', method: 'cash' });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ state: 'paid', payment: { amount: '18.00', currency: 'AZN', receipt: 'Q-000123', method: 'cash' } });

    const approved = await f.api('POST', `/api/v1/applications/${id}/approve`, f.tokens.supervisor, {});
    expect(approved.status).toBe(200);
    expect(approved.body.state).toBe('approved');

    const serials: string[] = [];
    for (const type of ['signature', 'authentication', 'encryption']) {
      const issued = await f.api('POST', `/api/v1/applications/${id}/certificates`, f.tokens.clerk, { type, csr: await csr() });
      expect(issued.status).toBe(201);
      expect(issued.body.certificate).toContain('BEGIN CERTIFICATE');
      expect(issued.body.chain).toContain('BEGIN CERTIFICATE');
      const certFile = path.join(f.dir, `app-${type}.pem`);
      writeFileSync(certFile, issued.body.certificate);
      const verified = await openssl(['verify', '-CAfile', f.pki.pem('root'), '-untrusted', f.pki.pem('eimza'), certFile]);
      expect(verified.stdout).toContain(': OK');
      const text = (await openssl(['x509', '-in', certFile, '-noout', '-subject'])).stdout;
      expect(text).toContain(`PNOAZ-${fin}`);
      serials.push(issued.body.serial);
    }
    const done = await f.api('GET', `/api/v1/applications/${id}`, f.tokens.clerk);
    expect(done.body.state).toBe('issued');
    expect(done.body.certificates.map((c: { serial: string }) => c.serial).sort()).toEqual([...serials].sort());
    expect(done.body.history.map((h: { to: string }) => h.to)).toEqual(['submitted', 'paid', 'approved', 'approved', 'approved', 'approved', 'issued']);

    const handed = await f.api('POST', `/api/v1/applications/${id}/handover`, f.tokens.clerk, {});
    expect(handed.body.state).toBe('handed-over');
    const again = await f.api('POST', `/api/v1/applications/${id}/handover`, f.tokens.clerk, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body).toMatchObject({ code: 'invalidTransition' });
  }, 60_000);
});
