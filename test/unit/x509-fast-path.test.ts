/**
 * The hand-written DER on the issuance hot path (der-reader, der-writer, extensions-der, the fast
 * buildTbsCertificate, parseCsr and lintTbs), cross-checked against the libraries it replaced:
 * byte-identical TBS to the pkijs reference for every profile, the same readings as asn1js, the
 * same errors in the same order, and a little fuzzing of the reader.
 */
import { describe, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CertificateSpec, NameAttribute } from '../../src/domain/certificateSpec.js';
import type { Holder } from '../../src/domain/holder.js';
import { parseSerial, randomSerial } from '../../src/domain/serial.js';
import { checkKeyPolicy } from '../../src/policy/key-policy.js';
import { buildCertificateSpec, getProfile, PROFILE_IDS, type ProfileId } from '../../src/policy/profiles.js';
import { DEFAULT_PKI_SETTINGS } from '../../src/policy/settings.js';
import type { KeyAlgorithm } from '../../src/signing/types.js';
import { derSequence, encodeDer } from '../../src/x509/asn1.js';
import { assembleCertificate, buildTbsCertificate, certificateTime, type TbsCertificateInput } from '../../src/x509/certificate.js';
import { parseCsr, parseCsrAsync } from '../../src/x509/csr.js';
import { checkDer, DerReader } from '../../src/x509/der-reader.js';
import { integer, oid, time, tlv } from '../../src/x509/der-writer.js';
import { encodeExtensions } from '../../src/x509/extensions-der.js';
import { buildExtensions } from '../../src/x509/extensions.js';
import { inspectCertificate } from '../../src/x509/inspect.js';
import { decodeKeyUsage, encodeKeyUsage, keyUsageDer } from '../../src/x509/key-usage.js';
import { findLintFailures, lintTbs } from '../../src/x509/lint.js';
import { decodeName, encodeName, encodeNameReference } from '../../src/x509/names.js';
import { decodePemOrDer } from '../../src/x509/pem.js';
import { describePublicKey, publicKeyJwk, signatureAlgorithmFor } from '../../src/x509/public-key.js';
import { encodeQcStatements, qcStatementsDer } from '../../src/x509/qc-statements.js';
import { buildTbsCertificateReference } from '../../src/x509/tbs-reference.js';
import { parseCertificate, parseTbs } from '../../src/x509/tbs.js';
import { outcome } from '../helpers/outcome.js';

// ---- helpers -------------------------------------------------------------------------------------

const hex = (bytes: Uint8Array | ArrayBuffer): string => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));


function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

