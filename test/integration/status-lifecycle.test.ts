import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { bulkChangeStatus, changeCertificateStatus } from '../../src/ca/status.js';
import { certificateHistory, getCertificate, verifyAuditLog } from '../../src/ca/queries.js';
import { CITIZEN } from '../helpers/csr.js';
import { openPkiFixture, SERVER_HOLDER, type PkiFixture } from '../helpers/pki.js';
import { rejection } from '../helpers/outcome.js';

/** Suspend, restore, revoke and their bulk forms, through the CA core and the REST API. */
let pki: PkiFixture;

beforeAll(async () => {
  pki = await openPkiFixture();
});

afterAll(async () => {
  await pki.close();
});


describe('the status state machine', () => {
  it('suspends, restores and revokes, each with its audit event, and keeps revocation final', async () => {
    const { serial } = await pki.issue('lifecycle');
    const ca = pki.ctx.ca;
    expect((await changeCertificateStatus(ca, 'suspend', { serial, actor: 'clerk' })).status).toBe('suspended');
    expect(await rejection(changeCertificateStatus(ca, 'suspend', { serial, actor: 'clerk' }))).toEqual({ kind: 'invalidTransition', code: 'invalidTransition' });
    expect((await changeCertificateStatus(ca, 'restore', { serial: serial.toUpperCase(), actor: 'supervisor' })).status).toBe('active');
    expect(await rejection(changeCertificateStatus(ca, 'restore', { serial, actor: 'supervisor' }))).toEqual({ kind: 'invalidTransition', code: 'invalidTransition' });
    const invalidityDate = new Date(Date.now() - 3_600_000);
    const revoked = await changeCertificateStatus(ca, 'revoke', { serial, actor: 'supervisor', reason: 'keyCompromise', invalidityDate });
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect(revoked.invalidityDate?.getTime()).toBe(Math.floor(invalidityDate.getTime()));
    for (const action of ['suspend', 'restore', 'revoke'] as const) {
      expect(await rejection(changeCertificateStatus(ca, action, { serial, actor: 'x' }))).toEqual({ kind: 'invalidTransition', code: 'invalidTransition' });
    }
    const stored = await getCertificate(ca, serial);
    expect(stored).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const history = (await certificateHistory(ca, serial)).map((h) => [h.action, h.actor]);
    expect(history).toEqual([
      ['certificate.issued', 'test'],
      ['certificate.suspended', 'clerk'],
      ['certificate.restored', 'supervisor'],
      ['certificate.revoked', 'supervisor'],
    ]);
    expect((await verifyAuditLog(ca)).ok).toBe(true);
  });

  it('refuses what the policy or the input does not allow, changing nothing', async () => {
    const ca = pki.ctx.ca;
    const server = await pki.issue('server-signing', 'server-signing', SERVER_HOLDER);
    expect(await rejection(changeCertificateStatus(ca, 'suspend', { serial: server.serial, actor: 'x' }))).toEqual({ kind: 'policyForbids', code: 'suspensionNotAllowed' });
    const { serial } = await pki.issue('bad-input');
    expect(await rejection(changeCertificateStatus(ca, 'revoke', { serial, actor: 'x', reason: 'certificateHold' }))).toEqual({ kind: 'malformed', code: 'invalidReason' });
    expect(await rejection(changeCertificateStatus(ca, 'revoke', { serial, actor: 'x', reason: 'cACompromise' }))).toEqual({ kind: 'malformed', code: 'invalidReason' });
    expect(await rejection(changeCertificateStatus(ca, 'revoke', { serial, actor: 'x', invalidityDate: new Date(Date.now() + 86_400_000) }))).toEqual({ kind: 'malformed', code: 'invalidInvalidityDate' });
    expect(await rejection(changeCertificateStatus(ca, 'suspend', { serial, actor: 'x', reason: 'keyCompromise' }))).toEqual({ kind: 'malformed', code: 'invalidReason' });
    expect(await rejection(changeCertificateStatus(ca, 'revoke', { serial: 'zz', actor: 'x' }))).toEqual({ kind: 'malformed', code: 'invalidSerial' });
    expect(await rejection(changeCertificateStatus(ca, 'revoke', { serial: '1234abcd', actor: 'x' }))).toEqual({ kind: 'notFound', code: 'certificateNotFound' });
    expect((await getCertificate(ca, server.serial)).status).toBe('active');
    expect((await getCertificate(ca, serial)).status).toBe('active');
    expect((await certificateHistory(ca, serial)).map((h) => h.action)).toEqual(['certificate.issued']);
  });

  it('lets two concurrent revocations of one certificate have one winner', async () => {
    const { serial } = await pki.issue('race');
    const outcomes = await Promise.allSettled([
      changeCertificateStatus(pki.ctx.ca, 'revoke', { serial, actor: 'a', reason: 'superseded' }),
      changeCertificateStatus(pki.ctx.ca, 'revoke', { serial, actor: 'b', reason: 'keyCompromise' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await certificateHistory(pki.ctx.ca, serial)).filter((h) => h.action === 'certificate.revoked')).toHaveLength(1);
  });
});

describe('bulk actions', () => {
  it('lists what a filter matches on a dry run, then changes each with its own audit event', async () => {
    const batch = `chip-batch-${Date.now()}`;
    const serials = [];
    for (let i = 0; i < 3; i++) serials.push((await pki.issue(`bulk-${i}`, 'signature', CITIZEN, { batch, officeCode: 'AZP-014' })).serial);
    const other = await pki.issue('bulk-other', 'signature', CITIZEN, { batch: 'another-batch' });
    const ca = pki.ctx.ca;
    expect((await rejection(bulkChangeStatus(ca, { action: 'suspend', filter: {}, actor: 'x', execute: false }))).code).toBe('emptyFilter');

    const dry = await bulkChangeStatus(ca, { action: 'suspend', filter: { batch }, actor: 'supervisor', execute: false });
    expect(dry).toMatchObject({ executed: false, matched: 3 });
    expect([...dry.changed].sort()).toEqual([...serials].sort());
    for (const s of serials) expect((await getCertificate(ca, s)).status).toBe('active');

    const progress: number[] = [];
    const done = await bulkChangeStatus(ca, { action: 'suspend', filter: { batch, officeCode: 'AZP-014' }, actor: 'supervisor', execute: true, onProgress: (n) => progress.push(n) });
    expect(done).toMatchObject({ executed: true, matched: 3, failed: [] });
    expect(progress).toEqual([1, 2, 3]);
    for (const s of serials) {
      expect((await getCertificate(ca, s)).status).toBe('suspended');
      expect((await certificateHistory(ca, s)).map((h) => h.action)).toEqual(['certificate.issued', 'certificate.suspended']);
    }
    expect((await getCertificate(ca, other.serial)).status).toBe('active');

    const revoked = await bulkChangeStatus(ca, { action: 'revoke', filter: { batch }, reason: 'keyCompromise', actor: 'supervisor', execute: true });
    expect(revoked.changed).toHaveLength(3);
    for (const s of serials) expect(await getCertificate(ca, s)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    // Nothing left to revoke: a rerun matches nothing.
    expect((await bulkChangeStatus(ca, { action: 'revoke', filter: { batch }, actor: 'supervisor', execute: true })).matched).toBe(0);
  });
});

describe('REST', () => {
  const call = (path: string, init: RequestInit = {}) => fetch(`${pki.server.url}${path}`, init);
  const post = (path: string, body: unknown, token: string | null = pki.adminToken) =>
    call(path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  it('changes status with the admin token and answers status to anyone', async () => {
    const { serial, certPath } = await pki.issue('rest');
    expect(readFileSync(certPath, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect((await post(`/api/v1/certificates/${serial}/suspend`, {}, null)).status).toBe(401);
    const wrong = await post(`/api/v1/certificates/${serial}/suspend`, {}, 'not-the-token-but-long-enough');
    expect(wrong.status).toBe(401);
    expect((await wrong.json()) as object).toMatchObject({ code: 'invalidToken' });

    const suspended = await post(`/api/v1/certificates/${serial}/suspend`, { comment: 'lost card' });
    expect(suspended.status).toBe(200);
    expect((await suspended.json()) as object).toMatchObject({ serial, status: 'suspended' });

    const again = await post(`/api/v1/certificates/${serial}/suspend`, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect((await again.json()) as object).toMatchObject({ code: 'invalidTransition' });

    const withColons = serial.toUpperCase().match(/../g)!.join(':');
    const revoked = await post(`/api/v1/certificates/${withColons}/revoke`, { reason: 'affiliationChanged' });
    expect((await revoked.json()) as object).toMatchObject({ status: 'revoked', revocationReason: 'affiliationChanged' });

    const view = await call(`/api/v1/certificates/${serial}`);
    expect((await view.json()) as object).toMatchObject({ serial, status: 'revoked', revocationReason: 'affiliationChanged', profile: 'authentication', ca: 'eimza' });
    expect((await call('/api/v1/certificates/abc123')).status).toBe(404);
    expect((await call('/api/v1/certificates/not-hex')).status).toBe(400);
  });

  it('refuses bad bodies with a 4xx and a stable code', async () => {
    const { serial } = await pki.issue('rest-bad');
    const badReason = await post(`/api/v1/certificates/${serial}/revoke`, { reason: 'becauseISaidSo' });
    expect(badReason.status).toBe(400);
    expect((await badReason.json()) as object).toMatchObject({ code: 'invalidReason' });
    const unknownField = await post(`/api/v1/certificates/${serial}/revoke`, { reason: 'superseded', extra: 1 });
    expect((await unknownField.json()) as object).toMatchObject({ code: 'invalidInput' });
    const notJson = await call(`/api/v1/certificates/${serial}/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${pki.adminToken}` }, body: '{' });
    expect(notJson.status).toBe(400);
    const huge = await post(`/api/v1/certificates/${serial}/revoke`, { comment: 'x'.repeat(40_000) });
    expect(huge.status).toBe(400);
    expect((await huge.json()) as object).toMatchObject({ code: 'bodyTooLarge' });
    expect((await getCertificate(pki.ctx.ca, serial)).status).toBe('active');
  });
});
