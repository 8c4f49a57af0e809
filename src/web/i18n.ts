import type { RevocationReason } from '../domain/certificate.js';
import { formatBakuTime, profileName } from '../notify/templates.js';

/**
 * Every text of the status page, in Azerbaijani (the default) and English. Values are plain
 * text: views.ts escapes them when it prints them.
 */
export type Lang = 'az' | 'en';
export const LANGS: readonly Lang[] = ['az', 'en'];

export interface Texts {
  /** The other language's name, written in that language (the switch link). */
  otherLanguage: string;
  siteName: string;
  skipLink: string;
  navCheck: string;
  navLists: string;
  bakuTime: string;
  footer: string;
  home: {
    title: string;
    intro: string;
    bySerial: string;
    serialLabel: string;
    serialHint: string;
    check: string;
    byCertificate: string;
    pemLabel: string;
    fileLabel: string;
    fileHint: string;
    privacy: string;
  };
  result: {
    valid: string;
    suspended: string;
    revoked: string;
    expired: string;
    notIssued: string;
    validDetail: (until: string) => string;
    suspendedDetail: (since: string) => string;
    revokedDetail: (at: string, reason: string) => string;
    invalidity: (at: string) => string;
    expiredDetail: (on: string) => string;
    unknownSerialDetail: string;
    foreignDetail: string;
    details: string;
    serial: string;
    type: string;
    commonName: string;
    organization: string;
    organizationalUnit: string;
    organizationIdentifier: string;
    registrationNumber: string;
    issuer: string;
    notBefore: string;
    notAfter: string;
    ocspAnswer: string;
    checkedAt: string;
    permalink: string;
    checkAnother: string;
    serialInCertificate: string;
    issuerInCertificate: string;
    caCertificate: string;
  };
  lists: {
    title: string;
    intro: string;
    caCertificate: string;
    fullCrl: string;
    deltaCrl: string;
    ocsp: string;
    noOcsp: string;
    viewList: string;
    caTitle: (ca: string) => string;
    caption: (ca: string) => string;
    serial: string;
    status: string;
    date: string;
    reason: string;
    suspended: string;
    revoked: string;
    empty: string;
    next: string;
    first: string;
    downloads: string;
  };
  errors: {
    badSerialTitle: string;
    badSerial: string;
    badCertificateTitle: string;
    badCertificate: string;
    emptyTitle: string;
    empty: string;
    tooLargeTitle: string;
    tooLarge: string;
    badRequestTitle: string;
    badRequest: string;
    notFoundTitle: string;
    notFound: string;
    rateLimitedTitle: string;
    rateLimited: (seconds: number) => string;
    internalTitle: string;
    internal: string;
    back: string;
  };
  reason: (reason: RevocationReason | null) => string;
}

/** RFC 5280 §5.3.1 reasons, in words a holder understands. */
const REASONS: Record<Lang, Record<RevocationReason, string>> = {
  az: {
    unspecified: 'səbəb göstərilməyib',
    keyCompromise: 'açarın təhlükəsizliyi pozulub',
    cACompromise: 'sertifikat mərkəzinin açarının təhlükəsizliyi pozulub',
    affiliationChanged: 'sahibin təşkilatla əlaqəsi və ya məlumatları dəyişib',
    superseded: 'yeni sertifikatla əvəz olunub',
    cessationOfOperation: 'istifadəyə xitam verilib',
    certificateHold: 'müvəqqəti dayandırılıb',
    removeFromCRL: 'siyahıdan çıxarılıb',
    privilegeWithdrawn: 'səlahiyyət geri alınıb',
    aACompromise: 'atribut mərkəzinin açarının təhlükəsizliyi pozulub',
  },
  en: {
    unspecified: 'no reason given',
    keyCompromise: 'key compromise',
    cACompromise: 'CA key compromise',
    affiliationChanged: 'affiliation changed',
    superseded: 'superseded by a new certificate',
    cessationOfOperation: 'cessation of operation',
    certificateHold: 'certificate on hold',
    removeFromCRL: 'removed from the CRL',
    privilegeWithdrawn: 'privilege withdrawn',
    aACompromise: 'attribute authority compromise',
  },
};