const keys = {
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  rsa2048: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

/**
 * A PKCS#10 request signed by `privateKey`, over an SPKI given as bytes (so tests can bend it);
 * with `berLength`, the CertificationRequestInfo header uses a needlessly long length (BER).
 */
function csrOver(spki: Uint8Array, privateKey: KeyObject, rsa = false, berLength = false): Uint8Array {
  const content = Buffer.concat([fromHex('020100'), encodeName([{ type: 'CN', value: 'Əli Həsənov' }]), spki, fromHex('a000')]);
  const info = berLength
    ? new Uint8Array(Buffer.concat([Uint8Array.of(0x30, 0x83, 0, content.length >> 8, content.length & 0xff), content]))
    : tlv(0x30, content);
  const signature = new Uint8Array(sign('sha256', info, { key: privateKey, dsaEncoding: 'der' }));
  const algorithm = rsa ? fromHex('300d06092a864886f70d01010b0500') : fromHex('300a06082a8648ce3d040302');
  return derSequence(info, algorithm, tlv(0x03, Uint8Array.of(0), signature));
}

// ---- the DER reader ------------------------------------------------------------------------------

describe('der-reader', () => {
  const read = (text: string) => outcome(() => checkDer(fromHex(text), 'malformedCsr', 'test'));
  const malformed = { kind: 'malformed', code: 'malformedCsr' };

  it('reads definite lengths in short and minimal long form', () => {
    expect(read('3000')).toEqual({ ok: true });
    expect(read(`0481 80 ${'00'.repeat(128)}`)).toEqual({ ok: true });
    expect(read(`0482 0100 ${'00'.repeat(256)}`)).toEqual({ ok: true });
    expect(read('3006 020101 0101ff')).toEqual({ ok: true });
  });

  it.each([
    ['indefinite length', '3080 0000'],
    ['long form for a short length', '30 8100'],
    ['a leading zero length octet', `0482 0080 ${'00'.repeat(128)}`],
    ['five length octets', '0485 0000000001 00'],
    ['a truncated element', '3005 020101'],
    ['a length past the end', '30'],
    ['trailing bytes', '3000 00'],
    ['end-of-contents octets', '0000'],
    ['a primitive SEQUENCE', '1000'],
    ['a constructed INTEGER', '2203 020101'],
    ['a constructed OCTET STRING (BER)', '2403 040100'],
    ['a high tag number below 31', '1f0100'],
    ['a non-minimal high tag number', '9f80 1f00'],
    ['an empty OBJECT IDENTIFIER', '0600'],
    ['an OBJECT IDENTIFIER ending mid sub-identifier', '0602 2a86'],
    ['a non-minimal OBJECT IDENTIFIER sub-identifier', '0603 2a8001'],
    ['a BIT STRING with 8 unused bits', '0302 08ff'],
    ['an empty BIT STRING with unused bits', '0301 01'],
    ['an odd BMPString', '1e03 004100'],
    ['the reserved universal tag 15', '0f00'],
    ['a universal high tag number', '1f1f 00'],
    ['a UTCTime without seconds', hex(tlv(0x17, Buffer.from('2603011000Z')))],
    ['a GeneralizedTime fraction with a trailing zero', hex(tlv(0x18, Buffer.from('20260301100000.50Z')))],
    ['a RELATIVE-OID ending mid sub-identifier', '0d01 81'],
    ['nesting deeper than 32', `${Array.from({ length: 40 }, (_, i) => `30${(2 * (39 - i)).toString(16).padStart(2, '0')}`).join('')}`],
  ])('rejects %s', (_name, text) => {
    expect(read(text)).toEqual(malformed);
  });

  it('accepts high tag numbers ≥ 31 in minimal form, and nesting up to the limit', () => {
    expect(read('9f1f 00')).toEqual({ ok: true });
    expect(read('bf8100 00')).toEqual({ ok: true });
    expect(read(hex(tlv(0x18, Buffer.from('20260301100000.5Z'))))).toEqual({ ok: true });
    expect(read(hex(tlv(0x17, Buffer.from('260301100000Z'))))).toEqual({ ok: true });
    const nested = Array.from({ length: 20 }, (_, i) => `30${(2 * (19 - i)).toString(16).padStart(2, '0')}`).join('');
    expect(read(nested)).toEqual({ ok: true });
  });

  it('decodes OBJECT IDENTIFIERs exactly as asn1js does, big arcs included', () => {
    const oids = ['2.5.4.3', '1.2.840.113549.1.1.11', '0.4.0.194121.1.1', '2.999.3', '1.39.4294967296', '2.25.329800735698586629295641978511506172918', '0.0'];
    for (const dotted of oids) {
      const der = new Uint8Array(new asn1js.ObjectIdentifier({ value: dotted }).toBER());
      const reader = new DerReader(der, 'x', 'OID');
      expect(reader.oid(reader.root())).toBe(dotted);
      expect(hex(oid(dotted))).toBe(hex(der));
    }
  });

  it('finds the same elements as asn1js in a certificate', () => {
    const tbs = buildTbsCertificate(tbsInput(specOf('signature', 'ec', false), 'ec'));
    const reader = new DerReader(tbs, 'x', 'TBS');
    const fields = reader.children(reader.root(true));
    const reference = (asn1js.fromBER(tbs).result as asn1js.Sequence).valueBlock.value;
    expect(fields.map((f) => hex(reader.raw(f)))).toEqual(reference.map((e) => hex(e.valueBeforeDecodeView)));
  });
});

// ---- the DER writer ------------------------------------------------------------------------------

describe('der-writer', () => {
  it.each([0, 1, 127, 128, 255, 256, 65535, 65536])('writes the length %i as asn1js does', (length) => {
    const content = new Uint8Array(length).fill(7);
    expect(hex(tlv(0x04, content))).toBe(hex(new asn1js.OctetString({ valueHex: content }).toBER()));
  });

  it.each([0, 1, -1, 127, 128, -128, -129, 255, 256, 65535, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])(
    'writes the INTEGER %i as asn1js does',
    (value) => {
      expect(hex(integer(value))).toBe(hex(new asn1js.Integer({ value }).toBER()));
    },
  );

  it.each([
    '1950-01-01T00:00:00.000Z',
    '2026-03-01T10:00:00.999Z',
    '2049-12-31T23:59:59.999Z',
    '2050-01-01T00:00:00.000Z',
    '2061-07-15T12:34:56.000Z',
    '1949-12-31T23:59:59.000Z',
    '9999-12-31T23:59:59.000Z',
  ])('writes %s as pkijs Time does (UTCTime through 2049, GeneralizedTime after)', (iso) => {
    expect(hex(time(new Date(iso)))).toBe(hex(certificateTime(new Date(iso)).toSchema().toBER()));
  });

  it('refuses an invalid date instead of writing garbage', () => {
    expect(outcome(() => time(new Date(Number.NaN)))).toEqual({ kind: 'internal', code: 'invalidValidity' });
  });

  it('writes keyUsage and qcStatements as the asn1js encoders do', () => {
    const bitSets = [['digitalSignature'], ['nonRepudiation'], ['keyCertSign', 'cRLSign'], ['digitalSignature', 'keyEncipherment'], ['keyAgreement']] as const;
    for (const bits of bitSets) {
      expect(hex(keyUsageDer(bits))).toBe(hex(encodeKeyUsage(bits).toBER()));
      expect(decodeKeyUsage(keyUsageDer(bits))).toEqual([...bits]);
    }
    const qc = { compliance: true, sscd: true, type: 'eseal', pdsUrl: 'https://e-imza.az/pds', legislationCountry: 'AZ', semanticsId: 'legal' } as const;
    expect(hex(qcStatementsDer(qc))).toBe(hex(encodeQcStatements(qc).toBER()));
    const bare = { compliance: false, sscd: false, type: 'web' } as const;
    expect(hex(qcStatementsDer(bare))).toBe(hex(encodeQcStatements(bare).toBER()));
  });
});

// ---- names ---------------------------------------------------------------------------------------

describe('names', () => {
  const AZERBAIJANI: NameAttribute[] = [
    { type: 'C', value: 'AZ' },
    { type: 'O', value: 'Dövlət Vergi Xidməti' },
    { type: 'OU', value: 'Şəki filialı' },
    { type: 'organizationIdentifier', value: 'NTRAZ-1400057421' },
    { type: 'businessCategory', value: 'GOV' },
    { type: 'givenName', value: 'Şəhriyar' },
    { type: 'surname', value: 'Işıqlı-Güləliyeva' },
    { type: 'CN', value: 'ŞƏHRİYAR IŞIQLI-GÜLƏLİYEVA 😀' },
    { type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q' },
  ];

  it('encodes names byte for byte as the asn1js reference', () => {
    expect(hex(encodeName(AZERBAIJANI))).toBe(hex(encodeNameReference(AZERBAIJANI)));
    expect(hex(encodeName([]))).toBe(hex(encodeNameReference([])));
    expect(decodeName(encodeName(AZERBAIJANI)).map((a) => a.value)).toEqual(AZERBAIJANI.map((a) => a.value));
  });

  it.each([
    [{ type: 'serialNumber', value: 'PNOAZ-ƏLİ' }],
    [{ type: 'C', value: 'Az' }],
    [{ type: 'CN', value: 'X'.repeat(65) }],
    [{ type: 'O', value: '' }],
    [{ type: 'O', value: 'tab\there' }],
  ] as [NameAttribute][])('rejects %j with the same error as the reference', (attribute) => {
    const reference = outcome(() => encodeNameReference([attribute]));
    expect(reference).toEqual({ kind: 'malformed', code: 'invalidNameValue' });
    expect(outcome(() => encodeName([attribute]))).toEqual(reference);
  });

  it('refuses a lone surrogate as invalidNameValue (asn1js threw a TypeError)', () => {
    expect(outcome(() => encodeName([{ type: 'CN', value: 'a\ud800b' }]))).toEqual({ kind: 'malformed', code: 'invalidNameValue' });
  });

  it('decodes every string type as asn1js does, and other types as #hex', () => {
    const values: asn1js.AsnType[] = [
      new asn1js.Utf8String({ value: 'Gülər' }),
      new asn1js.PrintableString({ value: 'AZ 1' }),
      new asn1js.IA5String({ value: 'a@b.az' }),
      new asn1js.TeletexString({ value: 'caf\u00e9' }),
      new asn1js.VisibleString({ value: 'visible' }),
      new asn1js.BmpString({ value: 'Ələsgər' }),
      new asn1js.UniversalString({ value: 'Şuşa 😀' }),
      new asn1js.NumericString({ value: '12345' }),
      new asn1js.Integer({ value: 42 }),
      new asn1js.OctetString({ valueHex: fromHex('0102') }),
    ];
    const name = new asn1js.Sequence({
      value: values.map(
        (value) => new asn1js.Set({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '2.5.4.3' }), value] })] }),
      ),
    });
    const der = new Uint8Array(name.toBER());
    const reference = values.map((value) =>
      value instanceof asn1js.BaseStringBlock ? value.valueBlock.value : `#${hex(value.toBER())}`,
    );
    expect(decodeName(der).map((a) => a.value)).toEqual(reference);
    const invalidUtf8 = encodeName([{ type: 'CN', value: 'x' }]);
    invalidUtf8[invalidUtf8.length - 1] = 0xc3; // a lone lead byte
    expect(decodeName(invalidUtf8)[0]?.value).toBe('\u00c3');
  });
});

