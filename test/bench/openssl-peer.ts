/**
 * The files `openssl ocsp -index` answers from, for the benchmarks that run it beside our
 * responder (ocsp.ts, load.ts): its own P-256 CA and delegated responder, and an index.txt
 * with the benchmark's serials and statuses.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** One certificate as index.txt lists it; `revoked.reason` as index.txt writes it (e.g. keyCompromise). */
export interface IndexEntry {
  serial: string;
  notAfter: Date;
  revoked: { at: Date; reason: string } | null;
}

export interface OpensslFiles {
  caPem: string;
  respPem: string;
  respKey: string;
  index: string;
}

/** UTCTime as `openssl ca` writes it in index.txt: YYMMDDHHMMSSZ. */
function utcTime(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
}

/** A P-256 CA, a delegated responder (OCSPSigning) and an index.txt with these entries. */
export function opensslFiles(dir: string, entries: readonly IndexEntry[]): OpensslFiles {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-subj', '/CN=Bench OpenSSL CA', '-days', '30',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', f('ca.pem')]);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('resp.key'), '-subj', '/CN=Bench OpenSSL OCSP responder', '-out', f('resp.csr')]);
  writeFileSync(f('resp.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,OCSPSigning\n');
  run(['x509', '-req', '-in', f('resp.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-days', '30', '-extfile', f('resp.ext'), '-out', f('resp.pem')]);
  writeFileSync(f('index.txt'), `${entries.map(indexLine).join('\n')}\n`);
  writeFileSync(f('index.txt.attr'), 'unique_subject = no\n');
  return { caPem: f('ca.pem'), respPem: f('resp.pem'), respKey: f('resp.key'), index: f('index.txt') };
}

/** The i-th line of index.txt. */
export function indexLine(e: IndexEntry, i: number): string {
  // openssl looks a serial up as BN_bn2hex prints it: upper case, whole octets.
  const hex = (e.serial.length % 2 ? `0${e.serial}` : e.serial).toUpperCase();
  const exp = utcTime(e.notAfter);
  return e.revoked ? `R\t${exp}\t${utcTime(e.revoked.at)},${e.revoked.reason}\t${hex}\tunknown\t/CN=bench ${i}` : `V\t${exp}\t\t${hex}\tunknown\t/CN=bench ${i}`;
}
