import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { InitResult } from '../../src/ca/hierarchy.js';
import { execute, resolveDataDir } from '../runner.js';

interface CaListEntry {
  name: string;
  kind: string;
  parent: string | null;
  subject: string;
  serial: string;
  notAfter: string;
  certificatePem: string;
  chainPem: string;
  ocspSignerPem: string | null;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the CA hierarchy: key ceremony and certificates');

  ca.command('init')
    .description('create the root CA and the issuing CAs (e-imza, mobile-ID, portal) with their OCSP signers')
    .option('--algorithm <alg>', 'key of the issuing CAs and OCSP signers: ec-p256, ec-p384, rsa-3072, rsa-4096 (default ec-p256)')
    .option('--root-algorithm <alg>', 'key of the root CA (default ec-p384)')
    .addHelpText('after', '\nExample:\n  eimza ca init --root-algorithm rsa-4096 --algorithm rsa-3072')
    .action(async (opts: { algorithm?: string; rootAlgorithm?: string }, cmd: Command) => {
      const result = await execute<InitResult>(resolveDataDir(cmd.optsWithGlobals()), 'ca.init', {
        ...(opts.algorithm ? { issuingAlgorithm: opts.algorithm } : {}),
        ...(opts.rootAlgorithm ? { rootAlgorithm: opts.rootAlgorithm } : {}),
      });
      for (const c of result.cas) {
        process.stdout.write(`${c.name.padEnd(8)} serial=${c.serial}${c.ocspSignerSerial ? ` ocsp-signer=${c.ocspSignerSerial}` : ''}\n`);
      }
    });

  ca.command('export')
    .description('write every CA certificate as PEM, plus chain-<ca>.pem and <ca>-ocsp.pem files')
    .requiredOption('--out <dir>', 'directory to write to')
    .addHelpText('after', '\nExample:\n  eimza ca export --out ./pki && openssl verify -CAfile pki/root.pem pki/eimza.pem')
    .action(async (opts: { out: string }, cmd: Command) => {
      const cas = await execute<CaListEntry[]>(resolveDataDir(cmd.optsWithGlobals()), 'ca.list', {});
      mkdirSync(opts.out, { recursive: true });
      for (const c of cas) {
        const files: [string, string][] = [
          [`${c.name}.pem`, c.certificatePem],
          [`chain-${c.name}.pem`, c.chainPem],
        ];
        if (c.ocspSignerPem) files.push([`${c.name}-ocsp.pem`, c.ocspSignerPem]);
        for (const [name, pem] of files) writeFileSync(path.join(opts.out, name), pem);
        process.stdout.write(`${path.join(opts.out, `${c.name}.pem`)}  ${c.subject}\n`);
      }
    });

  ca.command('reconcile')
    .description('resolve issuances that never completed (a crash between signing and storing): their serials are revoked')
    .addHelpText('after', '\nExample:\n  eimza ca reconcile   # eimza serve also does this at start and every few minutes')
    .action(async (_opts: unknown, cmd: Command) => {
      const result = await execute<{ resolved: string[] }>(resolveDataDir(cmd.optsWithGlobals()), 'reconcile', {});
      process.stdout.write(result.resolved.length ? `revoked unfinished reservations: ${result.resolved.join(' ')}\n` : 'nothing to reconcile\n');
    });

  ca.command('list')
    .description('list the CAs')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  eimza ca list --json')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const cas = await execute<CaListEntry[]>(resolveDataDir(cmd.optsWithGlobals()), 'ca.list', {});
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(cas.map(({ certificatePem: _c, chainPem: _ch, ocspSignerPem: _o, ...rest }) => rest), null, 2)}\n`);
        return;
      }
      for (const c of cas) process.stdout.write(`${c.name.padEnd(8)} ${c.kind.padEnd(8)} ${c.serial}  until ${c.notAfter}  ${c.subject}\n`);
    });
}
