import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Clock } from '../clock.js';
import type { NotifyConfig } from '../config/config.js';
import { CaError } from '../errors.js';
import type { Db } from '../store/database.js';
import {
  claimDueNotifications,
  markNotificationFailed,
  markNotificationSent,
  scheduleNotificationRetry,
  type NotificationRecord,
} from '../store/notifications.js';
import { parseEmailAddress } from './outbox.js';

/** The one thing the sender needs of nodemailer (a Transporter satisfies it); tests may pass their own. */
export interface MailTransport {
  sendMail(mail: OutgoingMail): Promise<{ accepted?: unknown[]; rejected?: unknown[] }>;
  close?(): void;
}

export interface OutgoingMail {
  from: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
}

/** The shape of the server's log function. */
export type NotifyLog = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubled after each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A message older than this when an attempt fails is given up (`failed`, kept). */
  maxAgeMs: number;
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  firstDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  maxAgeMs: 3 * 86_400_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

export interface DeliveryCounts {
  sent: number;
  retried: number;
  failed: number;
}

export interface NotificationSenderOptions {
  db: Db;
  clock: Clock;
  config: NotifyConfig;
  log: NotifyLog;
  /** Default: a nodemailer SMTP transport built from config.smtp on first use. */
  transport?: MailTransport;
  retry?: Partial<RetryPolicy>;
  /** Messages claimed per deliverDue call (default 20). */
  batchSize?: number;
  pollIntervalMs?: number;
  /** How long after kick() the delivery runs; kicks meanwhile share it. */
  kickDelayMs?: number;
  /** How long a claimed message stays hidden from other senders; longer than one batch can take. */
  leaseMs?: number;
}

/** Delay before the next attempt, after `attempts` failed ones (1, 2, …): 30 s doubling, capped. */
export function retryDelayMs(attempts: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

// SMTP timeouts: a relay that hangs must cost one batch seconds, not the default ten minutes.
const CONNECTION_TIMEOUT_MS = 20_000;
const SOCKET_TIMEOUT_MS = 60_000;
/** nodemailer's codes for a message the server refused; everything else means the relay could not be used at all. */
const MESSAGE_ERROR_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'ESTREAM', 'ENOTACCEPTED']);

/**
 * Sends the outbox after commit, on every node: claims due messages (see claimDueNotifications),
 * hands each to the SMTP relay, and marks it sent once the relay accepted it, or schedules a
 * retry with exponential backoff, until the retry policy gives up and marks it `failed`. Nothing
 * is ever deleted. Delivery is at least once: a node that dies between the relay's "250" and the
 * update sends that message again when its lease runs out (Message-ID stays the same, so mail
 * clients show one).
 */
