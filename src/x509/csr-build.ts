import * as asn1js from 'asn1js';
import { CertificationRequest } from 'pkijs';
import type { NameAttribute } from '../domain/certificateSpec.js';
import { CaError, isCaError } from '../errors.js';
import { bytesEqual, encodeDer, parseAsn1, toArrayBuffer } from './asn1.js';
import { parseCsr } from './csr.js';
import { encodeNamePkijs } from './names.js';
import { pemEncode } from './pem.js';
import { keyAlgorithmOf, signatureAlgorithmFor } from './public-key.js';

/**
 * Builds a PKCS#10 request (RFC 2986) for a key that signs elsewhere (a smart card, an HSM):
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *     subjectPKInfo SubjectPublicKeyInfo, attributes [0] Attributes }            -- §4.1
 *
 * The signature algorithm follows the key as for certificates (RSA: sha256WithRSAEncryption;
 * P-256: ecdsa-with-SHA256; P-384: ecdsa-with-SHA384, RFC 5758 §3.2). No attributes are sent:
 * the CA takes nothing from a request but its public key.
 */
export interface CsrBuildInput {
  /** The requested subject, or just a common name. The CA builds the real subject from its own records. */
  subject: readonly NameAttribute[] | string;
  /** DER SubjectPublicKeyInfo of the key that signs. */
  subjectPublicKeyInfo: Uint8Array;
  /**
   * Signs the DER CertificationRequestInfo as Signer.sign does (src/signing/types.ts): the
   * message, not a digest, hashed to fit the key; ECDSA as a DER Ecdsa-Sig-Value (RFC 3279 §2.2.3).
   */
  sign(tbs: Uint8Array): Promise<Uint8Array>;
}

export interface BuiltCsr {
  der: Uint8Array;
  pem: string;
}

export async function buildCsr(input: CsrBuildInput): Promise<BuiltCsr> {
  const algorithm = keyAlgorithmOf(input.subjectPublicKeyInfo);
  const subject: readonly NameAttribute[] = typeof input.subject === 'string' ? [{ type: 'CN', value: input.subject }] : input.subject;
  const info = encodeDer(
    new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        encodeNamePkijs(subject).toSchema(),
        // The key exactly as given: asn1js re-encodes a parsed DER element to the same bytes.
        parseAsn1(input.subjectPublicKeyInfo, 'SubjectPublicKeyInfo', 'malformedPublicKey'),
        // attributes [0] is not OPTIONAL in RFC 2986 §4.1: present and empty.
        new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] }),
      ],
    }),
  );
  const request = new CertificationRequest({
    tbs: toArrayBuffer(info),
    signatureAlgorithm: signatureAlgorithmFor(algorithm),
    signatureValue: new asn1js.BitString({ valueHex: toArrayBuffer(await input.sign(info)) }),
  });
  const der = encodeDer(request.toSchema());
  checkBuilt(der, input.subjectPublicKeyInfo);
  return { der, pem: pemEncode('CERTIFICATE REQUEST', der) };
}

/**
 * What the CA will check, checked before the request leaves: it decodes with the strict reader,
 * carries the key byte for byte, and its signature verifies (a wrong PIN session, a key that
 * cannot sign or a broken signature conversion fail here, not at the CA).
 */
function checkBuilt(der: Uint8Array, spki: Uint8Array): void {
  let parsed;
  try {
    parsed = parseCsr(der);
  } catch (error) {
    if (isCaError(error) && error.code === 'csrSignatureInvalid') {
      throw new CaError('badCsr', 'the signature made for the request does not verify with its public key', {
        code: 'csrSignatureInvalid',
        cause: error,
      });
    }
    throw error;
  }
  if (!bytesEqual(parsed.subjectPublicKeyInfo, spki)) {
    throw new CaError('internal', 'the request does not carry the public key it was built for', { code: 'csrBuildMismatch' });
  }
}
