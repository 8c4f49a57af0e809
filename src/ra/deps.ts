import type { CaDeps } from '../ca/deps.js';
import type { Executor } from '../store/transaction.js';
import type { JobQueue } from '../store/job-queue.js';

/** What the holder is told about an application (src/notify implements it). */
export interface ApplicationNotices {
  applicationEvent(
    tx: Executor,
    e: { applicationId: string; recipient: string | null; givenName?: string; surname?: string; event: 'ready' | 'rejected'; officeName: string; reason?: string },
  ): Promise<void>;
}

/**
 * Sends a mobile-ID activation code to the holder by SMS and e-mail, right away (src/notify
 * implements it; the code is a secret and never stored). Says which channels accepted it.
 */
export interface ActivationCodeSender {
  send(m: { reference: string; msisdn: string; email: string | null; holderName: string; code: string; expiresAt: Date }): Promise<{ sms: boolean; email: boolean }>;
}

/** The registration authority acts through the CA core; it adds its own records and notices. */
export interface RaDeps {
  ca: CaDeps;
  notices?: ApplicationNotices;
  /** Mobile-ID activation codes; without it no code reaches a holder (enrolment answers 503). */
  activationCodes?: ActivationCodeSender;
  /** A claim or idempotent request left unfinished this long is taken over (its process died). */
  staleAfterMs: number;
  exchange: ExchangeLayerSettings;
  /** The job queue, once a server has started it (batches are queued there). */
  jobs?: JobQueue;
}

/** Security servers of the data-exchange layer (issue 5). */
export interface ExchangeLayerSettings {
  /** HMAC key that turns an enrolment reference into its secret; kept in a file, never in the database. */
  enrolmentKey: Uint8Array;
  enrolmentValidityHours: number;
  /** Two different CA operators must approve a server's certificate request. */
  fourEyes: boolean;
}
