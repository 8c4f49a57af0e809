import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appendAudit } from '../audit/log.js';
import type { CaDeps } from '../ca/deps.js';
import type { LoadedCa } from '../ca/directory.js';
import { publishedReason } from '../domain/status.js';
import { CaError, isCaError } from '../errors.js';
import { crlFileName, crlUrl } from '../policy/settings.js';
import { crlWatermark, insertCrl, latestCrl, listChangedSince, listCrlScopes, listRevoked, nextCrlNumber, pruneCrls, type RevocationRow, type StoredCrl } from '../store/crls.js';
import { inTransaction } from '../store/transaction.js';
import { signCrl, type CrlEntry } from '../x509/crl.js';

const MINUTE_MS = 60_000;
/** CRLs kept per scope and kind in the database; older ones are pruned (the audit log keeps their hashes). */
const KEEP_CRLS = 20;

export interface PublishedCrl {
  caName: string;
  scope: string;
  kind: 'full' | 'delta';
  number: string;
  entries: number;
  thisUpdate: string;
  nextUpdate: string;
  file: string;
}

export interface PublishOptions {
  caName?: string;
  kind?: 'full' | 'delta' | 'both';
  actor?: string;
  onProgress?: (message: string) => void;
}

/**
 * CRL publication (RFC 5280 §5): a full CRL and a delta CRL per CA and scope, numbered in one
 * sequence per scope, stored in the database (what GET /crl serves, on every node) and written
 * to `<data-dir>/crl/` after commit for static hosting. Signed by the CA key: CRLs are not on a
 * hot path, they are published on a schedule and after status changes (debounced).
 */
export class CrlPublisher {
  private deltaTimers = new Map<string, NodeJS.Timeout>();
  private running: Promise<unknown> = Promise.resolve();
  private schedule: NodeJS.Timeout | null = null;
  /** The newest whole-CA CRL seen per CA and kind (published here, or read by publishDue): the CRL-age metric. */
  private readonly newest = new Map<string, { caName: string; kind: 'full' | 'delta'; thisUpdate: Date }>();

