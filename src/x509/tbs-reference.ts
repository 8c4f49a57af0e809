import { Certificate, PublicKeyInfo, RelativeDistinguishedNames } from 'pkijs';
import { encodeDer, parseAsn1, toArrayBuffer } from './asn1.js';
import { certificateTime, serialToInteger, type TbsCertificateInput } from './certificate.js';
import { buildExtensions } from './extensions.js';
import { encodeNamePkijs } from './names.js';
import { signatureAlgorithmFor } from './public-key.js';

/**
 * The TBSCertificate through pkijs/asn1js: the reference that `buildTbsCertificate` (DER writer)
 * must match byte for byte, as the tests show for every profile. Not used on the issuance path.
 */
export function buildTbsCertificateReference(input: TbsCertificateInput): Uint8Array {
  parseAsn1(input.issuerName, 'issuer Name', 'malformedName');
  parseAsn1(input.subjectPublicKeySpki, 'subject public key', 'malformedPublicKey');
  const certificate = new Certificate({
    version: 2, // v3 (RFC 5280 §4.1.2.1)
    serialNumber: serialToInteger(input.serial),
    signature: signatureAlgorithmFor(input.signatureAlgorithm),
    issuer: RelativeDistinguishedNames.fromBER(toArrayBuffer(input.issuerName)),
    notBefore: certificateTime(input.notBefore),
    notAfter: certificateTime(input.notAfter),
    subject: encodeNamePkijs(input.spec.subject),
    subjectPublicKeyInfo: PublicKeyInfo.fromBER(toArrayBuffer(input.subjectPublicKeySpki)),
    extensions: buildExtensions({
      spec: input.spec,
      subjectPublicKeySpki: input.subjectPublicKeySpki,
      issuerPublicKeySpki: input.issuerPublicKeySpki,
    }),
  });
  return encodeDer(certificate.encodeTBS());
}
