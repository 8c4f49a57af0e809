import type { RevocationReason } from '../domain/certificate.js';
import type { ProfileId } from '../policy/profile-ids.js';

/**
 * The holder's e-mail, rendered when it is queued: plain text, Azerbaijani first and English
 * second, short. Only what the holder may see anyway goes in (serial, certificate type, dates,
 * office): never a PIN, PUK, token, key or link that grants anything.
 */
export type TemplateName =
  | 'certificate.issued'
  | 'certificate.suspended'
  | 'certificate.restored'
  | 'certificate.revoked'
  | 'certificate.expiring'
  | 'application.ready'
  | 'application.rejected';

interface CertificateFacts {
  serial: string;
  profile: string;
  notAfter: Date;
  /** "Given Surname" from the holder record, when known. */
  holderName?: string | undefined;
}

export type NoticeInput =
  | ({ template: 'certificate.issued' | 'certificate.suspended' | 'certificate.restored' | 'certificate.expiring' } & CertificateFacts)
  | ({ template: 'certificate.revoked'; reason: RevocationReason | null } & CertificateFacts)
  | { template: 'application.ready'; applicationId: string; officeName: string; holderName?: string | undefined }
  | { template: 'application.rejected'; applicationId: string; officeName: string; reason?: string | undefined; holderName?: string | undefined };

export interface RenderedNotice {
  subject: string;
  body: string;
}

interface Bilingual {
  az: string;
  en: string;
}

/** What a holder calls the certificate (profiles.md, "Types"). */
const PROFILE_NAMES: Readonly<Record<ProfileId, Bilingual>> = {
  signature: { az: 'elektron imza', en: 'electronic signature' },
  authentication: { az: 'autentifikasiya', en: 'authentication' },
  encryption: { az: 'şifrələmə', en: 'encryption' },
  'mobile-auth': { az: 'Mobil ID autentifikasiya', en: 'mobile-ID authentication' },
  'mobile-sign': { az: 'Mobil ID imza', en: 'mobile-ID signature' },
  'server-signing': { az: 'təhlükəsizlik serveri imza', en: 'security-server signing' },
  'server-tls': { az: 'təhlükəsizlik serveri TLS', en: 'security-server TLS' },
  'ocsp-signer': { az: 'OCSP imzalayıcı', en: 'OCSP signer' },
  'cmp-signer': { az: 'CMP imzalayıcı', en: 'CMP signer' },
  'issuing-ca': { az: 'sertifikat mərkəzi', en: 'issuing CA' },
  'root-ca': { az: 'kök sertifikat mərkəzi', en: 'root CA' },
};

/** RFC 5280 §5.3.1 reasons, in words. */
const REASON_NAMES: Readonly<Record<RevocationReason, Bilingual>> = {
  unspecified: { az: 'göstərilməyib', en: 'not specified' },
  keyCompromise: { az: 'açarın təhlükəsizliyi pozulub', en: 'key compromise' },
  cACompromise: { az: 'sertifikat mərkəzinin açarı təhlükədədir', en: 'CA compromise' },
  affiliationChanged: { az: 'şəxsi və ya təşkilat məlumatları dəyişib', en: 'affiliation changed' },
  superseded: { az: 'yeni sertifikatla əvəz olunub', en: 'superseded by a new certificate' },
  cessationOfOperation: { az: 'istifadəyə xitam verilib', en: 'cessation of operation' },
  certificateHold: { az: 'dayandırılıb', en: 'certificate hold' },
  removeFromCRL: { az: 'siyahıdan çıxarılıb', en: 'removed from CRL' },
  privilegeWithdrawn: { az: 'səlahiyyət geri alınıb', en: 'privilege withdrawn' },
  aACompromise: { az: 'atribut mərkəzinin açarı təhlükədədir', en: 'AA compromise' },
};

const NOT_ME: Bilingual = {
  az: 'Əgər bunu siz istəməmisinizsə, dərhal qeydiyyat məntəqəsinə və ya qaynar xəttə müraciət edin.',
  en: 'If you did not ask for this, contact a registration office or the hotline at once.',
};
const FOOTER = 'Bu məktub avtomatik göndərilib, ona cavab verməyin. / This message was sent automatically; please do not reply.';

export function profileName(profile: string): Bilingual {
  return (PROFILE_NAMES as Readonly<Record<string, Bilingual>>)[profile] ?? { az: profile, en: profile };
}

export function statusUrl(publicBaseUrl: string, serial: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/status/${encodeURIComponent(serial)}`;
}

/** Azerbaijan keeps UTC+4 all year (no daylight saving since 2016), so no time-zone database is needed. */
export function formatBakuTime(d: Date): string {
  const t = new Date(d.getTime() + 4 * 3600_000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(t.getUTCDate())}.${p(t.getUTCMonth() + 1)}.${t.getUTCFullYear()} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}`;
}

export function renderNotice(input: NoticeInput, publicBaseUrl: string): RenderedNotice {
  const name = cleanText(input.holderName ?? '', 120);
  const greeting: Bilingual = name ? { az: `Hörmətli ${name},`, en: `Dear ${name},` } : { az: 'Hörmətli sertifikat sahibi,', en: 'Dear certificate holder,' };
  const { title, lines } = content(input, publicBaseUrl);
  const section = (lang: keyof Bilingual): string => [greeting[lang], '', ...lines.map((l) => l[lang])].join('\n');
  return {
    subject: `e-imza: ${title.az} / ${title.en}`,
    body: `${section('az')}\n\n----\n\n${section('en')}\n\n--\n${FOOTER}\n`,
  };
}

