import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { allEndpoints } from '../../src/api/app.js';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { citizenApplication, freshFin, openRaFixture, type RaFixture } from '../helpers/ra.js';

/**
 * Every endpoint, every role, allowed and refused. The expected table is written out here by hand
 * (not derived from src/policy/roles.ts), so a change to the policy shows up as a failing test.
 */
type RoleName = 'clerk' | 'supervisor' | 'caOperator' | 'auditor' | 'personalisation';
const ALL: RoleName[] = ['clerk', 'supervisor', 'caOperator', 'auditor', 'personalisation'];
const DESK: RoleName[] = ['clerk', 'supervisor', 'caOperator'];
const SENIOR: RoleName[] = ['supervisor', 'caOperator'];

const EXPECTED: Record<string, RoleName[] | 'public'> = {
  'POST /api/v1/applications': DESK,
  'POST /api/v1/preorders': 'public',
  'GET /api/v1/applications': [...DESK, 'auditor', 'personalisation'],
  'GET /api/v1/applications/{id}': [...DESK, 'auditor', 'personalisation'],
  'POST /api/v1/applications/{id}/payment': DESK,
  'POST /api/v1/applications/{id}/identity': DESK,
  'POST /api/v1/applications/{id}/approve': SENIOR,
  'POST /api/v1/applications/{id}/reject': SENIOR,
  'POST /api/v1/applications/{id}/cancel': DESK,
  'POST /api/v1/applications/{id}/handover': DESK,
  'POST /api/v1/applications/{id}/certificates': [...DESK, 'personalisation'],
  'GET /api/v1/certificates/{serial}': 'public',
  'POST /api/v1/certificates/{serial}/suspend': DESK,
  'POST /api/v1/certificates/{serial}/restore': SENIOR,
  'POST /api/v1/certificates/{serial}/revoke': SENIOR,
  'GET /api/v1/holders/{fin}/certificates': [...DESK, 'auditor'],
  'POST /api/v1/holders/{fin}/certificates/{serial}/suspend': DESK,
  'POST /api/v1/holders/{fin}/certificates/{serial}/restore': SENIOR,
  'POST /api/v1/holders/{fin}/certificates/{serial}/revoke': SENIOR,
  'GET /api/v1/statistics': ['supervisor', 'caOperator', 'auditor'],
  'GET /api/v1/me': ALL,
  'GET /api/v1/audit': ['caOperator', 'auditor'],
  'POST /api/v1/batches': ['caOperator', 'personalisation'],
  'GET /api/v1/batches/{id}': ['caOperator', 'personalisation'],
  'GET /api/v1/offices': 'public',
  'POST /api/v1/applications/{id}/mobile-id': [...DESK, 'personalisation'],
  'POST /api/v1/mobile-id/{mid}/code': [...DESK, 'personalisation'],
  'POST /api/v1/mobile-id/activate': 'public',
  'POST /api/v1/mobile-id/{mid}/suspend': DESK,
  'POST /api/v1/mobile-id/{mid}/restore': SENIOR,
  'POST /api/v1/mobile-id/{mid}/revoke': SENIOR,
  'GET /api/v1/mobile-id/{msisdn}/certificates': 'public',
  'POST /api/v1/members': ['caOperator'],
  'POST /api/v1/members/{code}/servers': ['caOperator'],
  'GET /api/v1/security-servers/{id}': ['caOperator', 'auditor'],
  'POST /api/v1/security-servers/{id}/enrolment': ['caOperator'],
  'POST /api/v1/security-servers/{id}/decommission': ['caOperator'],
  'POST /api/v1/security-servers/{id}/csr': 'public',
  'GET /api/v1/security-servers/{id}/requests/{rid}': 'public',
  'GET /api/v1/security-servers/{id}/requests': ['caOperator', 'auditor'],
  'POST /api/v1/security-servers/{id}/requests/{rid}/approve': ['caOperator'],
  'POST /api/v1/security-servers/{id}/requests/{rid}/reject': ['caOperator'],
};

let f: RaFixture;
let applicationId: string;
let serial: string;
const fin = freshFin();

beforeAll(async () => {
  f = await openRaFixture();
  // A real application of the clerk's office and a real certificate, so allowed calls reach the use case.
  applicationId = (await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(fin))).body.id;
  serial = (await f.pki.issue('access', 'authentication', { fin, givenName: 'Leyla', surname: 'Əliyeva' })).serial;
}, 120_000);
afterAll(async () => {
  await f?.close();
});

const pathFor = (template: string) =>
  template
    .replace('{id}', applicationId)
    .replace('{serial}', serial)
    .replace('{fin}', fin)
    .replace('{code}', '1400057421')
    .replace('{rid}', '00000000-0000-4000-8000-000000000000');

