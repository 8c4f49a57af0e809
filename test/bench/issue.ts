/**
 * `npm run bench:issue` — certificates issued per second through the whole CA core (CSR check,
 * profile, TBS, lint, reserve, sign, store, audit) against the raw signing rate of the same CA key
 * measured in the same run: the physical limit. For a P-256 and an RSA-3072 CA key, on PGlite and
 * (when BENCH_DATABASE_URL or TEST_DATABASE_URL is set) on PostgreSQL.
 *
 *   npm run bench:issue -- [--count 10000] [--concurrency 64] [--keystore software|pkcs11]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { operationContext, runOperation } from '../../src/admin/operations.js';
import { issueCertificate } from '../../src/ca/issue.js';
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/context.js';
import { dropSchema } from '../../src/store/database.js';
import { makeP256Csr } from '../helpers/fast-csr.js';
import { removeDir, tempDir } from '../helpers/env.js';
import { runPool } from './pool.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '64' },
    keystore: { type: 'string', default: 'software' },
    'sign-seconds': { type: 'string', default: '3' },
  },
});
const COUNT = Number(values.count);
const CONCURRENCY = Number(values.concurrency);
const SIGN_SECONDS = Number(values['sign-seconds']);
const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
sampler.unref();

async function scenario(database: 'pglite' | 'postgres', algorithm: 'ec-p256' | 'rsa-3072', csrs: Uint8Array[]) {
  const dataDir = tempDir('eimza-bench-');
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  let url: string | undefined;
  if (database === 'postgres') {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    const u = new URL(pgUrl!);
    u.searchParams.set('options', `-c search_path=${schema}`);
    url = u.toString();
  }
  const config = loadConfig(dataDir, {
    EIMZA_KEYSTORE: values.keystore,
    EIMZA_KEYSTORE_PASSPHRASE: 'bench',
    ...(url ? { DATABASE_URL: url } : {}),
  });
  if (config.database.kind === 'postgres') config.database.poolSize = CONCURRENCY;
  const app = await openContext(config);
  try {
    await runOperation(operationContext(app, 'bench', () => {}, { rootAlgorithm: 'ec-p384', issuingAlgorithm: algorithm }), 'ca.init', {});
    const signer = await (await app.ca.cas.get('eimza')).signer();

    // The physical limit: the same CA key signing TBS-sized messages, same concurrency.
    const message = randomBytes(700);
    let signatures = 0;
    const deadline = performance.now() + SIGN_SECONDS * 1000;
    const signStart = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          await signer.sign(message);
          signatures++;
        }
      }),
    );
    const rawRate = signatures / ((performance.now() - signStart) / 1000);

    peakRss = process.memoryUsage().rss;
    const seconds = await runPool(
      COUNT,
      CONCURRENCY,
      async (i) => {
        await issueCertificate(app.ca, {
          profile: 'authentication',
          csr: csrs[i % csrs.length]!,
          holder: { fin: '5ZX2K7Q', givenName: 'Bench', surname: 'Mark' },
          actor: 'bench',
        });
      },
      `${database} ${algorithm}`,
    );
    const rate = COUNT / seconds;
    return { database, algorithm, count: COUNT, seconds, rate, rawRate, ratio: rate / rawRate, peakRssMiB: peakRss / 2 ** 20 };
  } finally {
    await app.close();
    if (database === 'postgres') await dropSchema(pgUrl!, schema);
    removeDir(dataDir);
  }
}

const csrStart = performance.now();
const csrs = Array.from({ length: COUNT }, (_, i) => makeP256Csr(`bench ${i}`));
console.log(`prepared ${COUNT} distinct P-256 CSRs in ${((performance.now() - csrStart) / 1000).toFixed(1)} s; key store: ${values.keystore}; concurrency ${CONCURRENCY}`);

const rows = [];
for (const database of (pgUrl ? ['pglite', 'postgres'] : ['pglite']) as ('pglite' | 'postgres')[]) {
  for (const algorithm of ['ec-p256', 'rsa-3072'] as const) {
    const r = await scenario(database, algorithm, csrs);
    rows.push(r);
    console.log(
      `${r.database.padEnd(9)} ${r.algorithm.padEnd(9)} ${r.count} certs in ${r.seconds.toFixed(1)} s = ${r.rate.toFixed(0).padStart(5)} certs/s | raw signing ${r.rawRate.toFixed(0).padStart(6)} sig/s | ratio ${(r.ratio * 100).toFixed(0)}% | peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
    );
  }
}
if (!pgUrl) console.log('(set BENCH_DATABASE_URL=postgres://… to include PostgreSQL)');