function content(input: NoticeInput, base: string): { title: Bilingual; lines: Bilingual[] } {
  if (input.template === 'application.ready' || input.template === 'application.rejected') return applicationContent(input);
  const kind = profileName(input.profile);
  const serial: Bilingual = { az: `Seriya nömrəsi: ${input.serial}`, en: `Serial number: ${input.serial}` };
  const url = statusUrl(base, input.serial);
  const check: Bilingual = { az: `Statusu yoxlamaq üçün: ${url}`, en: `Check its status: ${url}` };
  const until = formatBakuTime(input.notAfter);
  const validUntil: Bilingual = { az: `Etibarlılıq müddəti: ${until} (Bakı vaxtı) tarixinədək`, en: `Valid until: ${until} (Baku time)` };
  switch (input.template) {
    case 'certificate.issued':
      return {
        title: { az: 'sertifikatınız verildi', en: 'your certificate has been issued' },
        lines: [{ az: `Sizin ${kind.az} sertifikatınız verildi.`, en: `Your ${kind.en} certificate has been issued.` }, serial, validUntil, check],
      };
    case 'certificate.suspended':
      return {
        title: { az: 'sertifikatınız dayandırıldı', en: 'your certificate has been suspended' },
        lines: [
          { az: `Sizin ${kind.az} sertifikatınızın qüvvəsi dayandırıldı; onunla imza və giriş mümkün deyil.`, en: `Your ${kind.en} certificate has been suspended; it cannot be used until it is restored.` },
          serial,
          { az: 'Bərpa etmək üçün şəxsiyyət vəsiqənizlə qeydiyyat məntəqəsinə gəlin.', en: 'To restore it, visit a registration office with your identity document.' },
          NOT_ME,
          check,
        ],
      };
    case 'certificate.restored':
      return {
        title: { az: 'sertifikatınız bərpa edildi', en: 'your certificate has been restored' },
        lines: [{ az: `Sizin ${kind.az} sertifikatınız yenidən qüvvədədir.`, en: `Your ${kind.en} certificate is valid again.` }, serial, validUntil, NOT_ME, check],
      };
    case 'certificate.revoked': {
      const reason = REASON_NAMES[input.reason ?? 'unspecified'];
      return {
        title: { az: 'sertifikatınız ləğv edildi', en: 'your certificate has been revoked' },
        lines: [
          { az: `Sizin ${kind.az} sertifikatınız birdəfəlik ləğv edildi.`, en: `Your ${kind.en} certificate has been revoked for good.` },
          serial,
          { az: `Səbəb: ${reason.az}`, en: `Reason: ${reason.en}` },
          { az: 'Yeni sertifikat üçün qeydiyyat məntəqəsinə müraciət edin.', en: 'For a new certificate, apply at a registration office.' },
          NOT_ME,
          check,
        ],
      };
    }
    case 'certificate.expiring':
      return {
        title: { az: `sertifikatınızın müddəti ${until.slice(0, 10)} bitir`, en: `your certificate expires on ${until.slice(0, 10)}` },
        lines: [
          { az: `Sizin ${kind.az} sertifikatınızın müddəti ${until} (Bakı vaxtı) bitir.`, en: `Your ${kind.en} certificate expires on ${until} (Baku time).` },
          serial,
          { az: 'Yeniləmək üçün vaxtında qeydiyyat məntəqəsinə müraciət edin.', en: 'To renew it, apply at a registration office in good time.' },
          check,
        ],
      };
  }
}

function applicationContent(input: Extract<NoticeInput, { template: 'application.ready' | 'application.rejected' }>): { title: Bilingual; lines: Bilingual[] } {
  const office = cleanText(input.officeName, 200);
  const ref: Bilingual = { az: `Ərizə nömrəsi: ${input.applicationId}`, en: `Application number: ${input.applicationId}` };
  if (input.template === 'application.ready') {
    return {
      title: { az: 'sertifikatınız hazırdır', en: 'your certificate is ready for pickup' },
      lines: [
        { az: `Sizin sertifikatınız hazırdır; onu "${office}" məntəqəsindən götürə bilərsiniz.`, en: `Your certificate is ready for pickup at "${office}".` },
        ref,
        { az: 'Özünüzlə şəxsiyyət vəsiqənizi gətirin.', en: 'Please bring your identity document.' },
      ],
    };
  }
  const reason = cleanText(input.reason ?? '', 500);
  return {
    title: { az: 'ərizəniz rədd edildi', en: 'your application has been rejected' },
    lines: [
      { az: `"${office}" məntəqəsində verdiyiniz ərizə rədd edildi.`, en: `Your application at "${office}" has been rejected.` },
      ref,
      ...(reason ? [{ az: `Səbəb: ${reason}`, en: `Reason: ${reason}` }] : []),
      { az: 'Ətraflı məlumat üçün məntəqəyə müraciət edin.', en: 'Please contact the office for details.' },
    ],
  };
}

/** Text typed by a person (a name, an office, a reason): one line, no control characters, bounded. */
function cleanText(s: string, max: number): string {
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
