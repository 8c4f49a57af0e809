import type { CertificateRecord } from '../domain/certificate.js';
import type { Serial } from '../domain/serial.js';
import { publishedReason } from '../domain/status.js';
import type { RevocationSettings } from '../policy/settings.js';
import type { KeyAlgorithm } from '../signing/types.js';
import type { StoredOcspResponse } from '../store/ocsp-responses.js';
import { assembleOcspResponse, buildCertId, buildResponseData, type OcspCertStatus, type OcspHash } from '../x509/ocsp.js';
import type { OcspIssuer } from './issuers.js';

const MINUTE_MS = 60_000;

/** The OCSP status of a certificate record: reserved (never issued) is `unknown`, never good. */
export function ocspStatusOf(record: Pick<CertificateRecord, 'status' | 'revocationReason' | 'revokedAt' | 'statusChangedAt'> | undefined): OcspCertStatus {
  if (!record || record.status === 'reserved') return { kind: 'unknown' };
  if (record.status === 'active') return { kind: 'good' };
  return { kind: 'revoked', revokedAt: record.revokedAt ?? record.statusChangedAt, reason: publishedReason(record.status, record.revocationReason) };
}

export interface ResponseWindow {
  thisUpdate: Date;
  nextUpdate: Date;
}

export function responseWindow(now: Date, settings: RevocationSettings): ResponseWindow {
  const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return { thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + settings.ocspValidityMinutes * MINUTE_MS) };
}

/**
 * Signs one certificate's single-response answer with the issuer's delegated responder key (never
 * the CA key), for each hash: what is stored and served as is to requests without a nonce.
 */
export async function presignResponses(
  issuer: OcspIssuer,
  record: Pick<CertificateRecord, 'serial' | 'caName' | 'status' | 'revocationReason' | 'revokedAt' | 'statusChangedAt' | 'statusSeq'>,
  hashes: readonly OcspHash[],
  window: ResponseWindow,
): Promise<StoredOcspResponse[]> {
  const signer = await issuer.ca.ocspSigner();
  const status = ocspStatusOf(record);
  return Promise.all(
    hashes.map(async (hash) => {
      const responseData = buildResponseData({
        responderSpki: signer.publicKeySpki,
        producedAt: window.thisUpdate,
        responses: [{ certIdDer: certIdFor(issuer, hash, record.serial), status, ...window }],
      });
      const signature = await signer.sign(responseData);
      return { serial: record.serial, hash, caName: record.caName, responseData, signature, statusSeq: record.statusSeq, ...window };
    }),
  );
}

/** The OCSPResponse bytes of a stored answer: the responder certificate is added here, not stored. */
export function assembleStored(issuer: OcspIssuer, stored: Pick<StoredOcspResponse, 'responseData' | 'signature'>, algorithm: KeyAlgorithm): Uint8Array {
  return assembleOcspResponse(stored.responseData, algorithm, stored.signature, [issuer.responderCertificate]);
}

function certIdFor(issuer: OcspIssuer, hash: OcspHash, serial: Serial): Uint8Array {
  return buildCertId(hash, issuer.ca.certificate.subjectNameDer, issuer.ca.certificate.subjectPublicKeySpki, serial);
}
