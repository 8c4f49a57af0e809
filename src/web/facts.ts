import type { LoadedCa } from '../ca/directory.js';
import { isExpired, type CertificateRecord, type RevocationReason } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { ocspStatusOf } from '../ocsp/signing.js';
import { inspectCertificate } from '../x509/inspect.js';
import { decodeName } from '../x509/names.js';
import { NAME_ATTRIBUTE_OIDS } from '../x509/oids.js';
import type { OcspCertStatus } from '../x509/ocsp.js';

/**
 * What the status page says of a certificate: only what the public certificate says (its subject,
 * issuer and dates, decoded from the DER we signed) and its status, never the holder record,
 * e-mail, phone or provenance.
 */

/**
 * The status in the page's words. It is derived from `ocspStatusOf`, the function the OCSP
 * responder signs its answers with, so the page cannot say something else than OCSP: good ->
 * valid (or expired, which OCSP does not speak of: RFC 6960 leaves validity dates to the relying
 * party), revoked/certificateHold -> suspended, revoked -> revoked, unknown -> not issued.
 */
export type PublicStatus =
  | { kind: 'valid' }
  | { kind: 'expired'; on: Date }
  | { kind: 'suspended'; since: Date }
  | { kind: 'revoked'; at: Date; reason: RevocationReason | null; invalidityDate: Date | null }
  | { kind: 'notIssued' };

export function publicStatus(record: CertificateRecord | undefined, now: Date): { status: PublicStatus; ocsp: OcspCertStatus } {
  const ocsp = ocspStatusOf(record);
  if (ocsp.kind === 'unknown' || !record) return { status: { kind: 'notIssued' }, ocsp };
  if (ocsp.kind === 'revoked') {
    const status: PublicStatus =
      ocsp.reason === 'certificateHold'
        ? { kind: 'suspended', since: ocsp.revokedAt }
        : { kind: 'revoked', at: ocsp.revokedAt, reason: ocsp.reason, invalidityDate: record.invalidityDate };
    return { status, ocsp };
  }
  return { status: isExpired(record, now) ? { kind: 'expired', on: record.notAfter } : { kind: 'valid' }, ocsp };
}

/** Subject attributes the page prints, as written in the certificate. */
export interface SubjectFacts {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  /** organizationIdentifier, e.g. NTRAZ-<VÖEN> (ETSI EN 319 412-1 §5.1.4): a public register number. */
  organizationIdentifier?: string;
  /**
   * subject serialNumber of an organisation or server (the X-Road member code, a VÖEN). Left out
   * for natural persons: theirs is PNOAZ-<FIN> (ETSI EN 319 412-1 §5.1.3), see docs/status-page.md.
   */
  registrationNumber?: string;
}

export interface CertificateFacts {
  serial: Serial;
  profile: string;
  ca: { name: string; commonName: string; hasOcsp: boolean };
  subject: SubjectFacts;
  notBefore: Date;
  notAfter: Date;
  status: PublicStatus;
  ocsp: OcspCertStatus;
}

const OU = '2.5.4.11';
/** ETSI EN 319 412-1 §5.1.3 semantics identifiers of natural persons: passport, ID card, personal number, tax number. */
const NATURAL_PERSON_ID = /^(PAS|IDC|PNO|TIN)[A-Z]{2}[-:]/;

export function subjectFacts(subjectNameDer: Uint8Array): SubjectFacts {
  const attributes = decodeName(subjectNameDer);
  const first = (oid: string) => attributes.find((a) => a.type === oid)?.value;
  const naturalPerson = attributes.some((a) => a.type === NAME_ATTRIBUTE_OIDS.givenName || a.type === NAME_ATTRIBUTE_OIDS.surname);
  const serialNumber = first(NAME_ATTRIBUTE_OIDS.serialNumber);
  const facts: SubjectFacts = {};
  const set = (key: keyof SubjectFacts, value: string | undefined) => {
    if (value !== undefined) facts[key] = value;
  };
  set('commonName', first(NAME_ATTRIBUTE_OIDS.CN));
  set('organization', first(NAME_ATTRIBUTE_OIDS.O));
  set('organizationalUnit', first(OU));
  set('organizationIdentifier', first(NAME_ATTRIBUTE_OIDS.organizationIdentifier));
  if (serialNumber !== undefined && !naturalPerson && !NATURAL_PERSON_ID.test(serialNumber)) set('registrationNumber', serialNumber);
  return facts;
}

/**
 * Decoded certificates by serial. A certificate never changes, and decoding one (pkijs) was the
 * largest single cost of the status page: 13% of the server's thread under bench:load. Kept only
 * while the bytes are the same, and the oldest tenth dropped when full.
 */
const INSPECTED_MAX = 10_000;
const inspected = new Map<string, { der: Uint8Array; info: ReturnType<typeof inspectCertificate> }>();

function inspectOnce(serial: string, der: Uint8Array): ReturnType<typeof inspectCertificate> {
  const hit = inspected.get(serial);
  if (hit && Buffer.from(hit.der.buffer, hit.der.byteOffset, hit.der.byteLength).equals(der)) return hit.info;
  const info = inspectCertificate(der);
  inspected.set(serial, { der, info });
  if (inspected.size > INSPECTED_MAX) {
    let drop = INSPECTED_MAX / 10;
    for (const key of inspected.keys()) {
      if (drop-- <= 0) break;
      inspected.delete(key);
    }
  }
  return info;
}

/**
 * The facts of one of our certificates, or null when it was never issued (no record, still
 * reserved: OCSP says unknown) or its CA is not loaded.
 */
export function certificateFacts(record: CertificateRecord | undefined, cas: readonly LoadedCa[], now: Date): CertificateFacts | null {
  const { status, ocsp } = publicStatus(record, now);
  const ca = record && cas.find((c) => c.record.name === record.caName);
  if (!record || !record.der || status.kind === 'notIssued' || !ca) return null;
  const info = inspectOnce(record.serial, record.der);
  return {
    serial: record.serial,
    profile: record.profile,
    ca: { name: ca.record.name, commonName: ca.certificate.subjectCommonName ?? ca.record.name, hasOcsp: ca.ocspCertificateDer !== null },
    subject: subjectFacts(info.subjectNameDer),
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    status,
    ocsp,
  };
}
