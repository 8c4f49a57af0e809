import type { Command } from 'commander';
import { CaError } from '../../src/errors.js';
import { execute, resolveDataDir } from '../runner.js';

interface StatusView {
  serial: string;
  status: string;
  revocationReason: string | null;
  revokedAt: string | null;
}

interface BulkResult {
  executed: boolean;
  matched: number;
  changed: string[];
  failed: { serial: string; code: string; detail: string }[];
}

function printStatus(v: StatusView): void {
  process.stdout.write(`${v.serial} ${v.status}${v.revocationReason ? ` ${v.revocationReason}` : ''}\n`);
}

/** suspend / restore / revoke and their bulk forms (architecture.md "Status"). */
export function registerStatusCommands(cert: Command): void {
  cert
    .command('suspend')
    .description('suspend a certificate (certificateHold); the holder may have it restored at a desk')
    .argument('<serial>', 'serial number in hex, any case, colons allowed')
    .option('--comment <text>', 'for the audit log (the holder request reference)')
    .addHelpText('after', '\nExample:\n  eimza cert suspend 5A:1F:…:9C --comment "lost card, hotline call 1234"')
    .action(async (serial: string, opts: { comment?: string }, cmd: Command) => {
      printStatus(await execute<StatusView>(resolveDataDir(cmd.optsWithGlobals()), 'cert.suspend', { serial, ...opts }));
    });

  cert
    .command('restore')
    .description('restore a suspended certificate (identity checked at a desk)')
    .argument('<serial>', 'serial number in hex')
    .option('--comment <text>', 'for the audit log')
    .addHelpText('after', '\nExample:\n  eimza cert restore 5A:1F:…:9C')
    .action(async (serial: string, opts: { comment?: string }, cmd: Command) => {
      printStatus(await execute<StatusView>(resolveDataDir(cmd.optsWithGlobals()), 'cert.restore', { serial, ...opts }));
    });

  cert
    .command('revoke')
    .description('revoke a certificate; final')
    .argument('<serial>', 'serial number in hex')
    .option('--reason <reason>', 'unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn', 'unspecified')
    .option('--invalidity-date <iso>', 'when the key is known or suspected to have been compromised (RFC 5280 §5.3.2)')
    .option('--comment <text>', 'for the audit log')
    .addHelpText('after', '\nExample:\n  eimza cert revoke 5A:1F:…:9C --reason keyCompromise --invalidity-date 2026-11-30T08:00:00Z')
    .action(async (serial: string, opts: { reason: string; invalidityDate?: string; comment?: string }, cmd: Command) => {
      printStatus(await execute<StatusView>(resolveDataDir(cmd.optsWithGlobals()), 'cert.revoke', { serial, ...opts }));
    });

  for (const action of ['suspend', 'revoke'] as const) {
    const c = cert
      .command(`bulk-${action}`)
      .description(`${action} every certificate matching a filter; a dry run unless --execute`)
      .option('--filter <criterion...>', 'office=CODE, operator=NAME, batch=ID, fin=FIN, profile=P, ca=NAME, issued-from=ISO, issued-to=ISO (several: all must match)')
      .option('--execute', 'make the change (without it: only list what would change)')
      .option('--comment <text>', 'for the audit log of every certificate')
      .option('--json', 'machine-readable output');
    if (action === 'revoke') c.option('--reason <reason>', 'as for cert revoke', 'unspecified');
    c.addHelpText('after', `\nExample:\n  eimza cert bulk-${action} --filter office=AZP-014 --filter issued-from=2026-11-01 ${action === 'revoke' ? '--reason keyCompromise ' : ''}--execute`);
    c.action(async (opts: { filter?: string[]; execute?: boolean; comment?: string; reason?: string; json?: boolean }, cmd: Command) => {
      const result = await execute<BulkResult>(resolveDataDir(cmd.optsWithGlobals()), 'cert.bulk', {
        action,
        filter: parseFilter(opts.filter ?? []),
        execute: Boolean(opts.execute),
        ...(opts.reason ? { reason: opts.reason } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const verb = result.executed ? (action === 'suspend' ? 'suspended' : 'revoked') : `would ${action}`;
      for (const s of result.changed) process.stdout.write(`${s}\n`);
      for (const f of result.failed) process.stdout.write(`${f.serial} failed [${f.code}]: ${f.detail}\n`);
      process.stderr.write(`${result.matched} matched, ${verb} ${result.changed.length}${result.failed.length ? `, ${result.failed.length} failed` : ''}${result.executed ? '' : ' (dry run: add --execute)'}\n`);
    });
  }
}

const FILTER_KEYS: Record<string, string> = {
  office: 'office',
  operator: 'operator',
  batch: 'batch',
  fin: 'fin',
  profile: 'profile',
  ca: 'ca',
  'issued-from': 'issuedFrom',
  'issued-to': 'issuedTo',
};

function parseFilter(items: string[]): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const item of items.flatMap((i) => i.split(','))) {
    const m = /^([a-z-]+)=(.+)$/.exec(item.trim());
    const key = m ? FILTER_KEYS[m[1]!] : undefined;
    if (!m || !key) throw new CaError('malformed', `--filter ${item}: expected one of ${Object.keys(FILTER_KEYS).join(', ')} as key=value`, { code: 'invalidArgument' });
    filter[key] = m[2]!;
  }
  return filter;
}
