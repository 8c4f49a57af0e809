import type { CaDeps } from '../ca/deps.js';
import type { Executor } from '../store/transaction.js';

/** What the holder is told about an application (src/notify implements it). */
export interface ApplicationNotices {
  applicationEvent(
    tx: Executor,
    e: { applicationId: string; recipient: string | null; givenName?: string; surname?: string; event: 'ready' | 'rejected'; officeName: string; reason?: string },
  ): Promise<void>;
}

/** The registration authority acts through the CA core; it adds its own records and notices. */
export interface RaDeps {
  ca: CaDeps;
  notices?: ApplicationNotices;
  /** A claim or idempotent request left unfinished this long is taken over (its process died). */
  staleAfterMs: number;
}
