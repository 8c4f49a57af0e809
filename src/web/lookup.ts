import { X509Certificate } from 'node:crypto';
import type { CaDeps } from '../ca/deps.js';
import type { LoadedCa } from '../ca/directory.js';
import { getCertificate } from '../ca/queries.js';
import type { CertificateRecord } from '../domain/certificate.js';
import { parseSerial, type Serial } from '../domain/serial.js';
import { CaError, isCaError } from '../errors.js';
import { inspectCertificate, type CertificateInfo } from '../x509/inspect.js';
import { decodePemOrDer } from '../x509/pem.js';

/** Turns what a visitor typed, pasted or uploaded into a serial or a certificate, and says whose it is. */

/** Longer than any serial with colons and spaces (20 octets: 59 characters with colons). */
export const MAX_SERIAL_INPUT = 128;
/** The largest body the lookup accepts (a certificate is a few kB; a chain file rarely 20 kB). */
export const MAX_UPLOAD_BYTES = 64 * 1024;

export type LookupInput = { kind: 'serial'; serial: Serial } | { kind: 'certificate'; der: Uint8Array };

/** The fields of the lookup form (urlencoded or multipart): the file wins, then the pasted PEM, then the serial. */
export interface LookupFields {
  serial?: string | undefined;
  pem?: string | undefined;
  file?: Uint8Array | undefined;
}

export function parseSerialInput(text: string): Serial {
  if (text.length > MAX_SERIAL_INPUT) throw new CaError('malformed', 'serial input is too long', { code: 'invalidSerial' });
  return parseSerial(text);
}

export function lookupInput(fields: LookupFields): LookupInput {
  if (fields.file && fields.file.length > 0) return { kind: 'certificate', der: readCertificate(fields.file) };
  if (fields.pem?.trim()) return { kind: 'certificate', der: readCertificate(fields.pem) };
  const serial = fields.serial?.trim();
  // A certificate pasted into the serial box is still a certificate.
  if (serial?.includes('-----BEGIN')) return { kind: 'certificate', der: readCertificate(serial) };
  if (serial) return { kind: 'serial', serial: parseSerialInput(serial) };
  throw new CaError('malformed', 'neither a serial nor a certificate was given', { code: 'emptyLookup' });
}

/** One certificate, PEM or DER; anything else is `malformed` with a code the page explains. */
export function readCertificate(input: string | Uint8Array): Uint8Array {
  try {
    const der = decodePemOrDer(input, 'CERTIFICATE');
    inspectCertificate(der);
    return der;
  } catch (cause) {
    // Whatever the parsers make of a stranger's bytes, it is the input's fault, not ours.
    throw new CaError('malformed', 'not a certificate', { code: 'invalidCertificate', cause });
  }
}

/** The record of a serial, or undefined when we never reserved it. */
export async function findRecord(deps: CaDeps, serial: Serial): Promise<CertificateRecord | undefined> {
  try {
    return await getCertificate(deps, serial);
  } catch (e) {
    if (isCaError(e) && e.kind === 'notFound') return undefined;
    throw e;
  }
}

export type Identified =
  | { kind: 'ours'; serial: Serial }
  /** Not one of ours: another issuer, a signature none of our CA keys made, or other bytes than we signed. */
  | { kind: 'foreign'; info: CertificateInfo; why: 'issuer' | 'signature' | 'notRecorded' | 'differentBytes' };

/** Whether `caDer`'s key made the signature on `der` (ECDSA, RSA, RSA-PSS: node's X.509 verifier). */
function signedBy(der: Uint8Array, ca: LoadedCa): boolean {
  try {
    return new X509Certificate(der).verify(new X509Certificate(ca.certificateDer).publicKey);
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * A pasted certificate is ours only if its issuer is one of our CAs, that CA's key signed it, and
 * it is byte for byte the certificate we recorded under its serial: a forgery that copies one of
 * our serials and issuer names must never be shown the status of the real certificate.
 */
export async function identifyCertificate(deps: CaDeps, der: Uint8Array): Promise<Identified> {
  const info = inspectCertificate(der);
  const cas = (await deps.cas.list()).filter((ca) => sameBytes(ca.certificate.subjectNameDer, info.issuerNameDer));
  if (cas.length === 0) return { kind: 'foreign', info, why: 'issuer' };
  const issuer = cas.find((ca) => signedBy(der, ca));
  if (!issuer) return { kind: 'foreign', info, why: 'signature' };
  const record = await findRecord(deps, info.serial);
  if (!record || record.caName !== issuer.record.name || !record.der) return { kind: 'foreign', info, why: 'notRecorded' };
  if (!sameBytes(record.der, der)) return { kind: 'foreign', info, why: 'differentBytes' };
  return { kind: 'ours', serial: info.serial };
}