  constructor(
    private readonly deps: CaDeps,
    private readonly directory: string | null,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  /** Full and/or delta CRLs for one CA or all, every scope. One publication runs at a time. */
  publish(opts: PublishOptions = {}): Promise<PublishedCrl[]> {
    const run = this.running.then(() => this.publishNow(opts));
    this.running = run.catch(() => {});
    return run;
  }

  /**
   * Publishes what is due now and then every minute, and deltas after status changes (`eimza
   * serve`); without it (one-shot CLI runs) nothing is scheduled.
   */
  start(): void {
    if (this.schedule) return;
    const tick = (): void => void this.publishDue().catch(this.onError);
    tick();
    this.schedule = setInterval(tick, MINUTE_MS);
    this.schedule.unref();
  }

  /** After a status change: a delta for that CA within `delayMs`, many changes sharing one. */
  scheduleDelta(caName: string, delayMs = 2000): void {
    if (!this.schedule || this.deltaTimers.has(caName)) return;
    const timer = setTimeout(() => {
      this.deltaTimers.delete(caName);
      this.publish({ caName, kind: 'delta', actor: 'crl-scheduler' }).catch(this.onError);
    }, delayMs);
    timer.unref();
    this.deltaTimers.set(caName, timer);
  }

  /** Publishes what is due: a full CRL when none is fresh enough, deltas on their interval. */
  async publishDue(): Promise<PublishedCrl[]> {
    const r = this.deps.settings.revocation;
    const now = this.deps.clock.now().getTime();
    const out: PublishedCrl[] = [];
    for (const ca of await this.deps.cas.list()) {
      const full = await latestCrl(this.deps.db, ca.record.name, '', 'full');
      if (full) this.seen(ca.record.name, 'full', full.thisUpdate);
      if (!full || now - full.thisUpdate.getTime() >= r.fullCrlIntervalMinutes * MINUTE_MS) {
        out.push(...(await this.publish({ caName: ca.record.name, kind: 'both', actor: 'crl-scheduler' })));
        continue;
      }
      const delta = await latestCrl(this.deps.db, ca.record.name, '', 'delta');
      if (delta) this.seen(ca.record.name, 'delta', delta.thisUpdate);
      if (!delta || now - delta.thisUpdate.getTime() >= r.deltaCrlIntervalMinutes * MINUTE_MS) {
        out.push(...(await this.publish({ caName: ca.record.name, kind: 'delta', actor: 'crl-scheduler' })));
      }
    }
    return out;
  }

  /** The newest CRL of each CA and kind this publisher knows of (scope of the whole CA). */
  publications(): Iterable<{ caName: string; kind: 'full' | 'delta'; thisUpdate: Date }> {
    return this.newest.values();
  }

  private seen(caName: string, kind: 'full' | 'delta', thisUpdate: Date): void {
    const key = `${caName}:${kind}`;
    const known = this.newest.get(key);
    if (!known || known.thisUpdate.getTime() < thisUpdate.getTime()) this.newest.set(key, { caName, kind, thisUpdate });
  }

  /** Stops the schedule and waits for a publication in progress. */
  async close(): Promise<void> {
    if (this.schedule) clearInterval(this.schedule);
    this.schedule = null;
    for (const t of this.deltaTimers.values()) clearTimeout(t);
    this.deltaTimers.clear();
    await this.running;
  }

  /** The newest CRL of a published file name (`eimza.crl`, `eimza-delta.crl`, `eimza-p3.crl`…). */
  async current(fileName: string): Promise<StoredCrl | undefined> {
    const m = /^([a-z][a-z0-9-]*?)(?:-(p\d+))?(-delta)?\.crl$/.exec(fileName);
    if (!m) return undefined;
    return latestCrl(this.deps.db, m[1]!, m[2] ?? '', m[3] ? 'delta' : 'full');
  }

  private async publishNow(opts: PublishOptions): Promise<PublishedCrl[]> {
    const cas = opts.caName ? [await this.deps.cas.get(opts.caName)] : await this.deps.cas.list();
    const kind = opts.kind ?? 'both';
    const out: PublishedCrl[] = [];
    for (const ca of cas) {
      for (const scope of await listCrlScopes(this.deps.db, ca.record.name)) {
        if (kind !== 'delta') out.push(await this.publishOne(ca, scope, 'full', opts));
        if (kind !== 'full') out.push(await this.publishOne(ca, scope, 'delta', opts));
      }
      await pruneCrls(this.deps.db, ca.record.name, KEEP_CRLS);
    }
    return out;
  }

  private async publishOne(ca: LoadedCa, scope: string, kind: 'full' | 'delta', opts: PublishOptions): Promise<PublishedCrl> {
    const { db, clock, settings } = this.deps;
    const caName = ca.record.name;
    const label = `${caName}${scope ? ` ${scope}` : ''} ${kind} CRL`;
    let base = kind === 'delta' ? await latestCrl(db, caName, scope, 'full') : undefined;
    if (kind === 'delta' && !base) {
      await this.publishOne(ca, scope, 'full', opts);
      base = await latestCrl(db, caName, scope, 'full');
    }
    // The watermark first, in a transaction of its own: every change at or below it is committed.
    const watermark = await inTransaction(db, ({ tx }) => crlWatermark(tx, caName));
    const now = clock.now();
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    opts.onProgress?.(`${label}: reading entries`);
    const entries: CrlEntry[] = [];
    if (kind === 'full') {
      for await (const page of listRevoked(db, caName, scope, now)) {
        for (const row of page) entries.push(fullEntry(row));
        opts.onProgress?.(`${label}: ${entries.length} entries`);
      }
    } else {
      for (const row of await listChangedSince(db, caName, scope, base!.statusSeqWatermark, now)) entries.push(deltaEntry(row));
    }
    const r = settings.revocation;
    const nextUpdate = new Date(thisUpdate.getTime() + (kind === 'full' ? r.fullCrlValidityHours * 60 : r.deltaCrlValidityMinutes) * MINUTE_MS);
    const signer = await ca.signer();
    for (let attempt = 1; ; attempt++) {
      const number = await nextCrlNumber(db, caName, scope);
      opts.onProgress?.(`${label} #${number}: signing ${entries.length} entries`);
      const der = await signCrl(
        {
          issuerName: ca.certificate.subjectNameDer,
          issuerPublicKeySpki: ca.certificate.subjectPublicKeySpki,
          signatureAlgorithm: signer.algorithm,
          crlNumber: number,
          thisUpdate,
          nextUpdate,
          entries,
          ...(kind === 'delta' ? { deltaOf: base!.number } : { freshestCrlUrl: crlUrl(settings, caName, scope, true) }),
          // A partition names itself (RFC 5280 §5.2.5); its delta carries the same scope (§5.2.4).
          ...(scope ? { issuingDistributionPoint: { url: crlUrl(settings, caName, scope), onlyContainsUserCerts: true } } : {}),
        },
        signer,
      );
      const stored: StoredCrl = {
        caName,
        scope,
        number,
        kind,
        baseNumber: kind === 'delta' ? base!.number : null,
        statusSeqWatermark: watermark,
        entryCount: entries.length,
        thisUpdate,
        nextUpdate,
        der,
      };
      try {
        await inTransaction(db, async ({ tx, onCommit }) => {
          await insertCrl(tx, stored);
          await appendAudit(tx, clock, [
            {
              actor: opts.actor ?? 'crl-publisher',
              action: kind === 'full' ? 'crl.published' : 'crl.deltaPublished',
              caName,
              details: { scope, number: number.toString(), entries: entries.length, ...(kind === 'delta' ? { base: base!.number.toString() } : {}) },
            },
          ]);
          onCommit(() => this.writeFile(crlFileName(caName, scope, kind === 'delta'), der));
          if (scope === '') onCommit(() => this.seen(caName, kind, thisUpdate));
        });
      } catch (e) {
        // Another node published this number first: take the next one.
        if (isCaError(e) && e.code === 'duplicate' && attempt < 3) continue;
        throw e;
      }
      return {
        caName,
        scope,
        kind,
        number: number.toString(),
        entries: entries.length,
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        file: crlFileName(caName, scope, kind === 'delta'),
      };
    }
  }

  /** Atomic replace, so a web server in front never serves half a file. */
  private writeFile(name: string, der: Uint8Array): void {
    if (!this.directory) return;
    try {
      mkdirSync(this.directory, { recursive: true });
      const target = path.join(this.directory, name);
      writeFileSync(`${target}.tmp`, der);
      renameSync(`${target}.tmp`, target);
    } catch (e) {
      this.onError(new CaError('internal', `could not write ${name}`, { code: 'crlWriteFailed', cause: e }));
    }
  }
}

function fullEntry(row: RevocationRow): CrlEntry {
  return { serial: row.serial, revokedAt: row.changedAt, reason: publishedReason(row.status, row.reason), invalidityDate: row.invalidityDate };
}

/** In a delta, a certificate active again (restored) is removeFromCRL (RFC 5280 §5.3.1). */
function deltaEntry(row: RevocationRow): CrlEntry {
  if (row.status === 'active') return { serial: row.serial, revokedAt: row.changedAt, reason: 'removeFromCRL', invalidityDate: null };
  return fullEntry(row);
}
