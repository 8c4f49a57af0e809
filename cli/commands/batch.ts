import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../src/config/config.js';
import { openContext } from '../../src/context.js';
import { CaError } from '../../src/errors.js';
import { createLogger, logFunction } from '../../src/logging.js';
import { execute, progress, resolveDataDir } from '../runner.js';

interface InputLine {
  id: string;
  profile: string;
  holder: Record<string, string>;
  csr: string;
}

type Outcome = { serial: string } | { error: { code: string; message: string } };

/** Items sent to the CA per call: large enough to fill its group commit, small enough to show progress. */
const CHUNK = 200;

/**
 * `eimza batch issue --in FILE.jsonl --out FILE.jsonl`: offline bulk issuance. Resumable: ids
 * already in the output are skipped and new results appended; a certificate signed before a crash
 * (but not yet written out) is found again by its key, never signed twice.
 */
export function registerBatchCommands(program: Command): void {
  const batch = program.command('batch').description('bulk issuance (ID-card personalisation)');
  batch
    .command('issue')
    .description('issue every request of a JSON Lines file; resumable')
    .requiredOption('--in <file>', 'one request per line: {"id", "profile", "holder": {...}, "csr": "<PEM>"}')
    .requiredOption('--out <file>', 'results, one per line: {"id", "serial"} or {"id", "error": {"code", "message"}}; appended to')
    .addHelpText('after', '\nExample:\n  eimza batch issue --in cards-2026-12-01.jsonl --out cards-2026-12-01.out.jsonl\n  Run it again with the same files after an interruption: it continues where it stopped.')
    .action(async (opts: { in: string; out: string }, cmd: Command) => {
      const dataDir = resolveDataDir(cmd.optsWithGlobals());
      const items = readInput(opts.in);
      const done = readDone(opts.out);
      // A run killed mid-write leaves a torn last line: start ours on a line of its own.
      if (existsSync(opts.out) && !readFileSync(opts.out, 'utf8').endsWith('\n') && readFileSync(opts.out).length > 0) appendFileSync(opts.out, '\n');
      const todo = items.filter((i) => !done.has(i.id));
      // The run's identity: certificates it signs carry it, so a rerun recognises its own.
      const run = createHash('sha256').update(path.resolve(opts.in)).digest('hex').slice(0, 32);
      let issued = 0;
      let failed = 0;
      const started = Date.now();
      for (let from = 0; from < todo.length; from += CHUNK) {
        const chunk = todo.slice(from, from + CHUNK);
        const outcomes = await execute<Outcome[]>(dataDir, 'batch.issueItems', {
          run,
          items: chunk.map(({ profile, holder, csr }) => ({ profile, holder, csr })),
        });
        appendFileSync(opts.out, chunk.map((item, i) => `${JSON.stringify({ id: item.id, ...outcomes[i] })}\n`).join(''));
        for (const o of outcomes) if ('serial' in o) issued++;
        else failed++;
        const doneNow = from + chunk.length;
        const rate = doneNow / Math.max((Date.now() - started) / 1000, 0.001);
        progress(`${bar(doneNow, todo.length)} ${doneNow}/${todo.length}  ${rate.toFixed(0)}/s`);
      }
      process.stderr.write('\n');
      process.stdout.write(`issued=${issued} failed=${failed} skipped=${items.length - todo.length}\n`);
    });
  batch
    .command('worker')
    .description('work the bulk-issuance queue (POST /api/v1/batches) in a process of its own, beside API/OCSP nodes (PostgreSQL)')
    .option('--concurrency <n>', 'jobs at a time (each issues up to 8 items at once)', (v) => Number(v), 2)
    .addHelpText(
      'after',
      '\nExample:\n  EIMZA_BATCH_WORKERS=0 eimza serve      # API and OCSP nodes: no batch work on their event loop\n  eimza batch worker --concurrency 4    # on the signing machines\nStop with SIGTERM: running items finish first.',
    )
    .action(async (opts: { concurrency: number }, cmd: Command) => {
      if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 64) {
        throw new CaError('malformed', '--concurrency must be a whole number from 1 to 64', { code: 'invalidArgument' });
      }
      const config = loadConfig(resolveDataDir(cmd.optsWithGlobals()));
      if (config.database.kind !== 'postgres') {
        throw new CaError('malformed', 'a batch worker of its own needs PostgreSQL (DATABASE_URL); on the embedded database `eimza serve` works the batches', {
          code: 'workerNeedsPostgres',
        });
      }
      const logger = createLogger({ level: config.log.level, ...(config.log.file ? { file: config.log.file } : {}) });
      const app = await openContext(config);
      const stopWorkers = await app.startBatchWorkers(logFunction(logger), opts.concurrency);
      process.stdout.write(`e-imza batch worker running (database: postgres, keys: ${app.ca.keys.defaultBackend}, concurrency: ${opts.concurrency})\n`);
      const stop = async () => {
        await stopWorkers();
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function readInput(file: string): InputLine[] {
  if (!existsSync(file)) throw new CaError('notFound', `no file ${file}`, { code: 'fileNotFound' });
  const lines = readFileSync(file, 'utf8').split('\n');
  const items: InputLine[] = [];
  const seen = new Set<string>();
  lines.forEach((line, n) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new CaError('malformed', `${file}:${n + 1}: not JSON`, { code: 'invalidInput' });
    }
    const o = v as Partial<InputLine>;
    if (typeof o.id !== 'string' || typeof o.profile !== 'string' || typeof o.csr !== 'string' || typeof o.holder !== 'object' || o.holder === null) {
      throw new CaError('malformed', `${file}:${n + 1}: needs id, profile, holder and csr`, { code: 'invalidInput' });
    }
    if (seen.has(o.id)) throw new CaError('malformed', `${file}:${n + 1}: id ${o.id} appears twice`, { code: 'duplicateItemId' });
    seen.add(o.id);
    items.push(o as InputLine);
  });
  return items;
}

/** Ids already answered; a torn last line (the previous run killed mid-write) is ignored and redone. */
function readDone(file: string): Set<string> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const v = JSON.parse(line) as { id?: unknown };
      if (typeof v.id === 'string') done.add(v.id);
    } catch {
      /* torn line */
    }
  }
  return done;
}