// ---- public keys ---------------------------------------------------------------------------------

describe('public keys', () => {
  it('describes keys as before and imports the same key through JWK', () => {
    const all = {
      p256: spkiOf(keys.p256.publicKey),
      p384: spkiOf(keys.p384.publicKey),
      rsa: spkiOf(keys.rsa2048.publicKey),
      rsa3: spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).publicKey),
      k1: spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey),
      ed: spkiOf(generateKeyPairSync('ed25519').publicKey),
    };
    expect(describePublicKey(all.p256)).toEqual({ kind: 'ec', curveOid: '1.2.840.10045.3.1.7', curve: 'P-256' });
    expect(describePublicKey(all.rsa3)).toEqual({ kind: 'rsa', bits: 1024, publicExponent: 3n });
    expect(describePublicKey(all.k1)).toEqual({ kind: 'ec', curveOid: '1.3.132.0.10' });
    expect(describePublicKey(all.ed)).toEqual({ kind: 'other', algorithmOid: '1.3.101.112' });
    for (const spki of [all.p256, all.p384, all.rsa, all.rsa3]) {
      const jwk = publicKeyJwk(spki);
      expect(jwk).toBeDefined();
      expect(hex(spkiOf(createPublicKey({ key: jwk!, format: 'jwk' })))).toBe(hex(spki));
    }
    expect(publicKeyJwk(all.k1)).toBeUndefined();
    expect(publicKeyJwk(all.ed)).toBeUndefined();
    const compressed = spkiOf(createPublicKey({ key: keys.p256.publicKey.export({ format: 'jwk' }), format: 'jwk' }));
    expect(publicKeyJwk(compressed)).toBeDefined(); // node exports uncompressed points
  });

  it('rejects malformed and BER-only keys as malformedPublicKey', () => {
    const spki = spkiOf(keys.p256.publicKey);
    const ber = new Uint8Array([0x30, 0x81, spki[1]!, ...spki.subarray(2)]);
    for (const bad of [new Uint8Array([0x30, 0]), spki.subarray(0, 40), ber, fromHex('3003020100')]) {
      expect(outcome(() => describePublicKey(bad))).toEqual({ kind: 'malformed', code: 'malformedPublicKey' });
    }
  });
});

