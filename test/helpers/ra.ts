import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config/config.js';
import type { Logger } from '../../src/logging.js';
import { addOffice, addOperator } from '../../src/ra/principals.js';
import { openPkiFixture, type PkiFixture } from './pki.js';

/**
 * A running CA with two desks for registration tests: office AZP-0001 (a post office) with a
 * clerk and a supervisor, office ASAN-1 with another clerk and supervisor, and at HQ a CA operator
 * and an auditor. `api` calls the server; `approvedApplication` walks an application to approved.
 */
export interface RaFixture {
  pki: PkiFixture;
  url: string;
  dir: string;
  tokens: { clerk: string; supervisor: string; caOperator: string; auditor: string; otherClerk: string; otherSupervisor: string; personalisation: string };
  officeCode: string;
  otherOfficeCode: string;
  approvedApplication(opts?: { product?: 'card' | 'mobile-id'; fin?: string; email?: string }): Promise<string>;
  // Replies are read field by field in the tests, as a client would; their shapes are checked there.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  api(method: string, path: string, token: string | null, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

let finCounter = 0;
const FIN_ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/** A valid FIN no other call in this process returned. */
export function freshFin(): string {
  let n = ++finCounter + Math.floor(Math.random() * 1e6) * 1000;
  let fin = '';
  for (let i = 0; i < 7; i++) {
    fin = FIN_ALPHABET[n % FIN_ALPHABET.length] + fin;
    n = Math.floor(n / FIN_ALPHABET.length);
  }
  return fin;
}

export function citizenApplication(fin = freshFin(), overrides: Record<string, unknown> = {}, applicant: Record<string, unknown> = {}) {
  return {
    applicant: {
      kind: 'citizen',
      fin,
      givenName: 'Leyla',
      surname: 'Əliyeva',
      birthDate: '1990-05-17',
      email: 'leyla@example.az',
      phone: '+994501234567',
      idDocument: { type: 'id-card', number: 'AA1234567' },
      ...applicant,
    },
    product: 'card',
    validityYears: 3,
    ...overrides,
  };
}

export async function openRaFixture(
  options: { pki?: Record<string, unknown>; clock?: Clock; configure?: (config: Config) => void; logger?: Logger } = {},
): Promise<RaFixture> {
  const pki = await openPkiFixture({
    ...(options.pki ? { pki: options.pki } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.configure ? { configure: options.configure } : {}),
  });
  const ra = pki.ctx.ra;
  await addOffice(ra, { code: 'AZP-0001', kind: 'post-office', name: 'Azərpoçt Bakı AZ1000', region: 'Bakı', actor: 'test' });
  await addOffice(ra, { code: 'ASAN-1', kind: 'asan', name: 'ASAN xidmət №1', region: 'Bakı', actor: 'test' });
  const token = async (name: string, officeCode: string, role: string) => (await addOperator(ra, { name, officeCode, role, actor: 'test' })).token;
  const tokens = {
    clerk: await token('Aysel Məmmədova', 'AZP-0001', 'clerk'),
    supervisor: await token('Rəşad Quliyev', 'AZP-0001', 'supervisor'),
    otherClerk: await token('Nigar Həsənova', 'ASAN-1', 'clerk'),
    otherSupervisor: await token('Elvin Babayev', 'ASAN-1', 'supervisor'),
    caOperator: await token('CA Operator', 'HQ', 'ca-operator'),
    auditor: await token('Auditor', 'HQ', 'auditor'),
    personalisation: await token('ID-card personalisation centre', 'HQ', 'personalisation-centre'),
  };
  const url = pki.server.url;
  const api: RaFixture['api'] = async (method, path, tokenValue, body, headers = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(tokenValue ? { authorization: `Bearer ${tokenValue}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const expectStatus = (r: { status: number; body: unknown }, status: number, what: string) => {
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  return {
    pki,
    url,
    dir: pki.dir,
    tokens,
    officeCode: 'AZP-0001',
    otherOfficeCode: 'ASAN-1',
    api,
    async approvedApplication(opts = {}) {
      const created = await api(
        'POST',
        '/api/v1/applications',
        tokens.clerk,
        citizenApplication(opts.fin ?? freshFin(), { product: opts.product ?? 'card' }, opts.email ? { email: opts.email } : {}),
      );
      expectStatus(created, 201, 'create');
      const id = created.body.id as string;
      expectStatus(await api('POST', `/api/v1/applications/${id}/payment`, tokens.clerk, { amount: created.body.tariff.amount, receipt: `R-${id.slice(0, 8)}`, method: 'cash' }), 200, 'pay');
      expectStatus(await api('POST', `/api/v1/applications/${id}/approve`, tokens.supervisor, {}), 200, 'approve');
      return id;
    },
    close: () => pki.close(),
  };
}
