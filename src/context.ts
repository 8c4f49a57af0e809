import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPkcs11KeyStore, ensureSoftHsmToken, findSoftHsmModule } from '../hsm/index.js';
import type { CaDeps, FaultHooks, StatusPublisher } from './ca/deps.js';
import { CrlPublisher } from './crl/publisher.js';
import { OcspResponder } from './ocsp/responder.js';
import { listenStatusChanges, RESPONDER_CHANGED } from './store/status-notifications.js';
import { renewOcspSigners } from './ca/ocsp-signer-rotation.js';
import { CaDirectory } from './ca/directory.js';
import { createIssuanceWriters } from './ca/record-and-sign.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import { openEmbeddedDataDir } from './data-dir-check.js';
import type { DataDirLock } from './data-dir-lock.js';
import { CaError } from './errors.js';
import { DEFAULT_PKI_SETTINGS, mergePkiSettings, type PkiSettings } from './policy/settings.js';
import { KeyRegistry, type HsmErrorHook } from './signing/registry.js';
import { createSoftwareKeyStore } from './signing/software.js';
import type { KeyStore } from './signing/types.js';
import { embeddedDatabaseMemory, openDatabase, type DatabaseTarget, type Db } from './store/database.js';
import { createHolderNotices, queueExpiryWarnings } from './notify/outbox.js';
import { NotificationSender, type NotifyLog } from './notify/sender.js';
import { createActivationCodeSender } from './notify/activation-code.js';
import type { RaDeps } from './ra/deps.js';
import { BATCH_QUEUE, runBatchChunk } from './ra/batches.js';
import { openJobQueue, type JobQueue } from './store/job-queue.js';
import { sql } from 'kysely';
import { ServiceMetrics } from './metrics.js';
import { countQueuedNotifications } from './store/notifications.js';
import { countQueuedBatchItems } from './store/batches.js';

/**
 * The composition root: the one place that builds everything from configuration (and the only
 * src file that imports hsm/). Nothing here has side effects at import time.
 */
