import * as asn1js from 'asn1js';
import {
  AccessDescription,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  DistributionPoint,
  ExtKeyUsage,
  Extension,
  GeneralName,
  GeneralNames,
  InfoAccess,
  PolicyInformation,
} from 'pkijs';
import type { CertificateSpec } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { encodeDer, toArrayBuffer } from './asn1.js';
import { encodeKeyUsage } from './key-usage.js';
import { encodeNamePkijs } from './names.js';
import { ACCESS_METHOD_OIDS, EXTENSION_OIDS } from './oids.js';
import { subjectKeyIdentifier } from './public-key.js';
import { encodeQcStatements } from './qc-statements.js';

/** Certificate extensions from a CertificateSpec (RFC 5280 §4.2). Nothing here reads a CSR. */

export interface ExtensionInputs {
  spec: CertificateSpec;
  subjectPublicKeySpki: Uint8Array;
  /** The issuer's key, for authorityKeyIdentifier; the subject's own key for a self-signed root. */
  issuerPublicKeySpki: Uint8Array;
}

/** GeneralName CHOICE tags (RFC 5280 §4.2.1.6). */
const GENERAL_NAME = { rfc822Name: 1, dNSName: 2, directoryName: 4, uniformResourceIdentifier: 6 } as const;

function extension(extnID: string, critical: boolean, value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Extension {
  return new Extension({ extnID, critical, extnValue: toArrayBuffer(encodeDer(value)) });
}

/** IA5String GeneralNames (RFC 5280 §4.2.1.6): printable ASCII only, else `invalidSubjectAltName`. */
export function ia5(value: string, what: string): string {
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new CaError('malformed', `${what} must be printable ASCII (IA5String): ${JSON.stringify(value)}`, {
      code: 'invalidSubjectAltName',
    });
  }
  return value;
}

function uri(value: string): GeneralName {
  return new GeneralName({ type: GENERAL_NAME.uniformResourceIdentifier, value: ia5(value, 'URL') });
}

/** §4.2.1.9: critical; cA DEFAULT FALSE is omitted; pathLenConstraint only for CAs. */
function basicConstraints(constraints: NonNullable<CertificateSpec['basicConstraints']>): Extension {
  const value = constraints.ca
    ? new BasicConstraints({ cA: true, ...(constraints.pathLength === undefined ? {} : { pathLenConstraint: constraints.pathLength }) })
    : new BasicConstraints({ cA: false });
  return extension(EXTENSION_OIDS.basicConstraints, true, value.toSchema());
}

/** §4.2.1.6: dNSName and rfc822Name are IA5String; directoryName carries e.g. a document number. */
function subjectAltName(san: NonNullable<CertificateSpec['subjectAltName']>): Extension | undefined {
  const names = [
    ...(san.dnsNames ?? []).map((dns) => new GeneralName({ type: GENERAL_NAME.dNSName, value: ia5(dns, 'dNSName') })),
    ...(san.emails ?? []).map((email) => new GeneralName({ type: GENERAL_NAME.rfc822Name, value: ia5(email, 'rfc822Name') })),
  ];
  if (san.directoryName?.length) {
    names.push(new GeneralName({ type: GENERAL_NAME.directoryName, value: encodeNamePkijs(san.directoryName) }));
  }
  if (names.length === 0) return undefined;
  return extension(EXTENSION_OIDS.subjectAltName, false, new GeneralNames({ names }).toSchema());
}

/** §4.2.2.1: OCSP first, then caIssuers. */
function authorityInfoAccess(aia: NonNullable<CertificateSpec['authorityInfoAccess']>): Extension | undefined {
  const accessDescriptions: AccessDescription[] = [];
  if (aia.ocsp) accessDescriptions.push(new AccessDescription({ accessMethod: ACCESS_METHOD_OIDS.ocsp, accessLocation: uri(aia.ocsp) }));
  if (aia.caIssuers) {
    accessDescriptions.push(new AccessDescription({ accessMethod: ACCESS_METHOD_OIDS.caIssuers, accessLocation: uri(aia.caIssuers) }));
  }
  if (accessDescriptions.length === 0) return undefined;
  return extension(EXTENSION_OIDS.authorityInfoAccess, false, new InfoAccess({ accessDescriptions }).toSchema());
}

/** §4.2.1.13: one DistributionPoint with a fullName URI, no reasons, no cRLIssuer. */
function crlDistributionPoints(url: string): Extension {
  const point = new DistributionPoint({ distributionPoint: [uri(url)] });
  return extension(EXTENSION_OIDS.crlDistributionPoints, false, new CRLDistributionPoints({ distributionPoints: [point] }).toSchema());
}

/**
 * Every extension of a certificate, in a fixed order. keyUsage and basicConstraints are critical
 * (§4.2.1.3, §4.2.1.9); everything else is not, so relying parties that do not know an
 * extension (qcStatements, ocsp-nocheck) still accept the certificate.
 */
export function buildExtensions({ spec, subjectPublicKeySpki, issuerPublicKeySpki }: ExtensionInputs): Extension[] {
  const extensions: (Extension | undefined)[] = [
    spec.basicConstraints && basicConstraints(spec.basicConstraints),
    extension(EXTENSION_OIDS.keyUsage, true, encodeKeyUsage(spec.keyUsage)),
    spec.extendedKeyUsage?.length
      ? extension(EXTENSION_OIDS.extKeyUsage, false, new ExtKeyUsage({ keyPurposes: [...spec.extendedKeyUsage] }).toSchema())
      : undefined,
    // §4.2.1.2 and §4.2.1.1: key identifiers by method (1), AKI with keyIdentifier only.
    extension(EXTENSION_OIDS.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: subjectKeyIdentifier(subjectPublicKeySpki) })),
    extension(
      EXTENSION_OIDS.authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: subjectKeyIdentifier(issuerPublicKeySpki) }) }).toSchema(),
    ),
    spec.subjectAltName && subjectAltName(spec.subjectAltName),
    spec.certificatePolicies?.length
      ? extension(
          EXTENSION_OIDS.certificatePolicies,
          false,
          new CertificatePolicies({
            certificatePolicies: spec.certificatePolicies.map((policyIdentifier) => new PolicyInformation({ policyIdentifier })),
          }).toSchema(),
        )
      : undefined,
    spec.authorityInfoAccess && authorityInfoAccess(spec.authorityInfoAccess),
    spec.crlDistributionPoint ? crlDistributionPoints(spec.crlDistributionPoint) : undefined,
    spec.qcStatements && extension(EXTENSION_OIDS.qcStatements, false, encodeQcStatements(spec.qcStatements)),
    // RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck with a NULL value.
    spec.ocspNoCheck ? extension(EXTENSION_OIDS.ocspNoCheck, false, new asn1js.Null()) : undefined,
  ];
  return extensions.filter((e): e is Extension => e !== undefined);
}
