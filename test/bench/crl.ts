/**
 * `npm run bench:crl` — a full CRL of N revoked certificates (default 1,000,000) from src/x509/crl.ts
 * (build the TBSCertList, sign with a P-256 software key, assemble, write the DER file) against
 * `openssl ca -gencrl` over the same entries and the same kind of key: wall time and peak RSS of
 * each, then both CRLs checked with `openssl crl -CAfile` (verify OK) and read back with
 * inspectCrl, entry by entry against the input.
 *
 *   npm run bench:crl -- [--entries 1000000] [--keep]
 *
 * Our peak RSS is sampled every 20 ms by a worker thread (the main thread is busy encoding, so a
 * timer on it would not fire), and cross-checked with the kernel's high-water mark (VmHWM, reset
 * through /proc/self/clear_refs) where Linux offers it. OpenSSL's comes from /usr/bin/time -v,
 * or from polling /proc/<pid>/status VmHWM every 20 ms when /usr/bin/time is missing.
 *
 * test/helpers/env.ts (openssl) is imported only after our measurement: it loads pg and the
 * store, ~65 MiB of RSS that CRL generation does not use, so the setup before it (temporary
 * folder, CA certificate) uses node:fs and execFileSync directly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign as signWithNode, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { RevocationReason } from '../../src/domain/certificate.js';
import { randomSerial } from '../../src/domain/serial.js';
import type { KeyAlgorithm, Signer } from '../../src/signing/types.js';
import { assembleCrl, buildTbsCertList, inspectCrl, type CrlEntry, type CrlInfo } from '../../src/x509/crl.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { decodePemOrDer } from '../../src/x509/pem.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
  },
});
const ENTRIES = Number(values.entries);
if (!Number.isSafeInteger(ENTRIES) || ENTRIES < 0) throw new Error('--entries must be a non-negative integer');

const MiB = 2 ** 20;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const tty = process.stderr.isTTY;

function progress(text: string): void {
  if (tty) process.stderr.write(`\r\x1b[K${text}`);
}
function progressDone(): void {
  if (tty) process.stderr.write('\r\x1b[K');
}

// ---- peak RSS of this process --------------------------------------------------------------------

/** A worker samples process.memoryUsage.rss() (process-wide) every 20 ms into shared memory. */
const peakCell = new Float64Array(new SharedArrayBuffer(8));
const sampler = new Worker(
  `const { workerData } = require('node:worker_threads');
   const cell = new Float64Array(workerData);
   setInterval(() => { const rss = process.memoryUsage.rss(); if (rss > cell[0]) cell[0] = rss; }, 20);`,
  { eval: true, workerData: peakCell.buffer },
);
sampler.unref();