export interface AppContext {
  config: Config;
  db: Db;
  ca: CaDeps;
  ra: RaDeps;
  ocsp: OcspResponder;
  crl: CrlPublisher;
  /** Prometheus metrics of this process (GET /metrics). */
  metrics: ServiceMetrics;
  /**
   * The background work of a server: the CRL schedule, OCSP refresh, holder e-mail (delivery and
   * the daily expiry scan), and (PostgreSQL) the status notifications of other processes.
   * Returns the function that stops it.
   */
  startPublishing(log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void): Promise<() => Promise<void>>;
  /**
   * Bulk-issuance workers alone (`eimza batch worker`): `concurrency` jobs at a time from the
   * shared queue, and nothing else of a server. Returns the function that stops them.
   */
  startBatchWorkers(log: (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void, concurrency: number): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface ContextOptions {
  clock?: Clock;
  faults?: FaultHooks;
  /** Tests: a Postgres schema of their own on a shared server. */
  databaseSchema?: string;
}

export async function openContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  let lock: DataDirLock | null = null;
  let db: Db;
  if (config.database.kind === 'pglite') {
    // Checked first: a read-only, full or unwritable data directory is one clear error (src/data-dir-check.ts).
    ({ value: db, lock } = await openEmbeddedDataDir(config, () => openDatabase(databaseTarget(config, options))));
  } else {
    db = await openDatabase(databaseTarget(config, options));
  }
  const settings: PkiSettings = mergePkiSettings(DEFAULT_PKI_SETTINGS, config.pki);
  const clock = options.clock ?? systemClock;
  // Bound below, once the CRL publisher exists; the gauges read it when scraped.
  let crl: CrlPublisher | null = null;
  const metrics = new ServiceMetrics({
    now: () => clock.now(),
    crlPublications: () => crl?.publications() ?? [],
    queuedNotifications: () => countQueuedNotifications(db),
    queuedBatchItems: () => countQueuedBatchItems(db),
    embeddedDatabaseMemory: () => embeddedDatabaseMemory(db),
  });
  const keys = buildKeyRegistry(config, (operation) => metrics.hsmError(operation));
  const cas = new CaDirectory(db, keys);
  const ocsp = new OcspResponder({ db, cas, clock, settings: settings.revocation });
  const publisher: StatusPublisher = {
    async statusChanged(uow, record) {
      await ocsp.statusChanged(uow, record);
      uow.onCommit(() => crl?.scheduleDelta(record.caName));
    },
  };
  // Holder e-mail is queued in the transaction of each change; the sender (started with the
  // server) delivers it after commit, and a kick makes that prompt instead of the next poll.
  const holderNotices = createHolderNotices(clock, settings.publicBaseUrl);
  let sender: NotificationSender | null = null;
  const kickSender = () => sender?.kick();
  // Mobile-ID activation codes go out at once, never through the outbox; logged to the server's log once it runs.
  let codeLog: NotifyLog = () => {};
  const activationCodes = createActivationCodeSender({ config: config.notify, clock, log: (...a) => codeLog(...a) });
  const ca: CaDeps = {
    db,
    clock,
    keys,
    cas,
    issuance: createIssuanceWriters(db, clock, () => ca.notices),
    settings,
    reservationGraceMs: config.ca.reservationGraceMs,
    publisher,
    metrics,
    notices: {
      async certificateEvent(tx, subject, event) {
        await holderNotices.certificateEvent(tx, subject, event);
        kickSender();
      },
    },
    ...(options.faults ? { faults: options.faults } : {}),
  };
  const ra: RaDeps = {
    ca,
    notices: {
      async applicationEvent(tx, e) {
        await holderNotices.applicationEvent(tx, e);
        kickSender();
      },
    },
    activationCodes,
    staleAfterMs: 120_000,
    exchange: {
      // Made on first use only at the demo default path: a configured file that is missing is an error,
      // never silently replaced (every outstanding enrolment secret would stop working).
      enrolmentKey: readOrCreateKey(config.ra.enrolmentKeyFile, config.ra.enrolmentKeyFile === path.join(config.dataDir, 'secrets', 'enrolment.key')),
      enrolmentValidityHours: config.ra.enrolmentValidityHours,
      fourEyes: config.ra.fourEyes,
    },
  };
  let logError: (e: unknown) => void = () => {};
  const workBatches = (jobs: JobQueue, concurrency: number) =>
    jobs.work<{ batchId: string; from: number; to: number }>(BATCH_QUEUE, { concurrency }, (job) => runBatchChunk(ra, job));
  const crlPublisher = new CrlPublisher(ca, path.join(config.dataDir, 'crl'), (e) => logError(e));
  crl = crlPublisher;
  return {
    config,
    db,
    ca,
    ra,
    ocsp,
    crl: crlPublisher,
    metrics,
    async startPublishing(log) {
      logError = (e) => log('error', 'publishing failed', { error: e instanceof Error ? e.message : String(e) });
      codeLog = log;
      crlPublisher.start();
      // Batches (bulk issuance) are queued on pg-boss in a schema beside ours; this node works them
      // too, unless it is an API/OCSP-only node (server.batchWorkers 0) whose batches run elsewhere.
      const jobs = await openJobQueue(db, await jobSchema(db), logError);
      ra.jobs = jobs;
      if (config.server.batchWorkers > 0) await workBatches(jobs, config.server.batchWorkers);
      const mail = new NotificationSender({ db, clock, config: config.notify, log });
      sender = mail;
      mail.start();
      const scanExpiry = () =>
        void queueExpiryWarnings(db, clock, settings.publicBaseUrl, config.notify.expiryWarningDays)
          .then((n) => (n > 0 ? mail.kick() : undefined))
          .catch(logError);
      scanExpiry();
      const expiryScan = setInterval(scanExpiry, 3_600_000);
      expiryScan.unref();
      // Every minute, re-sign what has grown old, in pages, until nothing is left (one run at a time).
      let refreshing = false;
      const refresh = setInterval(() => {
        if (refreshing) return;
        refreshing = true;
        void (async () => {
          const page = 2000;
          for (let pages = 0; pages < 100 && (await ocsp.refreshStale(page)) === page; pages++);
        })()
          .catch(logError)
          .finally(() => (refreshing = false));
      }, 60_000);
      refresh.unref();
      // Delegated responders live 30 days: renew each well before it ends (at start, then every 6 h).
      const renewResponders = () =>
        void renewOcspSigners(ca, 'serve')
          .then((renewed) => (renewed.length ? log('info', 'renewed OCSP responder certificates', { cas: renewed }) : undefined))
          .catch(logError);
      renewResponders();
      const responderRenewal = setInterval(renewResponders, 6 * 3_600_000);
      responderRenewal.unref();
      const target = databaseTarget(config, options);
      const listener =
        target.kind === 'postgres'
          ? await listenStatusChanges(
              target.url,
              target.schema,
              ({ caName, serial }) => {
                if (serial === RESPONDER_CHANGED) {
                  // Another node renewed a responder: take its key and certificate, drop every answer.
                  void cas.reload().then(() => ocsp.reloadIssuers(), logError);
                  return;
                }
                ocsp.evict(serial);
                crlPublisher.scheduleDelta(caName);
              },
              // Reconnected: what was sent meanwhile is lost, so forget every cached answer (and a renewed responder).
              () => void cas.reload().then(() => ocsp.reloadIssuers(), logError),
              logError,
            )
          : null;
      return async () => {
        clearInterval(refresh);
        clearInterval(expiryScan);
        clearInterval(responderRenewal);
        sender = null;
        await mail.close();
        delete ra.jobs;
        await jobs.stop();
        await listener?.close();
        await crlPublisher.close();
      };
    },
    async startBatchWorkers(log, concurrency) {
      logError = (e) => log('error', 'batch worker failed', { error: e instanceof Error ? e.message : String(e) });
      const jobs = await openJobQueue(db, await jobSchema(db), logError);
      ra.jobs = jobs;
      await workBatches(jobs, concurrency);
      return async () => {
        delete ra.jobs;
        await jobs.stop();
      };
    },
    async close() {
      activationCodes.close();
      await crlPublisher.close();
      await keys.close();
      await db.destroy();
      lock?.release();
    },
  };
}

/** `<our schema>_jobs`; on the embedded database, pgboss. */
async function jobSchema(db: Db): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema ?? 'public';
  return schema === 'public' ? 'eimza_jobs' : `${schema}_jobs`;
}