export class NotificationSender {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly config: NotifyConfig;
  private readonly log: NotifyLog;
  private readonly retry: RetryPolicy;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly kickDelayMs: number;
  private readonly leaseMs: number;
  private transport: MailTransport | null;
  private readonly ownsTransport: boolean;
  private smtpPassword: string | undefined;
  private toldUnconfigured = false;
  private lastLoggedError: string | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private background: Promise<void> | null = null;
  private again = false;
  private kickTimer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: NotificationSenderOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.config = options.config;
    this.log = options.log;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.batchSize = options.batchSize ?? 20;
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.kickDelayMs = options.kickDelayMs ?? 250;
    this.leaseMs = options.leaseMs ?? 15 * 60_000;
    this.transport = options.transport ?? null;
    this.ownsTransport = !options.transport;
  }

  /** Sends what is due now (up to `limit`). Safe to call concurrently, here and on other nodes. */
  deliverDue(limit = this.batchSize): Promise<DeliveryCounts> {
    if (this.closed) return Promise.reject(new CaError('internal', 'the notification sender is closed'));
    const run = this.deliver(limit);
    const tracked = run.then(
      () => {},
      () => {},
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return run;
  }

  /** After a commit that queued mail: delivers soon; kicks close together share one run. */
  kick(): void {
    if (this.closed || this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      this.runInBackground();
    }, this.kickDelayMs);
    this.kickTimer.unref();
  }

  /** Polls for due messages (retries, other nodes' mail, expiry reminders) every few seconds. */
  start(): void {
    if (this.closed || this.poll) return;
    this.poll = setInterval(() => this.runInBackground(), this.pollIntervalMs);
    this.poll.unref();
    this.runInBackground();
  }

  /** Stops polling and waits for the deliveries in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.poll = this.kickTimer = null;
    while (this.background || this.inFlight.size > 0) {
      await Promise.all([this.background, ...this.inFlight]);
    }
    if (this.ownsTransport) this.transport?.close?.();
    this.transport = null;
  }

  /** One background run at a time; a request meanwhile makes it go round once more. */
  private runInBackground(): void {
    if (this.closed) return;
    if (this.background) {
      this.again = true;
      return;
    }
    this.background = (async () => {
      do {
        this.again = false;
        // Page on while whole pages go out; a failure waits for its backoff (or the next poll).
        for (let page = 0; page < 100 && !this.closed; page++) {
          const c = await this.deliverDue(this.batchSize);
          if (c.sent < this.batchSize) break;
        }
      } while (this.again && !this.closed);
      this.lastLoggedError = null;
    })()
      .catch((e: unknown) => this.logOnce(e))
      .finally(() => (this.background = null));
  }

  private async deliver(limit: number): Promise<DeliveryCounts> {
    const counts: DeliveryCounts = { sent: 0, retried: 0, failed: 0 };
    const transport = this.getTransport();
    if (!transport) return counts;
    const now = this.clock.now();
    const claimed = await claimDueNotifications(this.db, now, new Date(now.getTime() + this.leaseMs), limit);
    // After a failure of the relay itself (refused, timed out, TLS, login) the rest of the batch
    // is not tried: it shares the attempt, the error and the backoff, and the batch costs one timeout.
    let outage: string | null = null;
    for (const n of claimed) {
      let error: string | null = outage;
      if (error === null) {
        try {
          await this.send(transport, n);
        } catch (e) {
          error = describeSmtpError(e, this.smtpPassword);
          if (!MESSAGE_ERROR_CODES.has(errorCode(e) ?? '')) outage = error;
        }
      }
      if (error === null) {
        await markNotificationSent(this.db, n.id, this.clock.now());
        counts.sent += 1;
      } else {
        await this.recordFailure(n, error, counts);
      }
    }
    if (counts.sent + counts.retried + counts.failed > 0) this.log('info', 'notifications delivered', { ...counts });
    return counts;
  }

  private async send(transport: MailTransport, n: NotificationRecord): Promise<void> {
    const address = parseEmailAddress(n.recipient);
    if (!address) throw Object.assign(new Error('invalid recipient address'), { code: 'EENVELOPE' });
    await sendOneMail(transport, {
      from: this.config.from,
      to: { name: '', address },
      subject: n.subject,
      text: n.body,
      messageId: `<${n.id}@${senderDomain(this.config.from)}>`,
      date: this.clock.now(),
      // RFC 3834 §5: an automatic message; vacation responders stay quiet.
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    });
  }

  private async recordFailure(n: NotificationRecord, error: string, counts: DeliveryCounts): Promise<void> {
    const attempts = n.attempts + 1;
    const now = this.clock.now().getTime();
    const next = now + retryDelayMs(attempts, this.retry);
    if (attempts >= this.retry.maxAttempts || next > n.createdAt.getTime() + this.retry.maxAgeMs) {
      await markNotificationFailed(this.db, n.id, error);
      counts.failed += 1;
      this.log('error', 'notification given up', { id: n.id, template: n.template, attempts, error });
    } else {
      await scheduleNotificationRetry(this.db, n.id, new Date(next), error);
      counts.retried += 1;
    }
  }

  /** Built on first use (no I/O in the constructor); null = no relay configured, mail stays queued. */
  private getTransport(): MailTransport | null {
    if (this.transport) return this.transport;
    const smtp = this.config.smtp;
    if (!smtp) {
      if (!this.toldUnconfigured) this.log('info', 'no SMTP relay configured (notify.smtp / EIMZA_SMTP_HOST): holder e-mail stays queued');
      this.toldUnconfigured = true;
      return null;
    }
    const built = createSmtpTransport(smtp);
    this.smtpPassword = built.password;
    this.transport = built.transport;
    return this.transport;
  }

  /** The same failure every poll is logged once, until a run gets through. */
  private logOnce(e: unknown): void {
    const message = e instanceof CaError ? e.detail : describeSmtpError(e, this.smtpPassword);
    if (message === this.lastLoggedError) return;
    this.lastLoggedError = message;
    this.log('error', 'notification delivery failed', { error: message });
  }
}

