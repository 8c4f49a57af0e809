import type { Command } from 'commander';
import { execute, resolveDataDir } from '../runner.js';

interface OfficeJson {
  code: string;
  kind: string;
  name: string;
  region: string | null;
  disabledAt: string | null;
}

interface OperatorJson {
  id: string;
  name: string;
  kind: string;
  role: string;
  office: string;
  createdAt: string;
  disabledAt: string | null;
  token?: string;
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** `eimza office …` and `eimza operator …`: who may use the registration API. */
export function registerAccessCommands(program: Command): void {
  const office = program.command('office').description('registration offices: post offices, ASAN centres, CA headquarters');
  office
    .command('add')
    .description('add an office')
    .requiredOption('--code <code>', 'office code, e.g. AZP-BAKU-01')
    .requiredOption('--kind <kind>', 'post-office, asan or hq')
    .requiredOption('--name <name>', 'name shown to holders')
    .option('--region <region>', 'region or city')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza office add --code ASAN-1 --kind asan --name "ASAN xidmət №1" --region Bakı')
    .action(async (opts: { code: string; kind: string; name: string; region?: string; json?: boolean }, cmd: Command) => {
      const o = await execute<OfficeJson>(resolveDataDir(cmd.optsWithGlobals()), 'office.add', {
        code: opts.code,
        kind: opts.kind,
        name: opts.name,
        ...(opts.region ? { region: opts.region } : {}),
      });
      if (opts.json) print(o);
      else process.stdout.write(`office=${o.code}\n`);
    });
  office
    .command('list')
    .description('list offices')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza office list')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const offices = await execute<OfficeJson[]>(resolveDataDir(cmd.optsWithGlobals()), 'office.list', {});
      if (opts.json) return print(offices);
      for (const o of offices) process.stdout.write(`${o.code.padEnd(16)} ${o.kind.padEnd(11)} ${o.name}${o.region ? ` (${o.region})` : ''}${o.disabledAt ? ' [disabled]' : ''}\n`);
    });

  const operator = program.command('operator').description('operators and machine clients of the registration API, with their bearer tokens');
  operator
    .command('add')
    .description('add an operator; prints the bearer token once (only its digest is stored)')
    .requiredOption('--name <name>', 'full name (or the machine client name)')
    .requiredOption('--office <code>', 'the office the operator works at')
    .requiredOption('--role <role>', 'clerk, supervisor, ca-operator, auditor or personalisation-centre')
    .option('--json', 'machine-readable output (includes the token)')
    .addHelpText('after', '\nExample:\n  eimza operator add --name "Aysel Məmmədova" --office ASAN-1 --role clerk > aysel.txt\n  The last line is token=<token>: hand it over securely; it cannot be shown again.')
    .action(async (opts: { name: string; office: string; role: string; json?: boolean }, cmd: Command) => {
      const o = await execute<OperatorJson>(resolveDataDir(cmd.optsWithGlobals()), 'operator.add', { name: opts.name, office: opts.office, role: opts.role });
      if (opts.json) return print(o);
      process.stdout.write(`operator=${o.id}\nname=${o.name}\nrole=${o.role}\noffice=${o.office}\ntoken=${o.token}\n`);
    });
  operator
    .command('disable')
    .description('disable an operator: the token stops working at once')
    .argument('<operator>', 'operator id, or name when only one enabled operator has it')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza operator disable 0b6f…-…')
    .action(async (who: string, opts: { json?: boolean }, cmd: Command) => {
      const o = await execute<OperatorJson>(resolveDataDir(cmd.optsWithGlobals()), 'operator.disable', { operator: who });
      if (opts.json) return print(o);
      process.stdout.write(`disabled ${o.id} (${o.name}, ${o.role} at ${o.office})\n`);
    });
  operator
    .command('list')
    .description('list operators (never their tokens)')
    .option('--office <code>', 'only this office')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza operator list --office ASAN-1')
    .action(async (opts: { office?: string; json?: boolean }, cmd: Command) => {
      const list = await execute<OperatorJson[]>(resolveDataDir(cmd.optsWithGlobals()), 'operator.list', opts.office ? { office: opts.office } : {});
      if (opts.json) return print(list);
      for (const o of list) process.stdout.write(`${o.id}  ${o.role.padEnd(22)} ${o.office.padEnd(14)} ${o.name}${o.disabledAt ? ' [disabled]' : ''}\n`);
    });
}
