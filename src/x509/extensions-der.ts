import type { CertificateSpec } from '../domain/certificateSpec.js';
import { contextConstructed, contextPrimitive } from './der-reader.js';
import { DER_NULL, DER_TRUE, asciiString, integer, octetString, oid, sequence, tlv } from './der-writer.js';
import { ia5, type ExtensionInputs } from './extensions.js';
import { keyUsageDer } from './key-usage.js';
import { encodeName } from './names.js';
import { ACCESS_METHOD_OIDS, EXTENSION_OIDS } from './oids.js';
import { subjectKeyIdentifier } from './public-key.js';
import { qcStatementsDer } from './qc-statements.js';

/**
 * The certificate extensions of a CertificateSpec (RFC 5280 §4.2) from the DER writer: the same
 * extensions, order, checks and bytes as `buildExtensions` (pkijs, the reference; tests compare
 * both for every profile), at a fraction of the cost.
 *
 * Everything but SKI, AKI and SAN depends only on the profile's part of the spec, which is the
 * same for every certificate of a profile and CA, so those bytes are memoised, keyed by a
 * canonical JSON of exactly the spec fields they are built from; the AKI is memoised per issuer
 * key. Both memos are pure-function caches (the value is a function of the key alone, nothing
 * else is remembered), bounded, and never hand their arrays out: callers copy them into the TBS.
 */

/** One Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export interface EncodedExtension {
  oid: string;
  critical: boolean;
  /** The extnValue contents: the DER of the extension's own value. */
  value: Uint8Array;
  /** The whole Extension SEQUENCE. */
  der: Uint8Array;
}

/** A Map in insertion order that forgets its oldest entry when full. */
class BoundedMemo<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }
}

/** Profiles × CAs × key families × secure-device flag: a few dozen in practice. */
const STATIC_EXTENSIONS = new BoundedMemo<{ before: EncodedExtension[]; after: EncodedExtension[] }>(256);
/** One per issuing CA key (and OCSP signer key). */
const ISSUER_KEY_IDENTIFIERS = new BoundedMemo<{ keyId: Uint8Array; aki: EncodedExtension }>(64);

const EXTENSION_OID_DER = new Map<string, Uint8Array>(Object.values(EXTENSION_OIDS).map((dotted) => [dotted, oid(dotted)]));

function extension(extnID: string, critical: boolean, value: Uint8Array): EncodedExtension {
  const id = EXTENSION_OID_DER.get(extnID) ?? oid(extnID);
  const der = critical ? sequence(id, DER_TRUE, octetString(value)) : sequence(id, octetString(value));
  return { oid: extnID, critical, value, der };
}

/** GeneralName CHOICE tags (RFC 5280 §4.2.1.6): IA5String alternatives are [n] IMPLICIT. */
const GENERAL_NAME = { rfc822Name: 1, dNSName: 2, directoryName: 4, uniformResourceIdentifier: 6 } as const;

function uri(value: string): Uint8Array {
  return asciiString(contextPrimitive(GENERAL_NAME.uniformResourceIdentifier), ia5(value, 'URL'));
}

/** §4.2.1.9: cA DEFAULT FALSE is omitted; pathLenConstraint only for CAs. */
function basicConstraints(constraints: NonNullable<CertificateSpec['basicConstraints']>): EncodedExtension {
  const fields = constraints.ca ? [DER_TRUE, ...(constraints.pathLength === undefined ? [] : [integer(constraints.pathLength)])] : [];
  return extension(EXTENSION_OIDS.basicConstraints, true, sequence(...fields));
}

/** §4.2.1.6: dNSName, then rfc822Name, then directoryName ([4] EXPLICIT Name). */
function subjectAltName(san: NonNullable<CertificateSpec['subjectAltName']>): EncodedExtension | undefined {
  const names = [
    ...(san.dnsNames ?? []).map((dns) => asciiString(contextPrimitive(GENERAL_NAME.dNSName), ia5(dns, 'dNSName'))),
    ...(san.emails ?? []).map((email) => asciiString(contextPrimitive(GENERAL_NAME.rfc822Name), ia5(email, 'rfc822Name'))),
  ];
  if (san.directoryName?.length) names.push(tlv(contextConstructed(GENERAL_NAME.directoryName), encodeName(san.directoryName)));
  if (names.length === 0) return undefined;
  return extension(EXTENSION_OIDS.subjectAltName, false, sequence(...names));
}

/** §4.2.2.1: OCSP first, then caIssuers. */
function authorityInfoAccess(aia: NonNullable<CertificateSpec['authorityInfoAccess']>): EncodedExtension | undefined {
  const descriptions: Uint8Array[] = [];
  if (aia.ocsp) descriptions.push(sequence(oid(ACCESS_METHOD_OIDS.ocsp), uri(aia.ocsp)));
  if (aia.caIssuers) descriptions.push(sequence(oid(ACCESS_METHOD_OIDS.caIssuers), uri(aia.caIssuers)));
  if (descriptions.length === 0) return undefined;
  return extension(EXTENSION_OIDS.authorityInfoAccess, false, sequence(...descriptions));
}

/**
 * §4.2.1.13: one DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }, no
 * reasons, no cRLIssuer.
 */
