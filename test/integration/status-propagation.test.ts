import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startServe } from '../helpers/cli.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { createTestDatabase, openssl, removeDir, tempDir, testDatabaseKind, type TestDatabase } from '../helpers/env.js';

/**
 * A status change made by the CLI in another process is what the very next OCSP request answers:
 * through the admin socket on the embedded database, through LISTEN/NOTIFY with PostgreSQL — where
 * two server processes on one database both answer the new status at once.
 */
const dir = tempDir();
const dataDir = path.join(dir, 'data');
let database: TestDatabase;
let env: NodeJS.ProcessEnv;
const servers: Awaited<ReturnType<typeof startServe>>[] = [];
let serial: string;
const otherSerials: string[] = [];
const certPath = path.join(dir, 'holder.pem');

const eimza = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], env);

beforeAll(async () => {
  database = await createTestDatabase();
  env = { EIMZA_KEYSTORE: 'software', ...(database.url ? { DATABASE_URL: database.url } : {}) };
  expect((await eimza('ca', 'init', '--root-algorithm', 'ec-p256', '--algorithm', 'ec-p256')).code).toBe(0);
  expect((await eimza('ca', 'export', '--out', dir)).code).toBe(0);
  const count = testDatabaseKind === 'postgres' ? 2 : 1;
  for (let i = 0; i < count; i++) servers.push(await startServe(['--data-dir', dataDir, 'serve', '--port', '0'], env));
  const { csrPath } = await opensslCsr(dir, 'holder');
  writeFileSync(path.join(dir, 'holder.json'), JSON.stringify(CITIZEN));
  const issued = await eimza('cert', 'issue', '--profile', 'signature', '--csr', csrPath, '--holder', path.join(dir, 'holder.json'), '--out', certPath);
  expect(issued.code).toBe(0);
  serial = issued.stdout.trim();
  writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ ...CITIZEN, fin: '7AB3CD9' }));
  for (const name of ['other-1', 'other-2']) {
    const other = await opensslCsr(dir, name);
    const r = await eimza('cert', 'issue', '--profile', 'authentication', '--csr', other.csrPath, '--holder', path.join(dir, 'other.json'), '--out', path.join(dir, `${name}.pem`));
    expect(r.code).toBe(0);
    otherSerials.push(r.stdout.trim());
  }
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await database.drop();
  removeDir(dir);
});

/** What every server says right now; -no_nonce takes the cached, pre-signed path. */
async function statuses(): Promise<string[]> {
  const out = [];
  for (const s of servers) {
    const r = await openssl(['ocsp', '-issuer', path.join(dir, 'eimza.pem'), '-cert', certPath, '-url', `${s.url}/ocsp`, '-CAfile', path.join(dir, 'root.pem'), '-no_nonce']);
    const text = r.stdout + r.stderr;
    expect(text).toContain('Response verify OK');
    const line = text.split('\n').find((l) => l.startsWith(`${certPath}:`)) ?? '';
    const reason = /Reason: (\w+)/.exec(text)?.[1];
    out.push(`${line.slice(certPath.length + 1).trim()}${reason ? ` ${reason}` : ''}`);
  }
  return out;
}

describe(`status propagation (${testDatabaseKind})`, () => {
  it('answers each change made by the CLI in another process on the very next request', async () => {
    const all = (s: string) => servers.map(() => s);
    expect(await statuses()).toEqual(all('good')); // now cached on every server
    expect((await eimza('cert', 'suspend', serial)).stdout).toContain('suspended');
    expect(await statuses()).toEqual(all('revoked certificateHold'));
    expect((await eimza('cert', 'restore', serial)).code).toBe(0);
    expect(await statuses()).toEqual(all('good'));
    const revoked = await eimza('cert', 'revoke', serial, '--reason', 'keyCompromise');
    expect(revoked.stdout).toContain('revoked keyCompromise');
    expect(await statuses()).toEqual(all('revoked keyCompromise'));
    const again = await eimza('cert', 'restore', serial);
    expect(again.code).toBe(10);
    expect(again.stderr).toMatch(/^eimza: error \[invalidTransition\]/);
  }, 120_000);

  it('answers a change made through one server\'s API from the other server\'s OCSP at once (PostgreSQL: two nodes)', async () => {
    if (servers.length < 2) {
      // One embedded database belongs to one process: there is no second node to ask.
      expect(testDatabaseKind).toBe('pglite');
      return;
    }
    expect((await eimza('office', 'add', '--code', 'HQ2', '--kind', 'hq', '--name', 'Head office')).code).toBe(0);
    const added = await eimza('operator', 'add', '--name', 'duty officer', '--office', 'HQ2', '--role', 'ca-operator');
    const token = /token=(\S+)/.exec(added.stdout)![1]!;
    const [first, second] = [servers[0]!, servers[1]!];
    const target = otherSerials[0]!;
    const otherCert = path.join(dir, 'other-1.pem');
    const askSecond = async (): Promise<string> => {
      const r = await openssl(['ocsp', '-issuer', path.join(dir, 'eimza.pem'), '-cert', otherCert, '-url', `${second.url}/ocsp`, '-CAfile', path.join(dir, 'root.pem'), '-no_nonce']);
      expect(r.stdout + r.stderr).toContain('Response verify OK');
      return (r.stdout.split('\n').find((l) => l.startsWith(`${otherCert}:`)) ?? '').slice(otherCert.length + 1).trim();
    };
    expect(await askSecond()).toBe('good'); // cached on the second node now
    const change = async (action: string, body: object) => {
      const r = await fetch(`${first.url}/api/v1/certificates/${target}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(200);
      return (await r.json()) as { status: string };
    };
    expect((await change('suspend', { comment: 'holder reported the card lost' })).status).toBe('suspended');
    expect(await askSecond()).toBe('revoked');
    expect((await change('restore', {})).status).toBe('active');
    expect(await askSecond()).toBe('good');
  }, 60_000);

  it('publishes CRLs on demand from the CLI while the server runs', async () => {
    const r = await eimza('crl', 'publish', '--ca', 'eimza');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/eimza\.crl\s+#\d+\s+1 entries/);
    const res = await fetch(`${servers[0]!.url}/crl/eimza.crl`);
    expect(res.status).toBe(200);
    const crl = path.join(dir, 'eimza.crl');
    writeFileSync(crl, new Uint8Array(await res.arrayBuffer()));
    const text = await openssl(['crl', '-inform', 'DER', '-in', crl, '-noout', '-text']);
    expect(text.stdout).toContain(`Serial Number: ${serial.toUpperCase()}`);
  }, 60_000);

  it('bulk-suspends by holder FIN: a dry run first, then --execute', async () => {
    const dry = await eimza('cert', 'bulk-suspend', '--filter', 'fin=7ab3cd9');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim().split('\n').sort()).toEqual([...otherSerials].sort());
    expect(dry.stderr).toMatch(/2 matched, would suspend 2 \(dry run/);
    const done = await eimza('cert', 'bulk-suspend', '--filter', 'fin=7AB3CD9', '--execute', '--comment', 'reported lost');
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/2 matched, suspended 2/);
    const list = await eimza('cert', 'list', '--status', 'suspended', '--json');
    expect((JSON.parse(list.stdout) as { serial: string }[]).map((v) => v.serial).sort()).toEqual([...otherSerials].sort());
    const bad = await eimza('cert', 'bulk-revoke', '--filter', 'colour=red');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^eimza: error \[invalidArgument\]/);
    const none = await eimza('cert', 'bulk-revoke');
    expect(none.stderr).toMatch(/^eimza: error \[emptyFilter\]/);
  }, 60_000);
});
