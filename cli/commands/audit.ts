import type { Command } from 'commander';
import type { ChainVerdict } from '../../src/audit/chain.js';
import { EXIT_AUDIT_BROKEN, execute, resolveDataDir } from '../runner.js';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('check every event of the audit log against the hash chain; exits 13 naming the first bad event')
    .addHelpText('after', '\nExample:\n  eimza audit verify && echo intact')
    .action(async (_opts: unknown, cmd: Command) => {
      const verdict = await execute<ChainVerdict>(resolveDataDir(cmd.optsWithGlobals()), 'audit.verify', {});
      if (verdict.ok) {
        process.stdout.write(`audit log intact: ${verdict.count} events${verdict.headHash ? `, head ${verdict.headHash}` : ''}\n`);
        return;
      }
      process.stderr.write(`eimza: error [auditChainBroken]: first bad event ${verdict.firstBadSeq}: ${verdict.problem} (${verdict.count} events before it are intact)\n`);
      process.exit(EXIT_AUDIT_BROKEN);
    });
}
