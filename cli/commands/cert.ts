import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CaError } from '../../src/errors.js';
import { execute, resolveDataDir } from '../runner.js';
import { registerStatusCommands } from './status.js';

interface CertificateView {
  serial: string;
  ca: string;
  profile: string;
  status: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string | null;
  revocationReason: string | null;
  revokedAt: string | null;
  certificatePem?: string | null;
  history?: { at: string; actor: string; action: string }[];
}

export function registerCertCommands(program: Command): void {
  const cert = program.command('cert').description('end-entity certificates');

  cert
    .command('issue')
    .description('issue a certificate from a PKCS#10 CSR; prints the serial')
    .requiredOption('--profile <profile>', 'signature, authentication, encryption, mobile-auth, mobile-sign, server-signing or server-tls')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER')
    .requiredOption('--holder <file>', 'holder JSON: fin, givenName, surname, email, phone [, organization, voen] or memberName, memberClass, memberCode, dnsName')
    .option('--days <n>', 'validity in days (default: the profile\'s)', (v) => parseIntStrict(v, '--days'))
    .option('--secure-device', 'the key was generated on a card, SIM or HSM (QcSSCD, the -qscd / + policies)')
    .requiredOption('--out <file>', 'where to write the certificate (PEM)')
    .option('--chain-out <file>', 'where to write the CA chain (PEM)')
    .addHelpText('after', '\nExample:\n  eimza cert issue --profile signature --csr req.pem --holder holder.json --out cert.pem')
    .action(async (opts: { profile: string; csr: string; holder: string; days?: number; secureDevice?: boolean; out: string; chainOut?: string }, cmd: Command) => {
      const csr = readInput(opts.csr, 'CSR');
      const holder = readJson(opts.holder);
      const result = await execute<{ serial: string; certificatePem: string; chainPem: string }>(resolveDataDir(cmd.optsWithGlobals()), 'cert.issue', {
        profile: opts.profile,
        csr,
        holder,
        ...(opts.days !== undefined ? { days: opts.days } : {}),
        ...(opts.secureDevice ? { keyOnSecureDevice: true } : {}),
      });
      writeFileSync(opts.out, result.certificatePem);
      if (opts.chainOut) writeFileSync(opts.chainOut, result.chainPem);
      process.stdout.write(`${result.serial}\n`);
    });

  cert
    .command('show')
    .description('show one certificate: status, dates, history')
    .argument('<serial>', 'serial number in hex, any case, colons allowed')
    .option('--json', 'machine-readable output')
    .option('--pem', 'print the certificate PEM only')
    .addHelpText('after', '\nExample:\n  eimza cert show 5A:1F:…:9C --json')
    .action(async (serial: string, opts: { json?: boolean; pem?: boolean }, cmd: Command) => {
      const view = await execute<CertificateView>(resolveDataDir(cmd.optsWithGlobals()), 'cert.show', { serial });
      if (opts.pem) {
        process.stdout.write(view.certificatePem ?? '');
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
        return;
      }
      const lines = [
        ['serial', view.serial],
        ['status', view.status + (view.revocationReason ? ` (${view.revocationReason}, ${view.revokedAt})` : '')],
        ['profile', view.profile],
        ['issuer', view.ca],
        ['subject', view.subject],
        ['valid', `${view.notBefore} .. ${view.notAfter}`],
        ['issued', view.issuedAt ?? '-'],
      ];
      for (const [k, v] of lines) process.stdout.write(`${k!.padEnd(8)} ${v}\n`);
      for (const h of view.history ?? []) process.stdout.write(`  ${h.at}  ${h.action}  by ${h.actor}\n`);
    });

  cert
    .command('list')
    .description('list certificates')
    .option('--status <status>', 'reserved, active, suspended or revoked')
    .option('--profile <profile>', 'one profile only')
    .option('--limit <n>', 'at most this many (default 1000)', (v) => parseIntStrict(v, '--limit'))
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza cert list --status active --profile signature')
    .action(async (opts: { status?: string; profile?: string; limit?: number; json?: boolean }, cmd: Command) => {
      const views = await execute<CertificateView[]>(resolveDataDir(cmd.optsWithGlobals()), 'cert.list', {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.profile ? { profile: opts.profile } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
        return;
      }
      for (const v of views) {
        process.stdout.write(`${v.serial}  ${v.status.padEnd(9)} ${v.profile.padEnd(14)} ${v.notAfter.slice(0, 10)}  ${v.subject}\n`);
      }
    });

  registerStatusCommands(cert);
}

function parseIntStrict(v: string, name: string): number {
  if (!/^\d+$/.test(v)) throw new CaError('malformed', `${name} must be a whole number`, { code: 'invalidArgument' });
  return Number(v);
}

/** PEM stays text; DER goes over as base64 so the operation input is JSON. */
function readInput(file: string, what: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new CaError('notFound', `cannot read the ${what} file ${file}`, { code: 'fileNotFound' });
  }
  const text = bytes.toString('latin1');
  return text.includes('-----BEGIN') ? text : `base64:${bytes.toString('base64')}`;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CaError('notFound', `cannot read the holder file ${file}`, { code: 'fileNotFound' });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CaError('malformed', `${file} is not valid JSON`, { code: 'malformedJson' });
  }
}