// ---- CSRs ----------------------------------------------------------------------------------------

describe('parseCsrAsync (the issuance path: the signature checked on the thread pool)', () => {
  it('reads what parseCsr reads and refuses what it refuses, with the same codes', async () => {
    const good = csrOver(spkiOf(keys.p256.publicKey), keys.p256.privateKey);
    const rsa = csrOver(spkiOf(keys.rsa2048.publicKey), keys.rsa2048.privateKey, true);
    const forged = csrOver(spkiOf(keys.p256.publicKey), keys.p384.privateKey); // signed by another key
    for (const csr of [good, rsa]) {
      const [sync, async] = [parseCsr(csr), await parseCsrAsync(csr)];
      expect([hex(async.subjectPublicKeyInfo), async.subject, async.signatureAlgorithmOid]).toEqual([hex(sync.subjectPublicKeyInfo), sync.subject, sync.signatureAlgorithmOid]);
    }
    const expected = outcome(() => parseCsr(forged));
    expect(expected).toEqual({ kind: 'badCsr', code: 'csrSignatureInvalid' });
    await expect(parseCsrAsync(forged)).rejects.toMatchObject({ kind: 'badCsr', code: 'csrSignatureInvalid' });
    const truncated = good.subarray(0, good.length - 3);
    await expect(parseCsrAsync(truncated)).rejects.toMatchObject(outcome(() => parseCsr(truncated)));
  });
});

