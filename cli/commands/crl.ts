import type { Command } from 'commander';
import { execute, resolveDataDir } from '../runner.js';

interface PublishedCrl {
  caName: string;
  scope: string;
  kind: string;
  number: string;
  entries: number;
  nextUpdate: string;
  file: string;
}

export function registerCrlCommands(program: Command): void {
  const crl = program.command('crl').description('certificate revocation lists');
  crl
    .command('publish')
    .description('publish full and delta CRLs now (eimza serve also does so on a schedule)')
    .option('--ca <name>', 'one CA only (root, eimza, mobile, portal)')
    .option('--full', 'full CRLs only')
    .option('--delta', 'delta CRLs only')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza crl publish --ca eimza')
    .action(async (opts: { ca?: string; full?: boolean; delta?: boolean; json?: boolean }, cmd: Command) => {
      const kind = opts.full && !opts.delta ? 'full' : opts.delta && !opts.full ? 'delta' : 'both';
      const published = await execute<PublishedCrl[]>(resolveDataDir(cmd.optsWithGlobals()), 'crl.publish', { ...(opts.ca ? { ca: opts.ca } : {}), kind });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(published, null, 2)}\n`);
        return;
      }
      for (const p of published) {
        process.stdout.write(`${p.file.padEnd(24)} #${p.number.padEnd(5)} ${String(p.entries).padStart(8)} entries  next update ${p.nextUpdate}\n`);
      }
    });
}
