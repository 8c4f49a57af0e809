import type { Command } from 'commander';
import { execute, resolveDataDir } from '../runner.js';

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

interface Enrolment {
  ref: string;
  secret: string;
  expiresAt: string;
}

interface RequestJson {
  id: string;
  serverId: string;
  type: string;
  state: string;
  serial: string | null;
  approvals: { by: string }[];
  createdAt: string;
}

/** `eimza member …` and `eimza server …`: the data-exchange layer's members and security servers. */
export function registerExchangeCommands(program: Command): void {
  const member = program.command('member').description('members of the data-exchange layer (organisations running security servers)');
  member
    .command('add')
    .description('register a member')
    .requiredOption('--name <name>', 'the organisation name (O and CN of its signing certificate)')
    .requiredOption('--class <class>', 'member class: GOV, COM or NGO (configuration)')
    .requiredOption('--code <voen>', "the member code: the organisation's VÖEN")
    .option('--contact <email...>', "technical contacts' e-mail addresses (renewal reminders)")
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza member add --name "Vergilər Nazirliyi" --class GOV --code 1400057421 --contact ss-admin@taxes.gov.az')
    .action(async (opts: { name: string; class: string; code: string; contact?: string[]; json?: boolean }, cmd: Command) => {
      const m = await execute<{ code: string }>(resolveDataDir(cmd.optsWithGlobals()), 'member.add', {
        name: opts.name,
        memberClass: opts.class,
        code: opts.code,
        ...(opts.contact ? { contacts: opts.contact } : {}),
      });
      if (opts.json) print(m);
      else process.stdout.write(`member=${m.code}\n`);
    });

  const server = program.command('server').description("members' security servers and their certificate requests");
  server
    .command('add')
    .description('register a security server; prints its one-time enrolment reference and secret (last line)')
    .requiredOption('--member <voen>', 'the member code')
    .requiredOption('--code <server-code>', 'the server code')
    .requiredOption('--dns <name>', "the server's DNS name (CN and SAN of its TLS certificate)")
    .option('--auto-approve', 'issue requests carrying the enrolment secret without an operator (test environments)')
    .option('--json', 'machine-readable output (includes the secret)')
    .addHelpText('after', '\nExample:\n  eimza server add --member 1400057421 --code SS1 --dns ss1.taxes.gov.az\n  Hand ref and secret to the server administrator out of band; they cannot be shown again.')
    .action(async (opts: { member: string; code: string; dns: string; autoApprove?: boolean; json?: boolean }, cmd: Command) => {
      const r = await execute<{ server: { id: string }; enrolment: Enrolment }>(resolveDataDir(cmd.optsWithGlobals()), 'server.add', {
        member: opts.member,
        code: opts.code,
        dns: opts.dns,
        ...(opts.autoApprove ? { autoApprove: true } : {}),
      });
      if (opts.json) return print(r);
      process.stdout.write(`server=${r.server.id}\nexpires=${r.enrolment.expiresAt}\nref=${r.enrolment.ref} secret=${r.enrolment.secret}\n`);
    });
  server
    .command('enrolment')
    .description('a fresh enrolment reference and secret for a server (the old ones end)')
    .argument('<server-id>')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza server enrolment 3f1c…')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const e = await execute<Enrolment>(resolveDataDir(cmd.optsWithGlobals()), 'server.enrolment', { server: id });
      if (opts.json) return print(e);
      process.stdout.write(`expires=${e.expiresAt}\nref=${e.ref} secret=${e.secret}\n`);
    });
  server
    .command('list')
    .description('members and their servers')
    .option('--member <voen>', 'only this member')
    .addHelpText('after', '\nExample:\n  eimza server list --member 1400057421')
    .action(async (opts: { member?: string }, cmd: Command) => print(await execute(resolveDataDir(cmd.optsWithGlobals()), 'server.list', opts.member ? { member: opts.member } : {})));
  server
    .command('requests')
    .description('certificate requests of security servers')
    .option('--server <id>', 'only this server')
    .option('--pending', 'only those waiting for approval')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza server requests --pending')
    .action(async (opts: { server?: string; pending?: boolean; json?: boolean }, cmd: Command) => {
      const list = await execute<RequestJson[]>(resolveDataDir(cmd.optsWithGlobals()), 'server.requests', {
        ...(opts.server ? { server: opts.server } : {}),
        ...(opts.pending ? { state: 'pending' } : {}),
      });
      if (opts.json) return print(list);
      for (const r of list) process.stdout.write(`${r.id}  ${r.type.padEnd(7)} ${r.state.padEnd(8)} server ${r.serverId}  ${r.createdAt}${r.serial ? `  serial ${r.serial}` : ''}\n`);
    });
  server
    .command('approve')
    .description('approve a request (issues it, or waits for a second approver when four-eyes is on)')
    .argument('<request-id>')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza server approve 7d2e…')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const r = await execute<RequestJson & { certificatePem: string | null }>(resolveDataDir(cmd.optsWithGlobals()), 'server.approve', { request: id });
      if (opts.json) return print(r);
      process.stdout.write(r.serial ? `${r.serial}\n` : `approved (${r.approvals.length}); waiting for a second approver\n`);
    });
  server
    .command('reject')
    .description('reject a request')
    .argument('<request-id>')
    .requiredOption('--reason <text>', 'told to the server administrator')
    .addHelpText('after', '\nExample:\n  eimza server reject 7d2e… --reason "wrong DNS name"')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      await execute(resolveDataDir(cmd.optsWithGlobals()), 'server.reject', { request: id, reason: opts.reason });
      process.stdout.write('rejected\n');
    });
  server
    .command('decommission')
    .description("take a server out of service: its certificates are revoked (cessationOfOperation)")
    .argument('<server-id>')
    .option('--execute', 'do it (without: show what would be revoked)')
    .addHelpText('after', '\nExample:\n  eimza server decommission 3f1c…            # what would happen\n  eimza server decommission 3f1c… --execute')
    .action(async (id: string, opts: { execute?: boolean }, cmd: Command) => {
      const r = await execute<{ revoked?: string[]; wouldRevoke?: string[] }>(resolveDataDir(cmd.optsWithGlobals()), 'server.decommission', { server: id, execute: Boolean(opts.execute) });
      if (r.wouldRevoke) process.stdout.write(`dry run: would decommission and revoke ${r.wouldRevoke.length}: ${r.wouldRevoke.join(' ')}\n(add --execute)\n`);
      else process.stdout.write(`decommissioned; revoked ${r.revoked!.length}: ${r.revoked!.join(' ')}\n`);
    });
}
