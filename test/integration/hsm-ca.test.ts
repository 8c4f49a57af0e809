import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { pemEncode } from '../../src/x509/pem.js';
import { openTestContext, type TestContext } from '../helpers/context.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { openssl, removeDir, tempDir } from '../helpers/env.js';

const run = promisify(execFile);

/**
 * The CA hierarchy with its keys in a PKCS#11 token (SoftHSM2 standing in for the HSM) and RSA
 * issuing CAs: the keys never leave the token (pkcs11-tool is the independent witness) and what
 * they sign verifies with OpenSSL.
 */
let ctx: TestContext;
const dir = tempDir();
const pem = (name: string) => path.join(dir, `${name}.pem`);

beforeAll(async () => {
  ctx = await openTestContext({ keyStore: 'pkcs11' });
  await runOperation(
    operationContext(ctx, 'test', () => {}, { rootAlgorithm: 'ec-p384', issuingAlgorithm: 'rsa-3072' }),
    'ca.init',
    {},
  );
  for (const ca of await ctx.ca.cas.list()) writeFileSync(pem(ca.record.name), pemEncode('CERTIFICATE', ca.certificateDer));
}, 180_000);

afterAll(async () => {
  await ctx.dispose();
  removeDir(dir);
});

describe('a CA hierarchy in a PKCS#11 token', () => {
  it('records pkcs11: key URIs for every CA and OCSP signer', async () => {
    const cas = await ctx.ca.cas.list();
    expect(cas.map((c) => c.record.name).sort()).toEqual(['eimza', 'mobile', 'portal', 'root']);
    for (const c of cas) {
      expect(c.record.keyUri).toMatch(/^pkcs11:token=e-imza%20CA;object=/);
      if (c.record.kind === 'issuing') expect(c.record.ocspKeyUri).toMatch(/^pkcs11:/);
    }
  });

  it('keeps every CA private key sensitive and never extractable (pkcs11-tool)', async () => {
    const softhsm = path.join(ctx.dataDir, 'softhsm');
    const pin = readFileSync(path.join(softhsm, 'user.pin'), 'utf8').trim();
    const { stdout } = await run(
      'pkcs11-tool',
      ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'e-imza CA', '--login', '--pin', pin, '--list-objects', '--type', 'privkey'],
      { env: { ...process.env, SOFTHSM2_CONF: path.join(softhsm, 'softhsm2.conf') } },
    );
    const blocks = stdout.split(/^(?=Private Key Object)/m).filter((b) => b.startsWith('Private Key Object'));
    expect(blocks).toHaveLength(9); // root, three issuing CAs, an OCSP signer for each of the four, and the portal CA's CMP signer
    for (const block of blocks) {
      const access = /^\s*Access:\s*(.*)$/m.exec(block)?.[1] ?? '';
      expect(access).toContain('sensitive');
      expect(access).toContain('always sensitive');
      expect(access).toContain('never extractable');
      expect(access).toContain('local'); // generated inside the token
    }
    expect(stdout).toMatch(/Private Key Object; RSA/);
    expect(stdout).toMatch(/Private Key Object; EC/);
  });

  it('issues certificates under an RSA-3072 CA that OpenSSL verifies', async () => {
    const { csrPem } = await opensslCsr(dir, 'holder');
    const issued = await issueCertificate(ctx.ca, { profile: 'signature', csr: csrPem, holder: CITIZEN, actor: 'test', keyOnSecureDevice: true });
    writeFileSync(pem('leaf'), issued.pem);
    const verify = await openssl(['verify', '-x509_strict', '-CAfile', pem('root'), '-untrusted', pem('eimza'), pem('leaf')]);
    expect(verify.stdout).toContain(': OK');
    const text = (await openssl(['x509', '-in', pem('leaf'), '-noout', '-text'])).stdout;
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    // The key is on a card: QcSSCD and the -qscd policy.
    expect(text).toContain('0.4.0.194112.1.2');
    const issuing = (await openssl(['x509', '-in', pem('eimza'), '-noout', '-text'])).stdout;
    expect(issuing).toMatch(/Public-Key: \(3072 bit\)/);
    expect(issuing).toMatch(/Signature Algorithm: ecdsa-with-SHA384/);
  });
});