function databaseTarget(config: Config, options: ContextOptions): DatabaseTarget {
  if (config.database.kind === 'pglite') return { kind: 'pglite', directory: config.database.directory };
  return {
    kind: 'postgres',
    url: config.database.url,
    poolSize: config.database.poolSize,
    ...(options.databaseSchema ? { schema: options.databaseSchema } : {}),
  };
}

function buildKeyRegistry(config: Config, onHsmError: HsmErrorHook): KeyRegistry {
  const ks = config.keyStore;
  const softHsmModule = ks.pkcs11.modulePath ? undefined : findSoftHsmModule();
  const pkcs11Available = Boolean(ks.pkcs11.modulePath || softHsmModule);
  const openPkcs11 = async (): Promise<KeyStore> => {
    if (ks.pkcs11.modulePath) {
      return createPkcs11KeyStore({ modulePath: ks.pkcs11.modulePath, tokenLabel: ks.pkcs11.tokenLabel, pin: readPin(config) });
    }
    if (!softHsmModule) {
      throw new CaError('hsmUnavailable', 'no PKCS#11 module configured and SoftHSM2 is not installed', { code: 'keyStoreNotConfigured' });
    }
    // The demo default: a SoftHSM token in the data directory, its user PIN in a 0600 file there.
    const token = await ensureSoftHsmToken({ directory: path.join(config.dataDir, 'softhsm'), tokenLabel: ks.pkcs11.tokenLabel });
    return createPkcs11KeyStore({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin });
  };
  const openSoftware = async (): Promise<KeyStore> =>
    createSoftwareKeyStore({ directory: ks.software.directory, passphrase: softwarePassphrase(config) });
  const backend = ks.backend === 'auto' ? (pkcs11Available ? 'pkcs11' : 'software') : ks.backend;
  return new KeyRegistry({ ...(pkcs11Available ? { pkcs11: openPkcs11 } : {}), software: openSoftware }, backend, onHsmError);
}

function readPin(config: Config): string {
  const { pinFromEnv, pinFile } = config.keyStore.pkcs11;
  if (pinFromEnv) return pinFromEnv;
  if (pinFile) return readFileSync(pinFile, 'utf8').trim();
  throw new CaError('unauthorized', 'no PKCS#11 PIN: set EIMZA_PKCS11_PIN_FILE (or EIMZA_PKCS11_PIN)', { code: 'hsmPinMissing' });
}

/** A 256-bit key in a 0600 file, made on first use (the demo default; production provides the file). */
function readOrCreateKey(file: string, createIfMissing: boolean): Uint8Array {
  if (!existsSync(file) && !createIfMissing) {
    throw new CaError('malformed', `the enrolment key file ${file} does not exist`, { code: 'invalidConfig' });
  }
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length < 32) throw new CaError('malformed', `${file} must hold at least 32 random bytes (base64url)`, { code: 'invalidConfig' });
  return key;
}

/** The passphrase of the software key store; the demo default generates one into a 0600 file. */
function softwarePassphrase(config: Config): string {
  const { passphraseFromEnv, passphraseFile } = config.keyStore.software;
  if (passphraseFromEnv) return passphraseFromEnv;
  if (!existsSync(passphraseFile)) {
    mkdirSync(path.dirname(passphraseFile), { recursive: true, mode: 0o700 });
    writeFileSync(passphraseFile, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(passphraseFile, 'utf8').trim();
}