/**
 * A nodemailer SMTP transport for `notify.smtp` (the password read from its file or environment
 * now). The timeouts bound what a hanging relay costs; a caller waiting on one message (the
 * mobile-ID activation code) passes shorter ones.
 */
export function createSmtpTransport(
  smtp: NonNullable<NotifyConfig['smtp']>,
  timeouts: { connectionMs: number; socketMs: number } = { connectionMs: CONNECTION_TIMEOUT_MS, socketMs: SOCKET_TIMEOUT_MS },
): { transport: MailTransport; password: string | undefined } {
  let auth: { user: string; pass: string } | undefined;
  if (smtp.user) auth = { user: smtp.user, pass: readSmtpPassword(smtp) };
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // Credentials never cross the wire in clear: STARTTLS is required when logging in on a plain port.
    requireTLS: Boolean(auth) && !smtp.secure,
    ...(auth ? { auth } : {}),
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.connectionMs,
    socketTimeout: timeouts.socketMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return { transport, password: auth?.pass };
}

/** Hands one message to the relay; throws (with nodemailer's codes) unless the relay accepted its recipient. */
export async function sendOneMail(transport: MailTransport, mail: OutgoingMail): Promise<void> {
  const info = await transport.sendMail(mail);
  const address = mail.to.address;
  const accepted = (info.accepted ?? []).map((a) => String(typeof a === 'object' && a && 'address' in a ? a.address : a).toLowerCase());
  if (!accepted.includes(address.toLowerCase()) || (info.rejected ?? []).length > 0) {
    throw Object.assign(new Error('the relay did not accept the recipient'), { code: 'ENOTACCEPTED' });
  }
}

/** The domain of the From address, for Message-IDs (RFC 5322 §3.6.4). */
export function senderDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m?.[1] ?? 'e-imza.invalid';
}

function readSmtpPassword(smtp: NonNullable<NotifyConfig['smtp']>): string {
  if (smtp.passwordFromEnv) return smtp.passwordFromEnv;
  if (!smtp.passwordFile) {
    throw new CaError('malformed', 'notify.smtp.user is set but there is no password: set EIMZA_SMTP_PASSWORD_FILE (or EIMZA_SMTP_PASSWORD)', {
      code: 'invalidConfig',
    });
  }
  try {
    return readFileSync(smtp.passwordFile, 'utf8').trim();
  } catch (cause) {
    throw new CaError('internal', `cannot read the SMTP password file ${smtp.passwordFile}`, { code: 'invalidConfig', cause });
  }
}

function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One short line for last_error and the log: code, SMTP reply code, message; never the password. */
export function describeSmtpError(e: unknown, secret?: string): string {
  const code = errorCode(e);
  const reply = (e as { responseCode?: unknown } | null)?.responseCode;
  let text = e instanceof Error ? e.message : String(e);
  if (secret) text = text.split(secret).join('***');
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const prefix = [code, typeof reply === 'number' ? String(reply) : undefined].filter(Boolean).join(' ');
  const line = prefix ? `${prefix}: ${text}` : text;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