describe('parseCsr', () => {
  it('reads in-process CSRs (EC and RSA) like asn1js', () => {
    for (const [key, rsa] of [[keys.p256, false], [keys.p384, false], [keys.rsa2048, true]] as const) {
      const der = csrOver(spkiOf(key.publicKey), key.privateKey, rsa);
      const csr = parseCsr(der, checkKeyPolicy);
      const request = asn1js.fromBER(der).result as asn1js.Sequence;
      const info = request.valueBlock.value[0] as asn1js.Sequence;
      expect(hex(csr.subjectPublicKeyInfo)).toBe(hex(info.valueBlock.value[2]!.valueBeforeDecodeView));
      expect(csr.subject).toEqual([{ type: '2.5.4.3', shortName: 'CN', value: 'Əli Həsənov' }]);
      expect(csr.signatureAlgorithmOid).toBe(rsa ? '1.2.840.113549.1.1.11' : '1.2.840.10045.4.3.2');
      expect(csr.der).toBe(der);
    }
  });

  it('rejects a BER (non-minimal length) request as malformedCsr even when its signature verifies', () => {
    const der = csrOver(spkiOf(keys.p256.publicKey), keys.p256.privateKey, false, true);
    expect(asn1js.fromBER(der).offset).toBe(der.length); // asn1js reads it
    expect(outcome(() => parseCsr(der))).toEqual({ kind: 'malformed', code: 'malformedCsr' });
  });

  it('rejects an EC point that is not on the curve as csrSignatureInvalid (JWK and DER import agree)', () => {
    const spki = spkiOf(keys.p256.publicKey);
    spki[spki.length - 1]! ^= 0x01; // y + 1 is not on the curve
    expect(() => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })).toThrow();
    expect(() => createPublicKey({ key: publicKeyJwk(spki)!, format: 'jwk' })).toThrow();
    expect(outcome(() => parseCsr(csrOver(spki, keys.p256.privateKey)))).toEqual({ kind: 'badCsr', code: 'csrSignatureInvalid' });
  });

  it('falls back to the SPKI DER import, and OpenSSL decides, when an RSA INTEGER is not minimal', () => {
    const spki = spkiOf(keys.rsa2048.publicKey);
    const at = Buffer.from(spki).indexOf(Buffer.from('02820101', 'hex')); // the modulus INTEGER
    expect(at).toBeGreaterThan(0);
    const modulus = spki.subarray(at + 4, at + 4 + 0x101);
    const rsaKey = derSequence(tlv(0x02, Uint8Array.of(0), modulus), fromHex('0203010001'));
    const padded = derSequence(fromHex('300d06092a864886f70d0101010500'), tlv(0x03, Uint8Array.of(0), rsaKey));
    expect(publicKeyJwk(padded)).toBeUndefined();
    let openssl: { ok: true } | { kind: string; code: string } = { ok: true };
    try {
      createPublicKey({ key: Buffer.from(padded), format: 'der', type: 'spki' });
    } catch {
      openssl = { kind: 'badCsr', code: 'csrSignatureInvalid' };
    }
    expect(outcome(() => parseCsr(csrOver(padded, keys.rsa2048.privateKey, true)))).toEqual(openssl);
  });

  it('survives truncations, bit flips and random bytes: always a CaError, malformedCsr whenever the DER breaks', () => {
    const csrs = [
      csrOver(spkiOf(keys.p256.publicKey), keys.p256.privateKey),
      csrOver(spkiOf(keys.rsa2048.publicKey), keys.rsa2048.privateKey, true),
    ];
    const random = seeded(0x5eed);
    for (const csr of csrs) {
      const before = parseCsr(csr);
      const check = (mutated: Uint8Array) => {
        const result = outcome(() => parseCsr(mutated, checkKeyPolicy));
        if ('ok' in result) {
          // Only a change outside the signed bytes can pass (the signature's unused-bits octet,
          // the RSA NULL parameters; both ignored, as before): the same request comes out.
          const after = parseCsr(mutated);
          expect([hex(after.subjectPublicKeyInfo), after.subject]).toEqual([hex(before.subjectPublicKeyInfo), before.subject]);
        }
        if ('kind' in outcome(() => checkDer(mutated, 'malformedCsr', 'CSR'))) {
          expect(result).toEqual({ kind: 'malformed', code: 'malformedCsr' });
        } else {
          expect(asn1js.fromBER(mutated).offset).toBe(mutated.length); // strict DER ⊂ what asn1js reads
        }
      };
      for (let length = 0; length < csr.length; length++) {
        expect(outcome(() => parseCsr(csr.subarray(0, length)))).toEqual({ kind: 'malformed', code: 'malformedCsr' });
      }
      // Every octet gets one flipped bit (a seeded choice), so each tag, length and value is hit.
      for (let at = 0; at < csr.length; at++) {
        const mutated = csr.slice();
        mutated[at]! ^= 1 << random(8);
        check(mutated);
      }
      for (let round = 0; round < 600; round++) {
        const mutated = csr.slice();
        for (let changes = 1 + (round % 3); changes > 0; changes--) mutated[random(mutated.length)] = random(256);
        check(mutated);
      }
    }
  });
});

