import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { NotifyConfig } from '../config/config.js';
import { parseEmailAddress } from './outbox.js';
import { createSmtpTransport, describeSmtpError, sendOneMail, senderDomain, type MailTransport, type NotifyLog } from './sender.js';
import { createSmsGateway, type SmsGateway } from './sms.js';
import { formatBakuTime } from './templates.js';

/**
 * The mobile-ID activation code, to the holder by SMS and by e-mail. Unlike every other holder
 * message it is a secret, so it never enters the outbox (a database dump must not hold live
 * codes): it is rendered here and handed to the SMS gateway and the SMTP relay at once, after the
 * enrolment committed, and forgotten. The result says which channel accepted it; logs name the
 * enrolment, never the code or the number.
 */
export interface ActivationCodeMessage {
  /** The enrolment, for logs. */
  reference: string;
  msisdn: string;
  email: string | null;
  holderName: string;
  code: string;
  expiresAt: Date;
}

export interface ActivationCodeDelivery {
  sms: boolean;
  email: boolean;
}

export interface ActivationCodeSender {
  send(message: ActivationCodeMessage): Promise<ActivationCodeDelivery>;
  close(): void;
}

// The clerk is waiting at the desk: a relay that hangs costs seconds, not minutes.
const MAIL_TIMEOUTS = { connectionMs: 10_000, socketMs: 15_000 };

export function createActivationCodeSender(options: {
  config: NotifyConfig;
  clock: Clock;
  log: NotifyLog;
  /** Default: a nodemailer transport for config.smtp, built on first use. */
  transport?: MailTransport;
  /** Default: the gateway of config.sms. */
  sms?: SmsGateway;
}): ActivationCodeSender {
  const { config, clock, log } = options;
  let transport: MailTransport | null = options.transport ?? null;
  let password: string | undefined;
  const sms = options.sms ?? (config.sms ? createSmsGateway(config.sms) : null);

  const mailTransport = (): MailTransport | null => {
    if (transport) return transport;
    if (!config.smtp) return null;
    const built = createSmtpTransport(config.smtp, MAIL_TIMEOUTS);
    password = built.password;
    transport = built.transport;
    return transport;
  };

  const bySms = async (m: ActivationCodeMessage): Promise<boolean> => {
    if (!sms) return false;
    try {
      await sms.send(m.msisdn, smsText(m));
      return true;
    } catch (e) {
      log('error', 'activation code not sent by SMS', { mobileId: m.reference, error: e instanceof Error ? e.message : String(e) });
      return false;
    }
  };

  const byEmail = async (m: ActivationCodeMessage): Promise<boolean> => {
    const address = parseEmailAddress(m.email);
    if (!address) return false;
    try {
      const t = mailTransport();
      if (!t) return false;
      const { subject, body } = emailText(m);
      await sendOneMail(t, {
        from: config.from,
        to: { name: '', address },
        subject,
        text: body,
        messageId: `<${randomUUID()}@${senderDomain(config.from)}>`,
        date: clock.now(),
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      });
      return true;
    } catch (e) {
      log('error', 'activation code not sent by e-mail', { mobileId: m.reference, error: describeSmtpError(e, password) });
      return false;
    }
  };

  return {
    async send(m) {
      const [smsSent, emailSent] = await Promise.all([bySms(m), byEmail(m)]);
      return { sms: smsSent, email: emailSent };
    },
    close() {
      if (!options.transport) transport?.close?.();
      transport = null;
    },
  };
}

/** One SMS, Azerbaijani then English; the code first, so a phone's preview shows it. */
export function smsText(m: Pick<ActivationCodeMessage, 'code' | 'expiresAt'>): string {
  const until = formatBakuTime(m.expiresAt).slice(11);
  return `${m.code} - e-imza Mobil ID aktivləşdirmə kodu, ${until}-dək. Heç kimə deməyin. / Mobile-ID activation code, valid until ${until}. Never share it.`;
}

export function emailText(m: Pick<ActivationCodeMessage, 'code' | 'expiresAt' | 'msisdn' | 'holderName'>): { subject: string; body: string } {
  const until = formatBakuTime(m.expiresAt);
  const name = m.holderName.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim().slice(0, 120);
  const az = [
    name ? `Hörmətli ${name},` : 'Hörmətli sertifikat sahibi,',
    '',
    `${m.msisdn} nömrəli SIM kartınızda Mobil ID-ni aktivləşdirmək üçün kod: ${m.code}`,
    `Kod ${until} (Bakı vaxtı) tarixinədək etibarlıdır və bir dəfə istifadə olunur.`,
    'Kodu heç kimə, o cümlədən operatorlara deməyin.',
    'Əgər bunu siz istəməmisinizsə, dərhal qeydiyyat məntəqəsinə və ya qaynar xəttə müraciət edin.',
  ];
  const en = [
    name ? `Dear ${name},` : 'Dear certificate holder,',
    '',
    `The code to activate mobile-ID on your SIM ${m.msisdn}: ${m.code}`,
    `It is valid until ${until} (Baku time) and can be used once.`,
    'Never tell it to anyone, operators included.',
    'If you did not ask for this, contact a registration office or the hotline at once.',
  ];
  return {
    subject: 'e-imza: Mobil ID aktivləşdirmə kodu / mobile-ID activation code',
    body: `${az.join('\n')}\n\n----\n\n${en.join('\n')}\n\n--\nBu məktub avtomatik göndərilib, ona cavab verməyin. / This message was sent automatically; please do not reply.\n`,
  };
}