function readStatus(file: string, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a peak measurement from the current RSS; VmHWM is reset too when the kernel allows it. */
function resetPeak(): boolean {
  peakCell[0] = process.memoryUsage.rss();
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function readPeak(hwmReset: boolean): { sampled: number; hwm: number | undefined } {
  const now = process.memoryUsage.rss();
  if (now > peakCell[0]!) peakCell[0] = now;
  return { sampled: peakCell[0]!, hwm: hwmReset ? readStatus('/proc/self/status', 'VmHWM') : undefined };
}

// ---- the CA key and certificate ------------------------------------------------------------------

/** The software signer of src/signing/software.ts, over a key we also hand to openssl. */
function p256Signer(privateKey: KeyObject): Signer {
  const algorithm: KeyAlgorithm = { kind: 'ec', curve: 'P-256' };
  return {
    keyUri: 'bench:p256',
    algorithm,
    publicKeySpki: new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' })),
    sign: (data) =>
      new Promise((resolve, reject) =>
        signWithNode('sha256', data, { key: privateKey, dsaEncoding: 'der' }, (error, signature) =>
          error ? reject(error) : resolve(new Uint8Array(signature)),
        ),
      ),
  };
}


// ---- entries -------------------------------------------------------------------------------------

/** Reasons both encoders can express (index.txt knows no privilegeWithdrawn/aACompromise), with weights. */
const REASON_MIX: [RevocationReason | null, number][] = [
  [null, 30],
  ['keyCompromise', 15],
  ['cACompromise', 1],
  ['affiliationChanged', 14],
  ['superseded', 20],
  ['cessationOfOperation', 12],
  ['certificateHold', 8],
];
const REASON_TABLE = REASON_MIX.flatMap(([reason, weight]) => Array<RevocationReason | null>(weight).fill(reason));

function makeEntries(count: number): CrlEntry[] {
  const now = Math.floor(Date.now() / 1000);
  const entries: CrlEntry[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const reason = REASON_TABLE[k % REASON_TABLE.length]!;
    const revokedAt = now - Math.floor(Math.random() * 2 * 365 * 86400);
    // Compromises carry the invalidity date (index.txt: keyTime/CAkeyTime), for about half of them.
    const compromised = (reason === 'keyCompromise' || reason === 'cACompromise') && k % 2 === 0;
    entries[k] = {
      serial: randomSerial(),
      revokedAt: new Date(revokedAt * 1000),
      reason,
      invalidityDate: compromised ? new Date((revokedAt - Math.floor(Math.random() * 30 * 86400)) * 1000) : null,
    };
    if (k % 50000 === 0) progress(`building entries: ${k}/${count}`);
  }
  progressDone();
  return entries;
}

const two = (n: number): string => String(n).padStart(2, '0');
function generalized(date: Date): string {
  return `${date.getUTCFullYear()}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
}
const utc = (date: Date): string => generalized(date).slice(2);

const INDEX_REASONS: Record<string, string> = {
  keyCompromise: 'keyCompromise',
  cACompromise: 'CACompromise',
  affiliationChanged: 'affiliationChanged',
  superseded: 'superseded',
  cessationOfOperation: 'cessationOfOperation',
  certificateHold: 'certificateHold',
};

/** `R <expiry> <revocation>[,reason[,compromise time]] <SERIAL> unknown /CN=x` (openssl-ca(1), apps/ca.c). */
function indexLine(entry: CrlEntry, expiry: string): string {
  let revocation = utc(entry.revokedAt);
  if (entry.reason && entry.invalidityDate) {
    revocation += `,${entry.reason === 'cACompromise' ? 'CAkeyTime' : 'keyTime'},${generalized(entry.invalidityDate)}`;
  } else if (entry.reason) {
    revocation += `,${INDEX_REASONS[entry.reason]}`;
  }
  return `R\t${expiry}\t${revocation}\t${entry.serial.toUpperCase()}\tunknown\t/CN=x\n`;
}

function writeIndex(file: string, entries: readonly CrlEntry[]): void {
  const expiry = utc(new Date(Date.now() + 365 * 86400_000));
  const fd = openSync(file, 'w');
  try {
    for (let start = 0; start < entries.length; start += 20000) {
      let chunk = '';
      for (let k = start; k < Math.min(start + 20000, entries.length); k++) chunk += indexLine(entries[k]!, expiry);
      writeSync(fd, chunk);
      progress(`writing index.txt: ${start}/${entries.length}`);
    }
  } finally {
    closeSync(fd);
  }
  progressDone();
}

// ---- OpenSSL, measured ---------------------------------------------------------------------------

interface ChildMeasure {
  wallMs: number;
  peakRss: number;
  how: string;
}

/** Runs a command; peak RSS from /usr/bin/time -v, else from polling /proc/<pid>/status VmHWM every 20 ms. */
async function measureChild(command: string, args: string[], cwd: string): Promise<ChildMeasure> {
  const withTime = existsSync('/usr/bin/time');
  const started = performance.now();
  const child = withTime
    ? spawn('/usr/bin/time', ['-v', command, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  let polled = 0;
  const poll = withTime
    ? undefined
    : setInterval(() => {
        const hwm = readStatus(`/proc/${child.pid}/status`, 'VmHWM');
        if (hwm !== undefined && hwm > polled) polled = hwm;
      }, 20);
  const ticker = setInterval(() => progress(`openssl ca -gencrl: ${((performance.now() - started) / 1000).toFixed(0)} s`), 500);
  const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 1)));
  const wallMs = performance.now() - started;
  clearInterval(ticker);
  if (poll) clearInterval(poll);
  progressDone();
  if (code !== 0) throw new Error(`${command} failed (${code}): ${stderr.slice(-2000)}`);
  if (withTime) {
    const max = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    return { wallMs, peakRss: Number(max?.[1] ?? 0) * 1024, how: '/usr/bin/time -v' };
  }
  return { wallMs, peakRss: polled, how: 'VmHWM polled every 20 ms' };
}

/** The base64 body of a single PEM block (pem.ts checks it with asn1js, whose node limit a 1M-entry CRL exceeds). */
function pemBody(pem: string): Uint8Array {
  const body = /-----BEGIN X509 CRL-----([^-]+)-----END X509 CRL-----/.exec(pem)?.[1];
  if (!body) throw new Error('openssl wrote no X509 CRL PEM block');
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
}

// ---- checks --------------------------------------------------------------------------------------

async function opensslVerifies(
  openssl: (args: string[]) => Promise<{ stdout: string; stderr: string }>,
  crlFile: string,
  inform: 'DER' | 'PEM',
  caFile: string,
): Promise<boolean> {
  const result = await openssl(['crl', '-inform', inform, '-in', crlFile, '-CAfile', caFile, '-noout']);
  return (result.stdout + result.stderr).includes('verify OK');
}

/** Every input entry, exactly once, with its reason, revocation and invalidity dates. */
function sameEntries(info: CrlInfo, entries: readonly CrlEntry[]): string {
  if (info.entries.length !== entries.length) return `${info.entries.length} entries, not ${entries.length}`;
  const bySerial = new Map<string, CrlEntry>(entries.map((entry) => [entry.serial, entry]));
  for (const read of info.entries) {
    const entry = bySerial.get(read.serial);
    if (!entry) return `unexpected serial ${read.serial}`;
    bySerial.delete(read.serial);
    if (
      read.reason !== entry.reason ||
      read.revokedAt.getTime() !== entry.revokedAt.getTime() ||
      (read.invalidityDate?.getTime() ?? null) !== (entry.invalidityDate?.getTime() ?? null)
    ) {
      return `entry ${read.serial} differs`;
    }
  }
  return 'all entries match the input';
}

// ---- main ----------------------------------------------------------------------------------------

const dir = mkdtempSync(path.join(os.tmpdir(), 'eimza-bench-crl-'));
try {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '30', '-out', caFile, '-subj', '/C=AZ/O=e-imza Bench/CN=CRL Bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash'], { stdio: 'ignore' });
  const issuerName = inspectCertificate(decodePemOrDer(readFileSync(caFile, 'utf8'), 'CERTIFICATE')).subjectNameDer;
  const signer = p256Signer(privateKey);

  const rssBeforeEntries = process.memoryUsage.rss();
  const entriesStarted = performance.now();
  const entries = makeEntries(ENTRIES);
  const entriesMs = performance.now() - entriesStarted;
  const rssWithEntries = process.memoryUsage.rss();

  // (a) ours: build + sign + assemble + write
  const oursFile = path.join(dir, 'ours.crl');
  const hwmReset = resetPeak();
  progress('ours: building the TBSCertList');
  const started = performance.now();
  const now = new Date();
  const tbs = buildTbsCertList({
    issuerName,
    issuerPublicKeySpki: signer.publicKeySpki,
    signatureAlgorithm: signer.algorithm,
    crlNumber: 1n,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 7 * 86400_000),
    entries,
  });
  const built = performance.now();
  progress('ours: signing');
  const signature = await signer.sign(tbs);
  const signed = performance.now();
  const crl = assembleCrl(tbs, signer.algorithm, signature);
  const assembled = performance.now();
  progress('ours: writing');
  await writeFile(oursFile, crl);
  const written = performance.now();
  const oursMs = written - started;
  const oursPeak = readPeak(hwmReset);
  progressDone();
  const oursSize = crl.length;
  const timings = `build ${seconds(built - started)}, sign ${seconds(signed - built)}, assemble ${seconds(assembled - signed)}, write ${seconds(written - assembled)}`;

  const env = await import('../helpers/env.js');

  // (b) OpenSSL on the same entries
  const indexFile = path.join(dir, 'index.txt');
  writeIndex(indexFile, entries);
  writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    ['[ ca ]', 'default_ca = bench', '[ bench ]', `database = ${indexFile}`, `crlnumber = ${dir}/crlnumber`, `private_key = ${keyFile}`,
      `certificate = ${caFile}`, 'default_crl_days = 7', 'default_md = sha256', 'unique_subject = no', 'crl_extensions = crl_ext',
      '[ crl_ext ]', 'authorityKeyIdentifier = keyid:always'].join('\n') + '\n',
  );
  const opensslFile = path.join(dir, 'openssl.crl.pem');
  const theirs = await measureChild('openssl', ['ca', '-gencrl', '-batch', '-config', path.join(dir, 'ca.cnf'), '-out', opensslFile], dir);
  const theirsDer = pemBody(readFileSync(opensslFile, 'utf8'));

  // (c) checks and figures
  progress('checking both CRLs');
  const oursVerified = await opensslVerifies(env.openssl, oursFile, 'DER', caFile);
  const theirsVerified = await opensslVerifies(env.openssl, opensslFile, 'PEM', caFile);
  const oursEntries = sameEntries(inspectCrl(crl), entries);
  const theirsEntries = sameEntries(inspectCrl(theirsDer), entries);
  progressDone();

  const oursPeakRss = Math.max(oursPeak.sampled, oursPeak.hwm ?? 0);
  console.log(`CRL of ${ENTRIES} entries (P-256, SHA-256; random 16-byte serials; ${REASON_MIX.map(([r, w]) => `${r ?? 'no reason'} ${w}%`).join(', ')}; invalidity dates on half the compromises)`);
  console.log(`input: ${ENTRIES} entries built in ${seconds(entriesMs)}; RSS before building them ${mib(rssBeforeEntries)}, with them ${mib(rssWithEntries)}`);
  console.log(`e-imza : ${seconds(oursMs)} (${timings}) | peak RSS ${mib(oursPeakRss)} (sampled ${mib(oursPeak.sampled)}${oursPeak.hwm ? `, VmHWM ${mib(oursPeak.hwm)}` : ''}; ${mib(oursPeakRss - rssWithEntries)} above the input) | DER ${oursSize} bytes | openssl crl: ${oursVerified ? 'verify OK' : 'VERIFY FAILED'} | inspectCrl: ${oursEntries}`);
  console.log(`OpenSSL: ${seconds(theirs.wallMs)} | peak RSS ${mib(theirs.peakRss)} (${theirs.how}) | DER ${theirsDer.length} bytes | openssl crl: ${theirsVerified ? 'verify OK' : 'VERIFY FAILED'} | inspectCrl: ${theirsEntries}`);
  console.log(`ratio  : OpenSSL time / ours = ${(theirs.wallMs / oursMs).toFixed(1)}x | ours peak RSS / OpenSSL = ${((oursPeakRss / theirs.peakRss) * 100).toFixed(0)}% (above the input: ${(((oursPeakRss - rssWithEntries) / theirs.peakRss) * 100).toFixed(0)}%)`);
  if (values.keep) console.log(`files kept in ${dir}`);
  if (!oursVerified || !theirsVerified || !oursEntries.startsWith('all') || !theirsEntries.startsWith('all')) process.exitCode = 1;
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  await sampler.terminate();
}