/** mulberry32: a small seeded PRNG, so a failing fuzz case is the same on every run. */
function seeded(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

// ---- TBS: byte-identical to pkijs for every profile -----------------------------------------------

const CITIZEN: Holder = { fin: '5ZX2K7Q', givenName: 'Şəhriyar', surname: 'Işıqlı-Güləliyeva', email: 'sehriyar@example.az' };
const REPRESENTATIVE: Holder = { ...CITIZEN, organization: 'Vergilər Nazirliyi', voen: '1400057421' };
const MEMBER: Holder = { memberName: 'Dövlət Vergi Xidməti', memberClass: 'GOV', memberCode: '1401555071', dnsName: 'ss1.vergi.gov.az' };

function specOf(profile: ProfileId, subjectKey: 'ec' | 'rsa', keyOnSecureDevice: boolean, representative = false): CertificateSpec {
  const issuingCa = getProfile(profile).issuingCa;
  const hierarchy = ['ocsp-signer', 'cmp-signer', 'issuing-ca', 'root-ca'].includes(profile);
  const holder = hierarchy ? {} : profile.startsWith('server') ? MEMBER : representative ? REPRESENTATIVE : CITIZEN;
  return buildCertificateSpec(profile, {
    holder,
    settings: DEFAULT_PKI_SETTINGS,
    caName: issuingCa === 'any' ? 'mobile' : issuingCa,
    subjectKey,
    keyOnSecureDevice,
    ...(profile === 'mobile-sign' ? { documentNumber: '42' } : {}),
    ...(hierarchy ? { commonName: 'e-imza Şəki CA' } : {}),
  });
}

const ISSUERS = {
  ec: { spki: spkiOf(keys.p384.publicKey), algorithm: { kind: 'ec', curve: 'P-384' } as KeyAlgorithm },
  rsa: { spki: spkiOf(keys.rsa2048.publicKey), algorithm: { kind: 'rsa', bits: 2048 } as KeyAlgorithm },
};
const ISSUER_NAME = encodeName([
  { type: 'C', value: 'AZ' },
  { type: 'O', value: 'Elektron Təhlükəsizlik Xidməti' },
  { type: 'CN', value: 'e-imza Şəki CA' },
]);
const NOW = new Date('2026-03-01T10:00:00.000Z');

function tbsInput(spec: CertificateSpec, subjectKey: 'ec' | 'rsa', issuer: 'ec' | 'rsa' = 'ec', notAfter = new Date('2029-03-01T10:00:00.000Z')): TbsCertificateInput {
  return {
    serial: randomSerial(),
    notBefore: NOW,
    notAfter,
    issuerName: ISSUER_NAME,
    issuerPublicKeySpki: ISSUERS[issuer].spki,
    subjectPublicKeySpki: spkiOf((subjectKey === 'ec' ? keys.p256 : keys.rsa2048).publicKey),
    spec,
    signatureAlgorithm: ISSUERS[issuer].algorithm,
  };
}

describe('buildTbsCertificate against the pkijs reference', () => {
  const cases = PROFILE_IDS.flatMap((profile) =>
    (['ec', 'rsa'] as const).flatMap((subjectKey) => [false, true].map((secure) => [profile, subjectKey, secure] as const)),
  );

  it.each(cases)('%s, %s subject key, keyOnSecureDevice %s: identical bytes, extensions and lint', (profile, subjectKey, secure) => {
    const spec = specOf(profile, subjectKey, secure, profile === 'authentication');
    for (const [issuer, notAfter] of [
      ['ec', new Date('2029-03-01T10:00:00.000Z')],
      ['rsa', new Date('2051-06-30T23:59:59.000Z')], // GeneralizedTime
    ] as const) {
      const input = tbsInput(spec, subjectKey, issuer, notAfter);
      const fast = buildTbsCertificate(input);
      expect(hex(fast)).toBe(hex(buildTbsCertificateReference(input)));
      const extensionInputs = { spec, subjectPublicKeySpki: input.subjectPublicKeySpki, issuerPublicKeySpki: input.issuerPublicKeySpki };
      expect(encodeExtensions(extensionInputs).map((e) => [e.oid, e.critical, hex(e.value)])).toEqual(
        buildExtensions(extensionInputs).map((e) => [e.extnID, e.critical, hex(e.extnValue.valueBlock.valueHexView)]),
      );
      expect(findLintFailures(fast, { issuerSpki: input.issuerPublicKeySpki, expectedSpec: spec, now: NOW })).toEqual([]);
    }
  });

  it('matches the reference for the spec shapes no profile has today', () => {
    const base = specOf('authentication', 'ec', false);
    const shapes: CertificateSpec[] = [
      { ...base, basicConstraints: { ca: false } },
      { ...base, keyUsage: ['keyCertSign'], basicConstraints: { ca: true, pathLength: 3 } },
      { ...base, subjectAltName: { dnsNames: ['a.az', 'b.az'], emails: ['x@a.az'], directoryName: [{ type: 'serialNumber', value: 'PNOAZ-5ZX2K7Q-7' }] } },
      { ...base, subjectAltName: {} },
      { ...base, authorityInfoAccess: { ocsp: 'http://ocsp.e-imza.az' } },
      { ...base, authorityInfoAccess: {} },
      { ...base, extendedKeyUsage: [], certificatePolicies: [] },
      { ...base, ocspNoCheck: true, qcStatements: { compliance: true, sscd: false, type: 'web' } },
    ];
    for (const spec of shapes) {
      const input = tbsInput(spec, 'ec');
      expect(hex(buildTbsCertificate(input))).toBe(hex(buildTbsCertificateReference(input)));
    }
  });

  it('follows a spec changed in place (the memo is keyed by content, not identity)', () => {
    const spec = specOf('encryption', 'ec', false);
    const input = tbsInput(spec, 'ec');
    expect(hex(buildTbsCertificate(input))).toBe(hex(buildTbsCertificateReference(input)));
    spec.extendedKeyUsage!.push('1.3.6.1.5.5.7.3.2');
    spec.certificatePolicies!.reverse();
    spec.qcStatements = { compliance: true, sscd: true, type: 'esign' };
    const changed = buildTbsCertificate(input);
    expect(hex(changed)).toBe(hex(buildTbsCertificateReference(input)));
    expect(findLintFailures(changed, { issuerSpki: input.issuerPublicKeySpki, expectedSpec: spec, now: NOW })).toEqual([]);
  });

  it('fails with the reference errors, in the reference order, memo cold or warm', () => {
    const good = specOf('signature', 'ec', false);
    const cases: [string, Partial<CertificateSpec> | ((input: TbsCertificateInput) => TbsCertificateInput)][] = [
      ['a bad subject over an empty keyUsage', { subject: [{ type: 'C', value: 'az' }], keyUsage: [] }],
      ['an empty keyUsage over a bad SAN', { keyUsage: [], subjectAltName: { emails: ['é@x.az'] } }],
      ['a bad SAN over a bad PDS URL', { subjectAltName: { dnsNames: ['bad name'] }, qcStatements: { ...good.qcStatements!, pdsUrl: 'ftp://x' } }],
      ['a bad AIA URL', { authorityInfoAccess: { ocsp: 'http://ocsp .az' } }],
      ['a bad CDP URL', { crlDistributionPoint: 'http://crl\u00e9.az' }],
      ['a bad legislation country', { qcStatements: { ...good.qcStatements!, legislationCountry: 'aze' } }],
      ['a bad directoryName', { subjectAltName: { directoryName: [{ type: 'C', value: 'AZE' }] } }],
      ['a truncated subject key', (input) => ({ ...input, subjectPublicKeySpki: input.subjectPublicKeySpki.subarray(0, 20) })],
      ['a truncated issuer key', (input) => ({ ...input, issuerPublicKeySpki: input.issuerPublicKeySpki.subarray(0, 20) })],
      ['a truncated issuer name', (input) => ({ ...input, issuerName: input.issuerName.subarray(0, 10) })],
      ['a truncated issuer name over a bad subject', (input) => ({ ...input, issuerName: input.issuerName.subarray(0, 10), spec: { ...good, subject: [] as NameAttribute[], keyUsage: [] } })],
    ];
    for (const warm of [false, true]) {
      for (const [name, change] of cases) {
        let input = tbsInput(good, 'ec');
        input = typeof change === 'function' ? change(input) : { ...input, spec: { ...good, ...change } };
        if (warm) outcome(() => buildTbsCertificate({ ...tbsInput(good, 'ec'), spec: { ...input.spec, subject: good.subject, keyUsage: good.keyUsage, subjectAltName: undefined } }));
        const reference = outcome(() => buildTbsCertificateReference(input));
        expect([name, 'kind' in reference]).toEqual([name, true]);
        expect([name, outcome(() => buildTbsCertificate(input))]).toEqual([name, reference]);
      }
    }
  });

  it('reports DER that is not a Name or a key as malformed, where pkijs threw plain Errors', () => {
    const input = tbsInput(specOf('authentication', 'ec', false), 'ec');
    const notAName = { ...input, issuerName: fromHex('3003020100') };
    const notAKey = { ...input, subjectPublicKeySpki: fromHex('3003020100') };
    expect(() => buildTbsCertificateReference(notAName)).toThrow(Error);
    expect(outcome(() => buildTbsCertificate(notAName))).toEqual({ kind: 'malformed', code: 'malformedName' });
    expect(() => buildTbsCertificateReference(notAKey)).toThrow(Error);
    expect(outcome(() => buildTbsCertificate(notAKey))).toEqual({ kind: 'malformed', code: 'malformedPublicKey' });
  });

  it('assembles the certificate as the asn1js path did', () => {
    const tbs = buildTbsCertificate(tbsInput(specOf('authentication', 'rsa', true), 'rsa', 'rsa'));
    const signature = randomBytes(256);
    for (const algorithm of [ISSUERS.rsa.algorithm, ISSUERS.ec.algorithm, { kind: 'ec', curve: 'P-256' } as KeyAlgorithm]) {
      const reference = derSequence(tbs, encodeDer(signatureAlgorithmFor(algorithm).toSchema()), encodeDer(new asn1js.BitString({ valueHex: signature })));
      expect(hex(assembleCertificate(tbs, algorithm, signature))).toBe(hex(reference));
    }
    expect(outcome(() => assembleCertificate(tbs.subarray(0, 50), ISSUERS.rsa.algorithm, signature))).toEqual({ kind: 'malformed', code: 'malformedCertificate' });
  });
});

// ---- lint ----------------------------------------------------------------------------------------

describe('lintTbs on the strict reader', () => {
  const spec = specOf('signature', 'ec', true);
  const input = tbsInput(spec, 'ec');
  const tbs = buildTbsCertificate(input);
  const options = { issuerSpki: input.issuerPublicKeySpki, expectedSpec: spec, now: NOW };

  it('reads the TBS as the asn1js reader (inspect) does', () => {
    const der = assembleCertificate(tbs, ISSUERS.ec.algorithm, randomBytes(70));
    const lenient = parseCertificate(der).tbs;
    const strict = parseTbs(tbs);
    const comparable = (t: typeof strict) => ({
      ...t,
      serialOctets: hex(t.serialOctets),
      signatureAlgorithm: hex(t.signatureAlgorithm),
      issuer: hex(t.issuer),
      subject: hex(t.subject),
      subjectPublicKeySpki: hex(t.subjectPublicKeySpki),
      extensions: t.extensions.map((e) => ({ ...e, value: hex(e.value) })),
    });
    expect(comparable(strict)).toEqual(comparable(lenient));
    expect(inspectCertificate(der)).toMatchObject({ keyUsage: ['nonRepudiation'], policies: spec.certificatePolicies });
  });

  it('passes the built TBS and names failing checks as before', () => {
    expect(() => lintTbs(tbs, options)).not.toThrow();
    const other = buildTbsCertificate({ ...input, spec: { ...spec, keyUsage: ['digitalSignature'] } });
    expect(findLintFailures(other, options).map((f) => f.check)).toEqual(['extensionsMatchSpec']);
    const wrongIssuer = findLintFailures(tbs, { ...options, issuerSpki: ISSUERS.rsa.spki }).map((f) => f.check);
    expect(wrongIssuer).toEqual(['authorityKeyIdMatchesIssuer', 'signatureAlgorithmMatchesIssuer', 'extensionsMatchSpec']);
  });

  it('treats BER and a DEFAULT FALSE encoded critical flag as unparseable', () => {
    const ber = new Uint8Array([0x30, 0x83, 0, (tbs.length - 4) >> 8, (tbs.length - 4) & 0xff, ...tbs.subarray(4)]);
    expect(tbs[1]).toBe(0x82);
    expect(findLintFailures(ber, options).map((f) => f.check)).toEqual(['parseable']);
    const reader = new DerReader(tbs, 'x', 'TBS');
    const fields = reader.children(reader.root());
    const rebuild = (explicitFalseAt: number) =>
      tlv(
        0x30,
        ...fields.slice(0, 7).map((field) => reader.raw(field)),
        tlv(
          0xa3,
          tlv(
            0x30,
            ...parseTbs(tbs).extensions.map((e, i) =>
              tlv(0x30, oid(e.oid), ...(e.critical ? [fromHex('0101ff')] : i === explicitFalseAt ? [fromHex('010100')] : []), tlv(0x04, e.value)),
            ),
          ),
        ),
      );
    expect(hex(rebuild(-1))).toBe(hex(tbs));
    const nonCritical = parseTbs(tbs).extensions.findIndex((e) => !e.critical);
    expect(findLintFailures(rebuild(nonCritical), options).map((f) => f.check)).toEqual(['parseable']);
  });

  it('never throws on a mutated TBS, and catches every flip in version, signature and extensions', () => {
    // Lint has no expected serial, issuer, validity, subject key, nor subject string types (it
    // compares decoded values): flips there may pass, as they did with asn1js.
    const reader = new DerReader(tbs, 'x', 'TBS');
    const [version, , signature, , , , , extensions] = reader.children(reader.root());
    const guarded = [[0, version!.end], [signature!.start, signature!.end], [extensions!.start, extensions!.end]] as const;
    const random = seeded(0x7b5);
    for (let round = 0; round < 600; round++) {
      const mutated = tbs.slice();
      const at = random(mutated.length);
      mutated[at]! ^= 1 << (round % 8);
      const failures = findLintFailures(mutated, options);
      if (failures.length === 0) expect(guarded.some(([start, end]) => at >= start && at < end)).toBe(false);
      expect(outcome(() => lintTbs(mutated, options))).toEqual(failures.length ? { kind: 'internal', code: 'preSigningLintFailed' } : { ok: true });
    }
    expect(findLintFailures(tbs.subarray(0, 100), options).map((f) => f.check)).toEqual(['parseable']);
  });
});

// ---- OpenSSL as the independent reader -------------------------------------------------------------

describe('OpenSSL reads what the fast path writes', () => {
  it('parses a fast-built certificate of every profile and prints the subject in UTF-8', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eimza-fast-'));
    try {
      const issuer = keys.p384;
      for (const profile of PROFILE_IDS) {
        const spec = specOf(profile, 'ec', true);
        const tbs = buildTbsCertificate({ ...tbsInput(spec, 'ec'), serial: parseSerial('7a'.repeat(16)) });
        const der = assembleCertificate(tbs, ISSUERS.ec.algorithm, new Uint8Array(sign('sha384', tbs, { key: issuer.privateKey, dsaEncoding: 'der' })));
        const file = path.join(dir, `${profile}.der`);
        writeFileSync(file, der);
        const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus'], { encoding: 'utf8' });
        expect(text).toContain('Issuer: C=AZ,O=Elektron Təhlükəsizlik Xidməti,CN=e-imza Şəki CA');
        expect(text).toContain(`Serial Number:\n            ${'7a:'.repeat(15)}7a`);
        expect(hex(decodePemOrDer(readFileSync(file)))).toBe(hex(der));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
