import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CertificateRecord } from '../domain/certificate.js';
import type { Holder } from '../domain/holder.js';
import type { Db } from '../store/database.js';
import { insertNotifications, listExpiringCertificates, type NewNotification } from '../store/notifications.js';
import type { Executor } from '../store/transaction.js';
import { renderNotice, type NoticeInput, type TemplateName } from './templates.js';

/**
 * What a certificate notice needs of the record (a CertificateRecord is one). With `statusSeq`, a
 * suspension or restoration is queued once per status change; without it, each call queues one.
 */
export type CertificateNoticeSubject = Pick<CertificateRecord, 'serial' | 'profile' | 'notAfter' | 'holderSnapshot' | 'revocationReason'> &
  Partial<Pick<CertificateRecord, 'statusSeq'>>;

/**
 * The outbox side of holder e-mail: a message is rendered and queued in the transaction of the
 * change it tells about, so it exists exactly when the change does; NotificationSender sends it
 * after commit.
 */
export interface HolderNotices {
  /** Inside the change's transaction. No-op when the holder has no e-mail address. */
  certificateEvent(tx: Executor, record: CertificateNoticeSubject, event: 'issued' | 'suspended' | 'restored' | 'revoked'): Promise<void>;
  applicationEvent(
    tx: Executor,
    e: { applicationId: string; recipient: string | null; givenName?: string; surname?: string; event: 'ready' | 'rejected'; officeName: string; reason?: string },
  ): Promise<void>;
}

export function createHolderNotices(clock: Clock, publicBaseUrl: string): HolderNotices {
  const nextId = orderedIds(clock);
  return {
    async certificateEvent(tx, record, event) {
      const holder = holderOf(record.holderSnapshot);
      const recipient = parseEmailAddress(holder.email);
      if (!recipient) return;
      const facts = { serial: record.serial, profile: record.profile, notAfter: record.notAfter, holderName: holderName(holder) };
      const input: NoticeInput =
        event === 'revoked' ? { template: 'certificate.revoked', reason: record.revocationReason, ...facts } : { template: `certificate.${event}`, ...facts };
      // Issued and revoked happen once per certificate; suspend and restore once per status change.
      const dedupeKey =
        event === 'issued' || event === 'revoked'
          ? `${event}:${record.serial}`
          : record.statusSeq !== undefined && record.statusSeq > 0n
            ? `${event}:${record.serial}:${record.statusSeq}`
            : null;
      await insertNotifications(tx, [message(clock, publicBaseUrl, input, recipient, { id: nextId(), serial: record.serial, dedupeKey })]);
    },

    async applicationEvent(tx, e) {
      const recipient = parseEmailAddress(e.recipient);
      if (!recipient) return;
      const holderName = [e.givenName, e.surname].filter(Boolean).join(' ');
      const input: NoticeInput =
        e.event === 'ready'
          ? { template: 'application.ready', applicationId: e.applicationId, officeName: e.officeName, holderName }
          : { template: 'application.rejected', applicationId: e.applicationId, officeName: e.officeName, reason: e.reason, holderName };
      const dedupeKey = `application.${e.event}:${e.applicationId}`;
      await insertNotifications(tx, [message(clock, publicBaseUrl, input, recipient, { id: nextId(), applicationId: e.applicationId, dedupeKey })]);
    },
  };
}

export const EXPIRY_DEDUPE_PREFIX = 'expiry:';

/**
 * Queues one reminder per active certificate that expires within `days`: the dedupe key
 * `expiry:<serial>` makes a second scan (or a second node's) queue nothing. Returns how many
 * were queued.
 */
export async function queueExpiryWarnings(db: Db, clock: Clock, publicBaseUrl: string, days: number): Promise<number> {
  const now = clock.now();
  const until = new Date(now.getTime() + days * 86_400_000);
  const nextId = orderedIds(clock);
  let queued = 0;
  let afterSerial: string | undefined;
  for (;;) {
    const page = await listExpiringCertificates(db, { now, until, withoutDedupePrefix: EXPIRY_DEDUPE_PREFIX, limit: 500, ...(afterSerial ? { afterSerial } : {}) });
    if (page.length === 0) return queued;
    afterSerial = page[page.length - 1]!.serial;
    const messages: NewNotification[] = [];
    for (const c of page) {
      const holder = holderOf(c.holderSnapshot);
      const recipient = parseEmailAddress(holder.email);
      if (!recipient) continue;
      const input: NoticeInput = { template: 'certificate.expiring', serial: c.serial, profile: c.profile, notAfter: c.notAfter, holderName: holderName(holder) };
      messages.push(message(clock, publicBaseUrl, input, recipient, { id: nextId(), serial: c.serial, dedupeKey: `${EXPIRY_DEDUPE_PREFIX}${c.serial}` }));
    }
    queued += await insertNotifications(db, messages);
  }
}

function message(
  clock: Clock,
  publicBaseUrl: string,
  input: NoticeInput,
  recipient: string,
  ref: { id: string; serial?: string; applicationId?: string; dedupeKey: string | null },
): NewNotification {
  const now = clock.now();
  const { subject, body } = renderNotice(input, publicBaseUrl);
  return {
    id: ref.id,
    createdAt: now,
    recipient,
    template: input.template satisfies TemplateName,
    subject,
    body,
    serial: ref.serial ?? null,
    applicationId: ref.applicationId ?? null,
    dedupeKey: ref.dedupeKey,
    nextAttemptAt: now,
  };
}

/**
 * UUIDv7 (RFC 9562 §5.7) with a 12-bit counter in rand_a (§6.2, method 1): ids sort in the order
 * the messages were queued, even within one millisecond, so a holder told "suspended" and then
 * "revoked" reads them in that order (the sender sends by created_at, id).
 */
function orderedIds(clock: Clock): () => string {
  let lastMs = 0;
  let counter = 0;
  return () => {
    const ms = clock.now().getTime();
    if (ms > lastMs) {
      lastMs = ms;
      counter = 0;
    } else if (++counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    const b = randomBytes(16);
    b.writeUIntBE(lastMs, 0, 6);
    b[6] = 0x70 | (counter >> 8);
    b[7] = counter & 0xff;
    b[8] = 0x80 | (b[8]! & 0x3f);
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
}

function holderOf(snapshot: unknown): Holder {
  return snapshot && typeof snapshot === 'object' && !Array.isArray(snapshot) ? (snapshot as Holder) : {};
}

function holderName(h: Holder): string {
  return [h.givenName, h.surname].filter((s): s is string => typeof s === 'string' && s.trim() !== '').join(' ');
}

// RFC 5322 §3.2.3 dot-atom local part (ASCII: no SMTPUTF8 assumed), and a domain of at least two
// labels (RFC 1035 §2.3.1 letter-digit-hyphen, letters beyond ASCII allowed for IDNs).
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/**
 * A single bare address (`local@domain`) or null. Refuses anything that could add a header or a
 * recipient: CR, LF and other control characters, spaces, quotes, angle brackets, commas, more or
 * fewer than one @, and over-long parts (RFC 5321 §4.5.3.1).
 */
export function parseEmailAddress(input: unknown): string | null {
  if (typeof input !== 'string' || /[\r\n]/.test(input)) return null;
  const s = input.trim();
  if (s.length === 0 || s.length > 254) return null;
  const at = s.indexOf('@');
  if (at <= 0 || at !== s.lastIndexOf('@')) return null;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || domain.length > 253 || !labels.every((l) => DOMAIN_LABEL.test(l))) return null;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return null; // an IP address is not a mail domain here
  return `${local}@${domain.toLowerCase()}`;
}
