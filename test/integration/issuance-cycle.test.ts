import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { getCertificate, verifyAuditLog } from '../../src/ca/queries.js';
import { reconcileReservations } from '../../src/ca/reconcile.js';
import { FakeClock } from '../../src/clock.js';
import { parseSerial } from '../../src/domain/serial.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { openTestContext, type TestContext } from '../helpers/context.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { removeDir, tempDir } from '../helpers/env.js';

/**
 * Record before you sign: a crash between signing and storing leaves a `reserved` row with the
 * exact TBS, which the reconciler resolves — never a signed certificate the database does not know.
 */
const dir = tempDir();
const clock = new FakeClock(new Date('2026-11-23T10:00:00Z'));
let crashAfterSign = false;
const signedButNotStored: { serial: string; der: Uint8Array }[] = [];
let ctx: TestContext;
let csrPem: string;

beforeAll(async () => {
  ctx = await openTestContext({
    clock,
    reservationGraceSeconds: 60,
    faults: {
      afterSign: (serial, der) => {
        if (!crashAfterSign) return;
        signedButNotStored.push({ serial, der });
        throw new Error('injected crash between signing and commit');
      },
    },
  });
  await runOperation(operationContext(ctx, 'test', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' }), 'ca.init', {});
  csrPem = (await opensslCsr(dir, 'holder')).csrPem;
});

afterAll(async () => {
  await ctx.dispose();
  removeDir(dir);
});

describe('crash between signing and commit', () => {
  it('leaves a reserved row holding the exact signed TBS, which the reconciler revokes', async () => {
    crashAfterSign = true;
    await expect(issueCertificate(ctx.ca, { profile: 'signature', csr: csrPem, holder: CITIZEN, actor: 'test' })).rejects.toThrow('injected crash');
    crashAfterSign = false;

    expect(signedButNotStored).toHaveLength(1);
    const { serial, der } = signedButNotStored[0]!;
    const row = await getCertificate(ctx.ca, serial);
    expect(row.status).toBe('reserved');
    expect(row.der).toBeNull();
    // What was signed is byte for byte what was recorded.
    expect(Buffer.from(inspectCertificate(der).tbsDer).equals(Buffer.from(row.tbs))).toBe(true);
    expect(inspectCertificate(der).serial).toBe(serial);

    // Inside the grace period the reconciler leaves it alone (an issuance may still be running).
    expect((await reconcileReservations(ctx.ca)).resolved).toEqual([]);
    clock.advance(61_000);
    expect((await reconcileReservations(ctx.ca)).resolved).toEqual([serial]);
    const resolved = await getCertificate(ctx.ca, serial);
    expect(resolved.status).toBe('revoked');
    expect(resolved.revocationReason).toBe('superseded');
    // Running it again finds nothing more.
    expect((await reconcileReservations(ctx.ca)).resolved).toEqual([]);
  });

  it('an issuance after the crash works and the audit chain is intact', async () => {
    const issued = await issueCertificate(ctx.ca, { profile: 'signature', csr: csrPem, holder: CITIZEN, actor: 'test' });
    expect((await getCertificate(ctx.ca, issued.serial)).status).toBe('active');
    const verdict = await verifyAuditLog(ctx.ca);
    expect(verdict.ok).toBe(true);
  });

  it('every serial is positive, 128 bits and unique over many issuances', async () => {
    const serials = new Set<string>();
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        const r = await issueCertificate(ctx.ca, { profile: 'authentication', csr: csrPem, holder: CITIZEN, actor: 'test' });
        serials.add(r.serial);
        expect(parseSerial(r.serial)).toBe(r.serial);
      }),
    );
    expect(serials.size).toBe(40);
    expect((await verifyAuditLog(ctx.ca)).ok).toBe(true);
  });
});

describe('audit log tampering', () => {
  async function tamper(statement: ReturnType<typeof sql>): Promise<void> {
    // The table refuses updates and deletes by trigger; an attacker with DDL rights can lift that.
    await sql`alter table audit_event disable trigger audit_event_no_rewrite`.execute(ctx.db);
    await statement.execute(ctx.db);
    await sql`alter table audit_event enable trigger audit_event_no_rewrite`.execute(ctx.db);
  }

  it('the database itself refuses to rewrite history', async () => {
    await expect(sql`update audit_event set actor = 'someone else' where seq = 1`.execute(ctx.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_event where seq = 1`.execute(ctx.db)).rejects.toThrow(/append-only/);
  });

  it('detects a changed row, naming it', async () => {
    expect((await verifyAuditLog(ctx.ca)).ok).toBe(true);
    await tamper(sql`update audit_event set actor = 'mallory' where seq = 5`);
    const verdict = await verifyAuditLog(ctx.ca);
    expect(verdict).toMatchObject({ ok: false, firstBadSeq: '5' });
    await tamper(sql`update audit_event set actor = 'test' where seq = 5`);
  });

  it('detects a removed row, naming the gap', async () => {
    const before = await verifyAuditLog(ctx.ca);
    expect(before.ok).toBe(true);
    await tamper(sql`delete from audit_event where seq = 7`);
    const verdict = await verifyAuditLog(ctx.ca);
    expect(verdict).toMatchObject({ ok: false, firstBadSeq: '7' });
  });
});
