import type { Clock } from '../clock.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { StatusAction } from '../domain/status.js';
import type { Executor, UnitOfWork } from '../store/transaction.js';
import type { PkiSettings } from '../policy/settings.js';
import type { KeyRegistry } from '../signing/registry.js';
import type { Db } from '../store/database.js';
import type { CaDirectory } from './directory.js';
import type { IssuanceWriters } from './record-and-sign.js';

/** Test seams for crash-consistency checks; never set in production. */
export interface FaultHooks {
  /** Called after the CA signed and before the certificate is stored. Throw to simulate a crash. */
  afterSign?: (serial: string, der: Uint8Array) => void | Promise<void>;
}

/**
 * Who publishes status (OCSP, CRL): the CA core calls it for every status change it makes, and
 * the composition root wires in the responder and the CRL publisher (ca/ never imports them).
 */
export interface StatusPublisher {
  /** Inside the change's transaction: re-sign what relying parties read, committed with the change. */
  statusChanged(uow: UnitOfWork, record: CertificateRecord): Promise<void>;
}

/** What a holder notice is about: enough to say which certificate and what happened to it. */
export type NoticeSubject = Pick<CertificateRecord, 'serial' | 'caName' | 'profile' | 'notAfter' | 'holderSnapshot' | 'revocationReason'>;
export type CertificateEvent = 'issued' | 'suspended' | 'restored' | 'revoked';

/** Holder e-mail (src/notify), queued inside the change's transaction; wired by the composition root. */
export interface CertificateNotices {
  certificateEvent(tx: Executor, subject: NoticeSubject, event: CertificateEvent): Promise<void>;
}

/**
 * Operational counters (Prometheus, GET /metrics): the CA core reports what it committed, the
 * composition root wires in the implementation (src/metrics.ts; ca/ never imports prom-client).
 */
export interface CaMetrics {
  /** After the certificate was stored as active. */
  certificateIssued(caName: string, profile: string): void;
  /** After a status change committed. */
  statusChanged(action: StatusAction): void;
}

/** Everything the CA use cases need, built once by the composition root. */
export interface CaDeps {
  db: Db;
  clock: Clock;
  keys: KeyRegistry;
  cas: CaDirectory;
  issuance: IssuanceWriters;
  settings: PkiSettings;
  /** Reservations older than this are resolved by the reconciler (a crash between sign and store). */
  reservationGraceMs: number;
  publisher: StatusPublisher;
  notices?: CertificateNotices;
  metrics?: CaMetrics;
  faults?: FaultHooks;
}
