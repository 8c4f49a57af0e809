import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { renewOcspSigners } from '../../src/ca/ocsp-signer-rotation.js';
import { FakeClock } from '../../src/clock.js';
import { openssl } from '../helpers/env.js';
import { openPkiFixture, type PkiFixture } from '../helpers/pki.js';

/**
 * Delegated OCSP responders live 30 days; a running service renews each well before it ends. After
 * a renewal the answers OpenSSL gets are signed by the new responder and still verify, and the old
 * pre-signed answers are gone (they would not match the new responder certificate).
 */
let pki: PkiFixture;
const clock = new FakeClock(new Date());
beforeAll(async () => {
  pki = await openPkiFixture({ clock });
}, 120_000);
afterAll(async () => {
  await pki?.close();
});

async function responderPem(ca: string): Promise<string> {
  const cas = (await runOperation(operationContext(pki.ctx, 'test'), 'ca.list', {})) as { name: string; ocspSignerPem: string | null }[];
  return cas.find((c) => c.name === ca)!.ocspSignerPem!;
}

/** The service runs 25 days ahead of the machine after the jump: OpenSSL verifies at the service's time. */
async function ocspAnswer(certPath: string): Promise<string> {
  const at = String(Math.floor(clock.now().getTime() / 1000) + 60);
  const r = await openssl(['ocsp', '-issuer', pki.pem('eimza'), '-cert', certPath, '-url', `${pki.server.url}/ocsp`, '-CAfile', pki.pem('root'), '-attime', at, '-no_nonce', '-resp_text']);
  return r.stdout + r.stderr;
}

describe('OCSP responder renewal', () => {
  it('renews nothing while the responders are young, then each before it expires; answers keep verifying', async () => {
    const { certPath } = await pki.issue('rotation');
    const before = await ocspAnswer(certPath);
    expect(before).toContain('Response verify OK');
    expect(before).toContain(': good');
    const oldResponder = await responderPem('eimza');
    expect(await renewOcspSigners(pki.ctx.ca, 'test')).toEqual([]);

    clock.advance(25 * 86_400_000);
    const renewed = await renewOcspSigners(pki.ctx.ca, 'test');
    expect(renewed.sort()).toEqual(['eimza', 'mobile', 'portal', 'root']);
    const newResponder = await responderPem('eimza');
    expect(newResponder).not.toBe(oldResponder);
    const file = path.join(pki.dir, 'new-responder.pem');
    writeFileSync(file, newResponder);
    const dates = (await openssl(['x509', '-in', file, '-noout', '-enddate'])).stdout;
    expect(new Date(dates.replace('notAfter=', '').trim()).getTime()).toBeGreaterThan(clock.now().getTime() + 25 * 86_400_000);

    const stored = await pki.ctx.ca.db.selectFrom('ocsp_response').select('serial').where('ca_name', '=', 'eimza').execute();
    expect(stored).toHaveLength(0);
    const after = await ocspAnswer(certPath);
    expect(after).toContain('Response verify OK');
    expect(after).toContain(': good');
    // The answer now names the new responder (its certificate travels in the response).
    const subjectKeyId = (await openssl(['x509', '-in', file, '-noout', '-ext', 'subjectKeyIdentifier'])).stdout.split('\n')[1]!.trim().replaceAll(':', '');
    expect(after.replace(/\s/g, '').toUpperCase()).toContain(subjectKeyId.toUpperCase());
    expect(await renewOcspSigners(pki.ctx.ca, 'test')).toEqual([]);
  }, 60_000);
});