describe('authorization of every endpoint for every role', () => {
  it('the table above covers exactly the endpoints the API has', () => {
    const declared = allEndpoints(f.pki.ctx.ra).map((e) => `${e.method.toUpperCase()} ${e.path}`);
    expect([...declared].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [route, allowed] of Object.entries(EXPECTED)) {
    const [method, template] = route.split(' ') as [string, string];
    it(`${route}`, async () => {
      // A body that passes no validation: authorization must be decided before the body is read.
      const body = method === 'POST' ? {} : undefined;
      if (allowed === 'public') {
        const anonymous = await f.api(method, pathFor(template), null, body);
        expect([401, 403]).not.toContain(anonymous.status);
        return;
      }
      const anonymous = await f.api(method, pathFor(template), null, body);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('missingToken');
      for (const role of ALL) {
        const r = await f.api(method, pathFor(template), f.tokens[role], body);
        if (allowed.includes(role)) {
          // Allowed: whatever the use case answers (400 for the empty body, 200…), never an access refusal.
          expect({ role, status: r.status, code: r.body?.code }).not.toMatchObject({ status: 401 });
          expect(r.body?.code).not.toBe('roleForbids');
        } else {
          expect({ role, status: r.status, code: r.body?.code }).toEqual({ role, status: 403, code: 'roleForbids' });
        }
      }
    }, 30_000);
  }
});

describe('office scope', () => {
  it("a clerk never sees or touches another office's application; all-office roles do", async () => {
    const theirs = await f.api('GET', `/api/v1/applications/${applicationId}`, f.tokens.otherClerk);
    expect(theirs.status).toBe(403);
    expect(theirs.body.code).toBe('otherOffice');
    const pay = await f.api('POST', `/api/v1/applications/${applicationId}/payment`, f.tokens.otherClerk, { amount: '18.00', receipt: 'X-1', method: 'cash' });
    expect(pay.body.code).toBe('otherOffice');
    const approve = await f.api('POST', `/api/v1/applications/${applicationId}/approve`, f.tokens.otherSupervisor, {});
    expect(approve.body.code).toBe('otherOffice');
    const list = await f.api('GET', '/api/v1/applications', f.tokens.otherClerk);
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { id: string }) => a.id)).not.toContain(applicationId);
    const asked = await f.api('GET', `/api/v1/applications?office=${f.officeCode}`, f.tokens.otherClerk);
    expect(asked.body.code).toBe('otherOffice');
    const forOther = await f.api('POST', '/api/v1/applications', f.tokens.otherClerk, citizenApplication(freshFin(), { officeCode: f.officeCode }));
    expect(forOther.body.code).toBe('otherOffice');
    for (const role of ['caOperator', 'auditor'] as const) {
      expect((await f.api('GET', `/api/v1/applications/${applicationId}`, f.tokens[role])).status).toBe(200);
      const all = await f.api('GET', '/api/v1/applications', f.tokens[role]);
      expect(all.body.items.map((a: { id: string }) => a.id)).toContain(applicationId);
    }
    // (The matrix above may have cancelled the first application: an allowed empty-body cancel succeeds.)
    const fresh = (await f.api('POST', '/api/v1/applications', f.tokens.clerk, citizenApplication(freshFin()))).body.id;
    const own = await f.api('GET', '/api/v1/applications?state=submitted', f.tokens.clerk);
    expect(own.body.items.every((a: { office: string; state: string }) => a.office === f.officeCode && a.state === 'submitted')).toBe(true);
    expect(own.body.items.map((a: { id: string }) => a.id)).toContain(fresh);
  });

  it("a supervisor's statistics are its office's", async () => {
    const other = await f.api('GET', `/api/v1/statistics?office=${f.officeCode}`, f.tokens.otherSupervisor);
    expect(other.body.code).toBe('otherOffice');
    const own = await f.api('GET', '/api/v1/statistics', f.tokens.otherSupervisor);
    expect(own.status).toBe(200);
    expect(own.body.byOfficeAndMonth.every((r: { officeCode: string }) => r.officeCode === f.otherOfficeCode)).toBe(true);
  });
});

describe('tokens', () => {
  it('a wrong token is 401, a disabled operator is locked out at once, and repeated failures are rate limited', async () => {
    const me = await f.api('GET', '/api/v1/me', f.tokens.clerk);
    expect(me.body).toMatchObject({ role: 'clerk', office: f.officeCode, scope: 'office' });
    const wrong = await f.api('GET', '/api/v1/me', 'eimza_not-a-token');
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalidToken');

    const ctx = operationContext(f.pki.ctx, 'test');
    const added = (await runOperation(ctx, 'operator.add', { name: 'Temporary Clerk', office: f.officeCode, role: 'clerk' })) as { id: string; token: string };
    expect((await f.api('GET', '/api/v1/me', added.token)).status).toBe(200);
    await runOperation(ctx, 'operator.disable', { operator: added.id });
    const disabled = await f.api('GET', '/api/v1/me', added.token);
    expect(disabled.status).toBe(401);
    expect(disabled.body.code).toBe('invalidToken');

    // Ten failures (one above) from this address: the next attempts are refused, even with a good token.
    for (let i = 0; i < 8; i++) expect((await f.api('GET', '/api/v1/me', `eimza_guess-${i}`)).status).toBe(401);
    const limited = await f.api('GET', '/api/v1/me', f.tokens.clerk);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('tooManyFailedLogins');
    expect(limited.headers.get('retry-after')).toBeTruthy();
  });
});
