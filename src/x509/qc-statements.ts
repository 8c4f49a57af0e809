import * as asn1js from 'asn1js';
import type { QcStatementsSpec } from '../domain/certificateSpec.js';
import { CaError } from '../errors.js';
import { TAG } from './der-reader.js';
import { asciiString, oid, sequence } from './der-writer.js';
import { QC_OIDS } from './oids.js';

/**
 * qcStatements (RFC 3739 §3.2.6), with the statements of ETSI EN 319 412-5 §4 and the
 * semantics identifiers of ETSI EN 319 412-1 §5.1:
 *
 *   QCStatements ::= SEQUENCE OF QCStatement
 *   QCStatement ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }
 */

const QC_TYPE_OIDS = { esign: QC_OIDS.typeEsign, eseal: QC_OIDS.typeEseal, web: QC_OIDS.typeWeb } as const;
const SEMANTICS_OIDS = { natural: QC_OIDS.semanticsIdNatural, legal: QC_OIDS.semanticsIdLegal } as const;

function statement(id: string, info?: asn1js.AsnType): asn1js.Sequence {
  const value: asn1js.AsnType[] = [new asn1js.ObjectIdentifier({ value: id })];
  if (info) value.push(info);
  return new asn1js.Sequence({ value });
}

function invalidQc(detail: string): CaError {
  return new CaError('internal', detail, { code: 'invalidSpec' });
}

/** RFC 3739 §3.2.6.1: SemanticsInformation ::= SEQUENCE { semanticsIdentifier OID OPTIONAL, nameRegistrationAuthorities OPTIONAL }. */
function semanticsStatement(semantics: 'natural' | 'legal'): asn1js.Sequence {
  const info = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: SEMANTICS_OIDS[semantics] })] });
  return statement(QC_OIDS.pkixQcSyntaxV2, info);
}

/** EN 319 412-5 §4.2.4: QcCClegislation ::= CountryList; CountryList ::= SEQUENCE OF CountryName (PrintableString SIZE (2)). */
function checkCountry(country: string): string {
  if (!/^[A-Z]{2}$/.test(country)) throw invalidQc('QcCClegislation needs an ISO 3166 alpha-2 country code');
  return country;
}

function legislationStatement(country: string): asn1js.Sequence {
  checkCountry(country);
  return statement(QC_OIDS.ccLegislation, new asn1js.Sequence({ value: [new asn1js.PrintableString({ value: country })] }));
}

/** EN 319 412-5 §4.2.3: QcType ::= SEQUENCE OF OBJECT IDENTIFIER. */
function typeStatement(type: QcStatementsSpec['type']): asn1js.Sequence {
  return statement(QC_OIDS.type, new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: QC_TYPE_OIDS[type] })] }));
}

/**
 * EN 319 412-5 §4.3.4: QcEuPDS ::= PdsLocations; PdsLocations ::= SEQUENCE SIZE (1..MAX) OF PdsLocation;
 * PdsLocation ::= SEQUENCE { url IA5String, language PrintableString (SIZE(2)) } -- ISO 639-1, "en".
 */
function checkPdsUrl(url: string): string {
  if (!/^https?:\/\/[\x21-\x7e]+$/.test(url)) throw invalidQc('QcPDS url must be an ASCII http(s) URL');
  return url;
}

function pdsStatement(url: string): asn1js.Sequence {
  checkPdsUrl(url);
  const location = new asn1js.Sequence({
    value: [new asn1js.IA5String({ value: url }), new asn1js.PrintableString({ value: 'en' })],
  });
  return statement(QC_OIDS.pds, new asn1js.Sequence({ value: [location] }));
}

/** The QCStatements SEQUENCE for a spec as asn1js objects (the pkijs reference encoder). */
export function encodeQcStatements(spec: QcStatementsSpec): asn1js.Sequence {
  const statements: asn1js.Sequence[] = [];
  if (spec.semanticsId) statements.push(semanticsStatement(spec.semanticsId));
  if (spec.compliance) statements.push(statement(QC_OIDS.compliance));
  if (spec.legislationCountry) statements.push(legislationStatement(spec.legislationCountry));
  if (spec.sscd) statements.push(statement(QC_OIDS.sscd));
  statements.push(typeStatement(spec.type));
  if (spec.pdsUrl) statements.push(pdsStatement(spec.pdsUrl));
  return new asn1js.Sequence({ value: statements });
}

function statementDer(id: string, info?: Uint8Array): Uint8Array {
  return info ? sequence(oid(id), info) : sequence(oid(id));
}

/**
 * The DER of the QCStatements SEQUENCE, semantics first, then the ETSI statements; the same
 * statements, checks and order as `encodeQcStatements`, from the DER writer.
 */
export function qcStatementsDer(spec: QcStatementsSpec): Uint8Array {
  const statements: Uint8Array[] = [];
  if (spec.semanticsId) statements.push(statementDer(QC_OIDS.pkixQcSyntaxV2, sequence(oid(SEMANTICS_OIDS[spec.semanticsId]))));
  if (spec.compliance) statements.push(statementDer(QC_OIDS.compliance));
  if (spec.legislationCountry) {
    const country = asciiString(TAG.printableString, checkCountry(spec.legislationCountry));
    statements.push(statementDer(QC_OIDS.ccLegislation, sequence(country)));
  }
  if (spec.sscd) statements.push(statementDer(QC_OIDS.sscd));
  statements.push(statementDer(QC_OIDS.type, sequence(oid(QC_TYPE_OIDS[spec.type]))));
  if (spec.pdsUrl) {
    const location = sequence(asciiString(TAG.ia5String, checkPdsUrl(spec.pdsUrl)), asciiString(TAG.printableString, 'en'));
    statements.push(statementDer(QC_OIDS.pds, sequence(location)));
  }
  return sequence(...statements);
}
