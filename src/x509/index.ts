/** x509/: encoding and decoding of certificates and requests. No DB, no HTTP, no policy. */
export { pemEncode, decodePemOrDer, decodePemBlocks, splitPemCertificates, CSR_PEM_LABELS, type PemBlock } from './pem.js';
export {
  describePublicKey,
  subjectKeyIdentifier,
  keyAlgorithmOf,
  signatureAlgorithmFor,
  signatureAlgorithmOid,
  type PublicKeyDescription,
} from './public-key.js';
export { parseCsr, parseCsrAsync, type ParsedCsr, type KeyCheck } from './csr.js';
export { encodeName, decodeName, decodeNameAttributes, formatName, type DecodedNameAttribute } from './names.js';
export { buildExtensions, type ExtensionInputs } from './extensions.js';
export { buildTbsCertificate, assembleCertificate, signTbs, serialToInteger, type TbsCertificateInput } from './certificate.js';
export { inspectCertificate, serialFromOctets, type CertificateInfo } from './inspect.js';
export { lintTbs, findLintFailures, LINT_CHECKS, type LintOptions, type LintFailure } from './lint.js';
