import * as asn1js from 'asn1js';
import { CertificateType, ObjectClass, type ITemplate, type Session, type SessionObject } from 'graphene-pk11';
import { CaError } from '../src/errors.js';
import { callPkcs11, pkcs11ReturnValue, translatePkcs11Error } from './pkcs11-errors.js';

/**
 * Certificate and data objects on a holder's card (PKCS#11 v2.40 §4.6 and §4.5). Certificates
 * are public token objects, readable without the PIN, so middleware can list them before login.
 */

/** CKA_CERTIFICATE_CATEGORY (PKCS#11 v2.40 §4.6.2). */
export type CertificateCategoryName = 'unspecified' | 'user' | 'authority' | 'other';
const CATEGORY_VALUES: Record<CertificateCategoryName, number> = { unspecified: 0, user: 1, authority: 2, other: 3 };

export interface CardCertificate {
  id: Uint8Array;
  label: string;
  /** DER X.509 certificate (CKA_VALUE). */
  der: Uint8Array;
  category: CertificateCategoryName;
}

export interface CertificateToWrite {
  der: Uint8Array;
  id: Uint8Array;
  label: string;
  category: 'user' | 'authority';
}

/** Return values a token gives for an attribute it does not know or will not take at creation. */
const CKR_ATTRIBUTE_READ_ONLY = 0x10;
const CKR_ATTRIBUTE_TYPE_INVALID = 0x12;
const CKR_ATTRIBUTE_VALUE_INVALID = 0x13;
const CKR_TEMPLATE_INCONSISTENT = 0xd1;
const CATEGORY_REFUSED = new Set([CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT]);

/**
 * Creates a CKO_CERTIFICATE / CKC_X_509 token object with the X.509 attributes middleware
 * searches by (§4.6.3: CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_VALUE) and the CKA_ID of
 * its key pair. CKA_CERTIFICATE_CATEGORY is optional in the standard and some tokens refuse it;
 * then the object is created without it. Returns whether the category was recorded.
 */
export function writeCertificate(session: Session, certificate: CertificateToWrite): { categoryRecorded: boolean } {
  const fields = certificateFields(certificate.der);
  const template: ITemplate = {
    class: ObjectClass.CERTIFICATE,
    certType: CertificateType.X_509,
    token: true,
    private: false,
    id: Buffer.from(certificate.id),
    label: certificate.label,
    subject: Buffer.from(fields.subject),
    issuer: Buffer.from(fields.issuer),
    serial: Buffer.from(fields.serialNumber),
    value: Buffer.from(certificate.der),
  };
  try {
    session.create({ ...template, certCategory: CATEGORY_VALUES[certificate.category] });
    return { categoryRecorded: true };
  } catch (error) {
    const returnValue = pkcs11ReturnValue(error);
    if (returnValue === undefined || !CATEGORY_REFUSED.has(returnValue)) throw translatePkcs11Error(error, 'C_CreateObject');
  }
  callPkcs11('C_CreateObject', () => session.create(template));
  return { categoryRecorded: false };
}

export function listCertificates(session: Session): CardCertificate[] {
  return findObjects(session, { class: ObjectClass.CERTIFICATE, certType: CertificateType.X_509, token: true }).map((object) => {
    const { id, label, value } = callPkcs11('C_GetAttributeValue', () =>
      object.getAttribute({ id: null, label: null, value: null }),
    ) as { id: Buffer; label: string; value: Buffer };
    return { id: new Uint8Array(id), label, der: new Uint8Array(value), category: readCategory(object) };
  });
}

/** Not every token keeps (or reports) CKA_CERTIFICATE_CATEGORY; those read as unspecified. */
function readCategory(object: SessionObject): CertificateCategoryName {
  try {
    const { certCategory } = object.getAttribute({ certCategory: null }) as { certCategory: number };
    const name = (Object.keys(CATEGORY_VALUES) as CertificateCategoryName[]).find((key) => CATEGORY_VALUES[key] === certCategory);
    return name ?? 'unspecified';
  } catch {
    return 'unspecified';
  }
}

/**
 * CKO_DATA objects of this application (CKA_APPLICATION "e-imza"), private (readable only after
 * login), one per label. Used to keep a request that must survive a failed run.
 */
const DATA_APPLICATION = 'e-imza';

export function readData(session: Session, label: string): Uint8Array | undefined {
  const [object, ...more] = findObjects(session, dataTemplate(label));
  if (!object) return undefined;
  if (more.length > 0) throw new CaError('conflict', `the card holds several data objects labelled "${label}"`, { code: 'cardDataAmbiguous' });
  const { value } = callPkcs11('C_GetAttributeValue', () => object.getAttribute({ value: null })) as { value: Buffer };
  return new Uint8Array(value);
}

/** Replaces the data object with this label. */
export function writeData(session: Session, label: string, value: Uint8Array): void {
  deleteData(session, label);
  callPkcs11('C_CreateObject', () => session.create({ ...dataTemplate(label), private: true, value: Buffer.from(value) }));
}

export function deleteData(session: Session, label: string): void {
  for (const object of findObjects(session, dataTemplate(label))) callPkcs11('C_DestroyObject', () => session.destroy(object));
}

function dataTemplate(label: string): ITemplate {
  return { class: ObjectClass.DATA, token: true, application: DATA_APPLICATION, label };
}

function findObjects(session: Session, template: ITemplate): SessionObject[] {
  return callPkcs11('C_FindObjects', () => Array.from(session.find(template)));
}

/**
 * The DER of serialNumber, issuer and subject, copied from the certificate as they are (RFC 5280
 * §4.1): Certificate ::= SEQUENCE { tbsCertificate, … } and
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber INTEGER,
 *     signature AlgorithmIdentifier, issuer Name, validity, subject Name, … }
 * CKA_SERIAL_NUMBER is the DER INTEGER, tag and length included (PKCS#11 v2.40 §4.6.3).
 */
export function certificateFields(der: Uint8Array): { serialNumber: Uint8Array; issuer: Uint8Array; subject: Uint8Array } {
  const parsed = asn1js.fromBER(der);
  const certificate = parsed.offset === der.byteLength ? parsed.result : undefined;
  const tbs = certificate instanceof asn1js.Sequence ? certificate.valueBlock.value[0] : undefined;
  const items = tbs instanceof asn1js.Sequence ? tbs.valueBlock.value : [];
  const first = items[0];
  const start = first && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 0 ? 1 : 0;
  const [serialNumber, , issuer, , subject] = items.slice(start);
  if (!(serialNumber instanceof asn1js.Integer) || !(issuer instanceof asn1js.Sequence) || !(subject instanceof asn1js.Sequence)) {
    throw new CaError('malformed', 'the certificate to write to the card is not a DER X.509 certificate', { code: 'malformedCertificate' });
  }
  return { serialNumber: encoded(serialNumber), issuer: encoded(issuer), subject: encoded(subject) };
}

function encoded(element: asn1js.AsnType): Uint8Array {
  return new Uint8Array(element.valueBeforeDecodeView);
}