const AZ: Texts = {
  otherLanguage: 'English',
  siteName: 'e-imza',
  skipLink: 'Əsas məzmuna keç',
  navCheck: 'Sertifikatı yoxla',
  navLists: 'Dayandırılmış və ləğv edilmiş sertifikatlar',
  bakuTime: 'Bakı vaxtı',
  footer: 'e-imza sertifikat xidmətləri. Avtomatik yoxlama üçün OCSP və CRL-dən istifadə edin.',
  home: {
    title: 'Sertifikatın statusunu yoxlayın',
    intro: 'Sertifikatın seriya nömrəsini yazın və ya sertifikatın özünü göndərin. Cavab OCSP xidmətimizin verdiyi cavabla eynidir.',
    bySerial: 'Seriya nömrəsi ilə',
    serialLabel: 'Seriya nömrəsi',
    serialHint: 'Onaltılıq rəqəmlər (0–9, A–F), məsələn 5A:1F:09. Böyük və ya kiçik hərflə, iki nöqtə və ya boşluqla yaza bilərsiniz.',
    check: 'Yoxla',
    byCertificate: 'Sertifikatın özü ilə',
    pemLabel: 'Sertifikatı PEM formatında buraya yapışdırın',
    fileLabel: 'və ya sertifikat faylını seçin',
    fileHint: '.pem, .crt, .cer və ya .der faylı, 64 kB-a qədər.',
    privacy: 'FİN və ya ad üzrə axtarış yoxdur. Səhifə yalnız sertifikatın özündə yazılanları göstərir.',
  },
  result: {
    valid: 'Sertifikat etibarlıdır',
    suspended: 'Sertifikat dayandırılıb',
    revoked: 'Sertifikat ləğv edilib',
    expired: 'Sertifikatın müddəti bitib',
    notIssued: 'Bu sertifikatı e-imza verməyib',
    validDetail: (until) => `Sertifikat nə dayandırılıb, nə də ləğv edilib. Etibarlılıq müddəti: ${until} tarixinədək.`,
    suspendedDetail: (since) => `${since} tarixindən dayandırılıb. Sahibi onu bərpa etdirə bilər; o vaxta qədər ona etibar etməyin.`,
    revokedDetail: (at, reason) => `${at} tarixində ləğv edilib. Səbəb: ${reason}. Ləğvetmə qətidir.`,
    invalidity: (at) => `Açarın ${at} tarixindən etibarsız olduğu bildirilib.`,
    expiredDetail: (on) => `Etibarlılıq müddəti ${on} tarixində bitib.`,
    unknownSerialDetail: 'e-imza bu seriya nömrəsi ilə sertifikat verməyib. Nömrəni yoxlayın və ya sertifikatın özünü göndərin.',
    foreignDetail:
      'Göndərdiyiniz sertifikatı e-imza sertifikat mərkəzlərindən heç biri verməyib və ya o, bizim qeydə aldığımız sertifikatla bayt-bayt eyni deyil. Ona e-imza sertifikatı kimi etibar etməyin.',
    details: 'Sertifikatda yazılanlar',
    serial: 'Seriya nömrəsi',
    type: 'Növü',
    commonName: 'Ad (CN)',
    organization: 'Təşkilat',
    organizationalUnit: 'Bölmə',
    organizationIdentifier: 'Təşkilatın identifikatoru',
    registrationNumber: 'Qeydiyyat nömrəsi',
    issuer: 'Verən sertifikat mərkəzi',
    notBefore: 'Etibarlıdır (başlanğıc)',
    notAfter: 'Etibarlıdır (son)',
    ocspAnswer: 'OCSP cavabı',
    checkedAt: 'Yoxlanılıb',
    permalink: 'Bu nəticənin daimi ünvanı',
    checkAnother: 'Başqa sertifikatı yoxla',
    serialInCertificate: 'Sertifikatda yazılan seriya nömrəsi',
    issuerInCertificate: 'Sertifikatda yazılan verən',
    caCertificate: 'CA sertifikatını yüklə',
  },
  lists: {
    title: 'Dayandırılmış və ləğv edilmiş sertifikatlar',
    intro:
      'Hər sertifikat mərkəzinin siyahısı onun CRL-i ilə eynidir: müddəti bitməmiş, dayandırılmış və ya ləğv edilmiş sertifikatlar, seriya nömrəsinə görə sıralanıb. Sahiblərin adları siyahıda göstərilmir.',
    caCertificate: 'CA sertifikatı',
    fullCrl: 'Tam CRL',
    deltaCrl: 'Delta CRL',
    ocsp: 'OCSP ünvanı',
    noOcsp: 'Bu mərkəzin sertifikatlarının statusu yalnız CRL ilə dərc olunur.',
    viewList: 'Siyahıya bax',
    caTitle: (ca) => `${ca}: dayandırılmış və ləğv edilmiş sertifikatlar`,
    caption: (ca) => `${ca} tərəfindən verilmiş, dayandırılmış və ya ləğv edilmiş sertifikatlar`,
    serial: 'Seriya nömrəsi',
    status: 'Status',
    date: 'Tarix',
    reason: 'Səbəb',
    suspended: 'dayandırılıb',
    revoked: 'ləğv edilib',
    empty: 'Siyahı boşdur.',
    next: 'Növbəti səhifə',
    first: 'Birinci səhifə',
    downloads: 'Yükləmələr',
  },
  errors: {
    badSerialTitle: 'Seriya nömrəsi düzgün deyil',
    badSerial: 'Seriya nömrəsi onaltılıq rəqəmlərdən (0–9, A–F) ibarətdir və 20 baytdan (40 rəqəmdən) uzun olmur.',
    badCertificateTitle: 'Sertifikatı oxumaq mümkün olmadı',
    badCertificate: 'PEM (-----BEGIN CERTIFICATE-----) və ya DER formatında bir sertifikat göndərin.',
    emptyTitle: 'Heç nə daxil edilməyib',
    empty: 'Seriya nömrəsini yazın və ya sertifikatı yapışdırın, yaxud faylını seçin.',
    tooLargeTitle: 'Göndərilən məlumat çox böyükdür',
    tooLarge: 'Sertifikat faylı 64 kB-dan böyük ola bilməz.',
    badRequestTitle: 'Sorğu başa düşülmədi',
    badRequest: 'Formu yenidən doldurub göndərin.',
    notFoundTitle: 'Səhifə tapılmadı',
    notFound: 'Belə səhifə yoxdur.',
    rateLimitedTitle: 'Həddən çox sorğu',
    rateLimited: (s) => `Sizin ünvandan qısa müddətdə çox sorğu gəlib. ${s} saniyədən sonra yenidən cəhd edin. Avtomatik yoxlama üçün OCSP xidmətindən istifadə edin.`,
    internalTitle: 'Xidmətdə xəta baş verdi',
    internal: 'Bir azdan yenidən cəhd edin.',
    back: 'Yoxlama səhifəsinə qayıt',
  },
  reason: (r) => (r ? REASONS.az[r] : REASONS.az.unspecified),
};

