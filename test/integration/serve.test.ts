import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startServe } from '../helpers/cli.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { createTestDatabase, removeDir, tempDir, testDatabaseKind, type TestDatabase } from '../helpers/env.js';

/**
 * `eimza serve` (what `npm start` runs) and the CLI side by side on one data directory: with the
 * embedded database only one process may open it, so the CLI acts through the server.
 */
const dir = tempDir();
const dataDir = path.join(dir, 'data');
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
let server: Awaited<ReturnType<typeof startServe>>;
const eimza = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], env);

beforeAll(async () => {
  database = await createTestDatabase();
  env = { EIMZA_KEYSTORE: 'software', ...(database.url ? { DATABASE_URL: database.url } : {}) };
  server = await startServe(['--data-dir', dataDir, 'serve', '--port', '0', '--init-if-empty'], env);
  writeFileSync(path.join(dir, 'holder.json'), JSON.stringify(CITIZEN));
});

afterAll(async () => {
  await server?.stop();
  await database.drop();
  removeDir(dir);
});

describe('eimza serve --init-if-empty', () => {
  it('creates the demo hierarchy on first start and prints its URLs', async () => {
    expect(server.output()).toMatch(/First start: creating the demo CA hierarchy/);
    expect(server.output()).toMatch(/CA eimza\s+C=AZ, O=e-imza, CN=e-imza CA/);
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', cas: expect.arrayContaining(['root', 'eimza', 'mobile', 'portal']) });
  });

  it('answers unknown paths with a problem document', async () => {
    const res = await fetch(`${server.url}/no/such/thing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});

describe('the CLI while the server runs', () => {
  it('issues, shows and lists through the running server, and the audit log stays intact', async () => {
    const { csrPath } = await opensslCsr(dir, 'while-serving');
    const out = path.join(dir, 'cert.pem');
    const issued = await eimza('cert', 'issue', '--profile', 'signature', '--csr', csrPath, '--holder', path.join(dir, 'holder.json'), '--out', out);
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const serial = issued.stdout.trim();

    const show = await eimza('cert', 'show', serial, '--json');
    expect(JSON.parse(show.stdout)).toMatchObject({ serial, status: 'active' });
    const list = await eimza('cert', 'list', '--json');
    expect((JSON.parse(list.stdout) as { serial: string }[]).map((v) => v.serial)).toContain(serial);
    const audit = await eimza('audit', 'verify');
    expect(audit.code).toBe(0);
  });

  it('on first start makes a demo CA operator whose token (in a 0600 file, never printed) works', async () => {
    const file = path.join(dataDir, 'secrets', 'demo-operator.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(server.output()).not.toContain(token);
    expect(server.output()).toContain(`${server.url}/api/docs`);
    const me = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ role: 'ca-operator', office: 'HQ' });
  });

  it('adds offices and operators; the token is the last line, or JSON; disable locks it out at once', async () => {
    const office = await eimza('office', 'add', '--code', 'AZP-2001', '--kind', 'post-office', '--name', 'Azərpoçt Gəncə AZ2000', '--region', 'Gəncə');
    expect(office.code).toBe(0);
    expect(office.stdout.trim()).toBe('office=AZP-2001');
    const again = await eimza('office', 'add', '--code', 'AZP-2001', '--kind', 'post-office', '--name', 'x');
    expect(again.code).toBe(9);
    expect(again.stderr).toMatch(/\[officeExists\]/);
    expect((await eimza('office', 'add', '--code', 'X-1', '--kind', 'bank', '--name', 'x')).stderr).toMatch(/\[invalidInput\]/);

    const added = await eimza('operator', 'add', '--name', 'Aysel Məmmədova', '--office', 'AZP-2001', '--role', 'clerk');
    expect(added.code).toBe(0);
    const lines = added.stdout.trim().split('\n');
    const token = /^token=(\S+)$/.exec(lines[lines.length - 1]!)![1]!;
    const asJson = JSON.parse((await eimza('operator', 'add', '--name', 'Rəşad Quliyev', '--office', 'AZP-2001', '--role', 'supervisor', '--json')).stdout);
    expect(asJson).toMatchObject({ role: 'supervisor', office: 'AZP-2001', token: expect.stringMatching(/^eimza_/) });
    expect((await eimza('operator', 'add', '--name', 'N', '--office', 'NOPE', '--role', 'clerk')).stderr).toMatch(/\[officeNotFound\]/);
    expect((await eimza('operator', 'add', '--name', 'N', '--office', 'AZP-2001', '--role', 'king')).stderr).toMatch(/\[invalidInput\]/);

    const me = async (t: string) => fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${t}` } });
    expect(await (await me(token)).json()).toMatchObject({ name: 'Aysel Məmmədova', role: 'clerk', office: 'AZP-2001' });
    const listed = await eimza('operator', 'list', '--office', 'AZP-2001', '--json');
    expect(listed.stdout).not.toContain(token);
    const id = (JSON.parse(listed.stdout) as { id: string; name: string }[]).find((o) => o.name === 'Aysel Məmmədova')!.id;
    const disabled = await eimza('operator', 'disable', id);
    expect(disabled.code).toBe(0);
    expect((await me(token)).status).toBe(401);
    expect((await eimza('operator', 'disable', id)).code).toBe(10);
    // Only the digest is kept: the token itself is nowhere in the database or the audit log.
    expect((await eimza('audit', 'verify')).code).toBe(0);
  });

  it('registers a member and a security server; ref and secret are the last line, and a CSR with them is accepted', async () => {
    const member = await eimza('member', 'add', '--name', 'Vergilər Nazirliyi', '--class', 'GOV', '--code', '1400057421', '--contact', 'ss@taxes.gov.az');
    expect(member.code).toBe(0);
    expect(member.stdout.trim()).toBe('member=1400057421');
    const added = await eimza('server', 'add', '--member', '1400057421', '--code', 'SS1', '--dns', 'ss1.taxes.gov.az');
    expect(added.code).toBe(0);
    const lines = added.stdout.trim().split('\n');
    const [, ref, secret] = /^ref=(\S+) secret=(\S+)$/.exec(lines[lines.length - 1]!)!;
    const serverId = /^server=(\S+)$/m.exec(added.stdout)![1]!;
    const asJson = JSON.parse((await eimza('server', 'add', '--member', '1400057421', '--code', 'SS2', '--dns', 'ss2.taxes.gov.az', '--auto-approve', '--json')).stdout);
    expect(asJson).toMatchObject({ server: { autoApprove: true }, enrolment: { ref: expect.any(String), secret: expect.any(String) } });

    const { csrPath } = await opensslCsr(dir, 'ss1-tls', 'ec-p256', '/CN=ss1.taxes.gov.az');
    const res = await fetch(`${server.url}/api/v1/security-servers/${serverId}/csr`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'tls', csr: readFileSync(csrPath, 'utf8'), enrolment: { ref, secret } }),
    });
    expect(res.status).toBe(202);
    const pending = JSON.parse((await eimza('server', 'requests', '--pending', '--json')).stdout) as { id: string }[];
    expect(pending).toHaveLength(1);
    const approved = await eimza('server', 'approve', pending[0]!.id);
    expect(approved.code).toBe(0);
    const serial = approved.stdout.trim();
    expect(JSON.parse((await eimza('cert', 'show', serial, '--json')).stdout)).toMatchObject({ status: 'active', profile: 'server-tls' });
    const dry = await eimza('server', 'decommission', serverId);
    expect(dry.stdout).toContain(`would decommission and revoke 1: ${serial}`);
    expect(JSON.parse((await eimza('cert', 'show', serial, '--json')).stdout)).toMatchObject({ status: 'active' });
    expect((await eimza('server', 'decommission', serverId, '--execute')).stdout).toContain(serial);
    expect(JSON.parse((await eimza('cert', 'show', serial, '--json')).stdout)).toMatchObject({ status: 'revoked', revocationReason: 'cessationOfOperation' });
  }, 90_000);

  it('batch issue: a JSON Lines run with progress, resumable without signing anything twice', async () => {
    const input = path.join(dir, 'cards.jsonl');
    const out = path.join(dir, 'cards.out.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { csrPath } = await opensslCsr(dir, `card-${i}`);
      lines.push(JSON.stringify({ id: `card-${i}`, profile: i === 5 ? 'no-such-profile' : 'signature', holder: { ...CITIZEN, fin: `5ZX2K${i}Q` }, csr: readFileSync(csrPath, 'utf8') }));
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    const first = await eimza('batch', 'issue', '--in', input, '--out', out);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe('issued=5 failed=1 skipped=0');
    expect(first.stderr).toMatch(/6\/6/);
    const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; serial?: string; error?: { code: string } });
    expect(results.find((r) => r.id === 'card-5')?.error?.code).toBe('unknownProfile');
    const serial0 = results.find((r) => r.id === 'card-0')!.serial!;
    expect(JSON.parse((await eimza('cert', 'show', serial0, '--json')).stdout)).toMatchObject({ status: 'active', profile: 'signature' });

    // Killed before it wrote the last results (a torn line): the rerun finds those certificates again.
    const kept = readFileSync(out, 'utf8').trim().split('\n').slice(0, 3);
    writeFileSync(out, `${kept.join('\n')}\n{"id":"card-3","ser`);
    const again = await eimza('batch', 'issue', '--in', input, '--out', out);
    expect(again.stdout.trim()).toBe('issued=2 failed=1 skipped=3');
    const rerun = readFileSync(out, 'utf8').trim().split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as { id: string; serial?: string }];
      } catch {
        return [];
      }
    });
    for (const id of ['card-3', 'card-4']) {
      expect(rerun.find((r) => r.id === id)?.serial).toBe(results.find((r) => r.id === id)?.serial);
    }
    const all = JSON.parse((await eimza('cert', 'list', '--json', '--profile', 'signature')).stdout) as { serial: string }[];
    for (const r of results.filter((x) => x.serial)) expect(all.filter((c) => c.serial === r.serial)).toHaveLength(1);
    expect((await eimza('batch', 'issue', '--in', input, '--out', out)).stdout.trim()).toBe('issued=0 failed=0 skipped=6');
  }, 120_000);

  it('refuses a second `ca init` with a clear code', async () => {
    const r = await eimza('ca', 'init');
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/\[caAlreadyInitialized\]/);
  });

  (testDatabaseKind === 'pglite' ? it : it.skip)('never lets a second server open the embedded database', async () => {
    const second = await runCli(['--data-dir', dataDir, 'serve', '--port', '0'], env);
    expect(second.code).toBe(9);
    expect(second.stderr).toMatch(/\[dataDirBusy\]/);
  });

  it('after the server stops, the CLI opens the data directory itself', async () => {
    await server.stop();
    const list = await eimza('cert', 'list', '--json');
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(1);
  });
});