function crlDistributionPoints(url: string): EncodedExtension {
  const point = sequence(tlv(contextConstructed(0), tlv(contextConstructed(0), uri(url))));
  return extension(EXTENSION_OIDS.crlDistributionPoints, false, sequence(point));
}

/** The extensions before SKI/AKI/SAN: basicConstraints, keyUsage, extKeyUsage. */
function leadingExtensions(spec: CertificateSpec): EncodedExtension[] {
  const extensions: (EncodedExtension | undefined)[] = [
    spec.basicConstraints && basicConstraints(spec.basicConstraints),
    extension(EXTENSION_OIDS.keyUsage, true, keyUsageDer(spec.keyUsage)),
    spec.extendedKeyUsage?.length
      ? extension(EXTENSION_OIDS.extKeyUsage, false, sequence(...spec.extendedKeyUsage.map((purpose) => oid(purpose))))
      : undefined,
  ];
  return extensions.filter((e): e is EncodedExtension => e !== undefined);
}

/** The extensions after SAN: policies, AIA, CDP, qcStatements, ocsp-nocheck. */
function trailingExtensions(spec: CertificateSpec): EncodedExtension[] {
  const extensions: (EncodedExtension | undefined)[] = [
    spec.certificatePolicies?.length
      ? extension(
          EXTENSION_OIDS.certificatePolicies,
          false,
          sequence(...spec.certificatePolicies.map((policy) => sequence(oid(policy)))),
        )
      : undefined,
    spec.authorityInfoAccess && authorityInfoAccess(spec.authorityInfoAccess),
    spec.crlDistributionPoint ? crlDistributionPoints(spec.crlDistributionPoint) : undefined,
    spec.qcStatements && extension(EXTENSION_OIDS.qcStatements, false, qcStatementsDer(spec.qcStatements)),
    // RFC 6960 §4.2.2.2.1: id-pkix-ocsp-nocheck with a NULL value.
    spec.ocspNoCheck ? extension(EXTENSION_OIDS.ocspNoCheck, false, DER_NULL) : undefined,
  ];
  return extensions.filter((e): e is EncodedExtension => e !== undefined);
}

/**
 * The memo key: every spec field the leading and trailing extensions are built from, in a fixed
 * order (JSON of strings, booleans and string arrays is exact; pathLength is written as text so
 * that NaN or Infinity cannot collide with "absent").
 */
function staticKey(spec: CertificateSpec): string {
  const { basicConstraints: bc, authorityInfoAccess: aia, qcStatements: qc } = spec;
  return JSON.stringify([
    bc ? [bc.ca, bc.pathLength === undefined ? null : String(bc.pathLength)] : null,
    spec.keyUsage,
    spec.extendedKeyUsage ?? null,
    spec.certificatePolicies ?? null,
    aia ? [aia.ocsp ?? null, aia.caIssuers ?? null] : null,
    spec.crlDistributionPoint ?? null,
    qc ? [qc.compliance, qc.sscd, qc.type, qc.pdsUrl ?? null, qc.legislationCountry ?? null, qc.semanticsId ?? null] : null,
    spec.ocspNoCheck ?? null,
  ]);
}

/** §4.2.1.1: the AKI holds the issuer's key identifier (method 1) and nothing else. */
export function issuerKeyIdentifier(issuerPublicKeySpki: Uint8Array): { keyId: Uint8Array; aki: EncodedExtension } {
  const key = Buffer.from(issuerPublicKeySpki.buffer, issuerPublicKeySpki.byteOffset, issuerPublicKeySpki.byteLength).toString('base64');
  let entry = ISSUER_KEY_IDENTIFIERS.get(key);
  if (!entry) {
    const keyId = subjectKeyIdentifier(issuerPublicKeySpki);
    entry = { keyId, aki: extension(EXTENSION_OIDS.authorityKeyIdentifier, false, sequence(tlv(contextPrimitive(0), keyId))) };
    ISSUER_KEY_IDENTIFIERS.set(key, entry);
  }
  return entry;
}

/**
 * Every extension of a certificate, in the order of `buildExtensions`, with its checks in the
 * same order (so the same error wins): leading, SKI, AKI, SAN, trailing. keyUsage and
 * basicConstraints are critical (§4.2.1.3, §4.2.1.9); everything else is not.
 */
export function encodeExtensions({ spec, subjectPublicKeySpki, issuerPublicKeySpki }: ExtensionInputs): EncodedExtension[] {
  const key = staticKey(spec);
  const memo = STATIC_EXTENSIONS.get(key);
  const before = memo?.before ?? leadingExtensions(spec);
  // §4.2.1.2 and §4.2.1.1: key identifiers by method (1).
  const ski = extension(EXTENSION_OIDS.subjectKeyIdentifier, false, octetString(subjectKeyIdentifier(subjectPublicKeySpki)));
  const { aki } = issuerKeyIdentifier(issuerPublicKeySpki);
  const san = spec.subjectAltName && subjectAltName(spec.subjectAltName);
  const after = memo?.after ?? trailingExtensions(spec);
  if (!memo) STATIC_EXTENSIONS.set(key, { before, after });
  return san ? [...before, ski, aki, san, ...after] : [...before, ski, aki, ...after];
}
