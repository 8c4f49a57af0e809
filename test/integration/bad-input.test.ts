import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { operationContext, runOperation, type OperationContext } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { CaError } from '../../src/errors.js';
import { countByStatus } from '../../src/store/certificates.js';
import { readAuditLog } from '../../src/store/audit.js';
import { openTestContext, type TestContext } from '../helpers/context.js';
import { CITIZEN, opensslCsr } from '../helpers/csr.js';
import { removeDir, tempDir } from '../helpers/env.js';

/** Every kind of bad input gets its own stable code, and nothing is written. */
let ctx: TestContext;
let ops: OperationContext;
const dir = tempDir();
let goodCsr: string;

async function writtenSoFar(): Promise<{ certificates: Record<string, number>; auditEvents: number }> {
  let auditEvents = 0;
  for await (const _ of readAuditLog(ctx.db)) auditEvents++;
  return { certificates: await countByStatus(ctx.db), auditEvents };
}

async function expectRejected(attempt: () => Promise<unknown>, kind: string, code: string): Promise<void> {
  const before = await writtenSoFar();
  let error: unknown;
  try {
    await attempt();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CaError);
  expect({ kind: (error as CaError).kind, code: (error as CaError).code }).toEqual({ kind, code });
  expect(await writtenSoFar()).toEqual(before);
}

const issue = (over: Partial<Parameters<typeof issueCertificate>[1]>) =>
  issueCertificate(ctx.ca, { profile: 'signature', csr: goodCsr, holder: CITIZEN, actor: 'test', ...over });

beforeAll(async () => {
  ctx = await openTestContext();
  ops = operationContext(ctx, 'test', () => {}, { rootAlgorithm: 'ec-p256', issuingAlgorithm: 'ec-p256' });
  await runOperation(ops, 'ca.init', {});
  goodCsr = (await opensslCsr(dir, 'good')).csrPem;
  await issue({}); // the happy path works, so each rejection below is about its one bad input
});

afterAll(async () => {
  await ctx.dispose();
  removeDir(dir);
});

describe('issuance rejects', () => {
  it('a CSR whose signature is broken', async () => {
    const der = Buffer.from(goodCsr.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0x01; // inside the signature value
    await expectRejected(() => issue({ csr: der }), 'badCsr', 'csrSignatureInvalid');
  });

  it('an RSA-1024 key', async () => {
    const { csrPem } = await opensslCsr(dir, 'rsa1024', 'rsa-1024');
    await expectRejected(() => issue({ csr: csrPem }), 'badPublicKey', 'weakRsaKey');
  });

  it('a key on an unsupported curve', async () => {
    const { csrPem } = await opensslCsr(dir, 'k1', 'ec-secp256k1');
    await expectRejected(() => issue({ csr: csrPem }), 'badPublicKey', 'unsupportedCurve');
  });

  it('malformed PEM', async () => {
    await expectRejected(() => issue({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all!!\n-----END CERTIFICATE REQUEST-----\n' }), 'malformed', 'malformedPem');
  });

  it('malformed DER', async () => {
    await expectRejected(() => issue({ csr: new Uint8Array([0x30, 0x82, 0x01, 0x00, 0x02]) }), 'malformed', 'malformedCsr');
  });

  it('an unknown profile', async () => {
    await expectRejected(() => issue({ profile: 'root-of-all-trust' }), 'malformed', 'unknownProfile');
  });

  it('an invalid FIN', async () => {
    await expectRejected(() => issue({ holder: { ...CITIZEN, fin: '12I45O7' } }), 'malformed', 'invalidFin');
  });

  it('a VÖEN with a wrong check digit', async () => {
    await expectRejected(
      () => issue({ profile: 'authentication', holder: { ...CITIZEN, organization: 'Nazirlik', voen: '1400057431' } }),
      'malformed',
      'invalidVoen',
    );
  });

  it('holder fields the profile needs but lacks', async () => {
    const { surname: _s, ...noSurname } = CITIZEN;
    await expectRejected(() => issue({ holder: noSurname }), 'malformed', 'missingHolderField');
    await expectRejected(
      () => issue({ profile: 'server-tls', holder: { memberName: 'Vergi', memberClass: 'GOV', memberCode: '1401555071' } }),
      'malformed',
      'missingHolderField',
    );
  });

  it('a validity the policy does not allow', async () => {
    await expectRejected(() => issue({ days: 0 }), 'malformed', 'invalidValidity');
    await expectRejected(() => issue({ days: 5000 }), 'malformed', 'invalidValidity');
  });

  it('unknown holder fields at the operation boundary', async () => {
    await expectRejected(
      () => runOperation(ops, 'cert.issue', { profile: 'signature', csr: goodCsr, holder: { ...CITIZEN, password: 'x' } }),
      'malformed',
      'invalidInput',
    );
  });
});

describe('the CLI reports a rejection as one line with its code', () => {
  it('exits non-zero naming invalidFin, and writes no certificate file', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const holderFile = path.join(dir, 'bad-holder.json');
    writeFileSync(holderFile, JSON.stringify({ ...CITIZEN, fin: 'abc' }));
    const csrFile = path.join(dir, 'good.csr');
    const out = path.join(dir, 'never.pem');
    // A data directory of its own: this process holds the test context's database.
    const cliData = path.join(dir, 'cli-data');
    const r = await runCli(['--data-dir', cliData, 'cert', 'issue', '--profile', 'signature', '--csr', csrFile, '--holder', holderFile, '--out', out], {
      EIMZA_KEYSTORE: 'software',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^eimza: error \[invalidFin\]: /);
    expect(() => readFileSync(out)).toThrow();
  });
});