const EN: Texts = {
  otherLanguage: 'Azərbaycanca',
  siteName: 'e-imza',
  skipLink: 'Skip to main content',
  navCheck: 'Check a certificate',
  navLists: 'Suspended and revoked certificates',
  bakuTime: 'Baku time',
  footer: 'e-imza certificate services. For automated checks, use OCSP and the CRLs.',
  home: {
    title: "Check a certificate's status",
    intro: 'Enter the serial number of the certificate or send the certificate itself. The answer is the one our OCSP service gives.',
    bySerial: 'By serial number',
    serialLabel: 'Serial number',
    serialHint: 'Hexadecimal digits (0–9, A–F), for example 5A:1F:09. Upper or lower case, with or without colons or spaces.',
    check: 'Check',
    byCertificate: 'By the certificate itself',
    pemLabel: 'Paste the certificate in PEM format here',
    fileLabel: 'or choose the certificate file',
    fileHint: 'A .pem, .crt, .cer or .der file, up to 64 kB.',
    privacy: 'There is no search by FIN or by name. The page shows only what the certificate itself says.',
  },
  result: {
    valid: 'The certificate is valid',
    suspended: 'The certificate is suspended',
    revoked: 'The certificate is revoked',
    expired: 'The certificate has expired',
    notIssued: 'This certificate was not issued by e-imza',
    validDetail: (until) => `It is neither suspended nor revoked. Valid until ${until}.`,
    suspendedDetail: (since) => `Suspended since ${since}. The holder may have it restored; until then, do not rely on it.`,
    revokedDetail: (at, reason) => `Revoked on ${at}. Reason: ${reason}. Revocation is final.`,
    invalidity: (at) => `The key was reported invalid from ${at}.`,
    expiredDetail: (on) => `Its validity ended on ${on}.`,
    unknownSerialDetail: 'e-imza has issued no certificate with this serial number. Check the number, or send the certificate itself.',
    foreignDetail:
      'None of the e-imza certification authorities issued the certificate you sent, or it is not byte for byte the certificate we recorded. Do not rely on it as an e-imza certificate.',
    details: 'What the certificate says',
    serial: 'Serial number',
    type: 'Type',
    commonName: 'Name (CN)',
    organization: 'Organisation',
    organizationalUnit: 'Unit',
    organizationIdentifier: 'Organisation identifier',
    registrationNumber: 'Registration number',
    issuer: 'Issuing CA',
    notBefore: 'Valid from',
    notAfter: 'Valid until',
    ocspAnswer: 'OCSP answer',
    checkedAt: 'Checked at',
    permalink: 'Permanent address of this result',
    checkAnother: 'Check another certificate',
    serialInCertificate: 'Serial number written in it',
    issuerInCertificate: 'Issuer written in it',
    caCertificate: 'Download the CA certificate',
  },
  lists: {
    title: 'Suspended and revoked certificates',
    intro:
      "Each CA's list is what its CRL lists: the suspended or revoked certificates that have not expired, in serial number order. Holders' names are not shown.",
    caCertificate: 'CA certificate',
    fullCrl: 'Full CRL',
    deltaCrl: 'Delta CRL',
    ocsp: 'OCSP URL',
    noOcsp: "The status of this CA's certificates is published by CRL only.",
    viewList: 'View the list',
    caTitle: (ca) => `${ca}: suspended and revoked certificates`,
    caption: (ca) => `Certificates issued by ${ca} that are suspended or revoked`,
    serial: 'Serial number',
    status: 'Status',
    date: 'Date',
    reason: 'Reason',
    suspended: 'suspended',
    revoked: 'revoked',
    empty: 'The list is empty.',
    next: 'Next page',
    first: 'First page',
    downloads: 'Downloads',
  },
  errors: {
    badSerialTitle: 'This is not a valid serial number',
    badSerial: 'A serial number is made of hexadecimal digits (0–9, A–F) and is at most 20 bytes (40 digits) long.',
    badCertificateTitle: 'The certificate could not be read',
    badCertificate: 'Send one certificate in PEM (-----BEGIN CERTIFICATE-----) or DER format.',
    emptyTitle: 'Nothing was entered',
    empty: 'Enter a serial number, or paste the certificate or choose its file.',
    tooLargeTitle: 'What you sent is too large',
    tooLarge: 'A certificate file cannot be larger than 64 kB.',
    badRequestTitle: 'The request was not understood',
    badRequest: 'Fill in the form again and send it.',
    notFoundTitle: 'Page not found',
    notFound: 'There is no such page.',
    rateLimitedTitle: 'Too many requests',
    rateLimited: (s) => `Too many requests came from your address in a short time. Try again in ${s} seconds. For automated checks, use the OCSP service.`,
    internalTitle: 'Something went wrong on our side',
    internal: 'Please try again in a moment.',
    back: 'Back to the check page',
  },
  reason: (r) => (r ? REASONS.en[r] : REASONS.en.unspecified),
};

export const TEXTS: Readonly<Record<Lang, Texts>> = { az: AZ, en: EN };

/** The certificate type in words ("Elektron imza"), from the profile names the holder e-mail uses. */
export function typeName(profile: string, lang: Lang): string {
  const name = profileName(profile)[lang];
  return name.charAt(0).toLocaleUpperCase(lang) + name.slice(1);
}

/** "05.03.2027 14:20 (Bakı vaxtı)": Azerbaijan keeps UTC+4 all year. */
export function formatDate(d: Date, lang: Lang): string {
  return `${formatBakuTime(d)} (${TEXTS[lang].bakuTime})`;
}

/**
 * `?lang=` wins; otherwise the Accept-Language header (`pick` is express' acceptsLanguages);
 * Azerbaijani when neither names a language we have.
 */
export function chooseLanguage(query: unknown, pick: (...langs: string[]) => string | false): { lang: Lang; explicit: boolean } {
  if (query === 'az' || query === 'en') return { lang: query, explicit: true };
  const accepted = pick(...LANGS);
  return { lang: accepted === 'en' ? 'en' : 'az', explicit: false };
}
