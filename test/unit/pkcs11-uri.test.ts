import { describe, expect, test } from '@jest/globals';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../hsm/pkcs11-uri.js';
import { isCaError } from '../../src/errors.js';

function parseError(text: string): { kind: string; code: string; message: string } {
  try {
    parsePkcs11Uri(text);
  } catch (error) {
    if (isCaError(error)) return { kind: error.kind, code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('parsePkcs11Uri', () => {
  test('parses a URI in the style of the RFC 7512 §3 examples', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;' +
        'model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=',
    );
    expect(uri.token).toBe('The Software PKCS#11 Softtoken');
    expect(uri.manufacturer).toBe('Snake Oil, Inc.');
    expect(uri.model).toBe('1.0');
    expect(uri.object).toBe('my-certificate');
    expect(uri.type).toBe('cert');
    expect(Buffer.from(uri.id!).toString('hex')).toBe('69953e5cf4bdec91');
    expect(uri.serial).toBe('');
  });

  test('decodes UTF-8 and reserved characters in text attributes', () => {
    const uri = parsePkcs11Uri('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=a%3Bb%25c');
    expect(uri.token).toBe('Name with a small A with acute: á');
    expect(uri.object).toBe('a;b%c');
  });

  test('accepts an unencoded id and a scheme in any case', () => {
    expect(Buffer.from(parsePkcs11Uri('PKCS11:id=AB').id!).toString()).toBe('AB');
  });

  test('separates query attributes, including vendor ones', () => {
    const uri = parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-name=mypkcs11&x-vendor=a/b|c');
    expect(uri.object).toBe('my-sign-key');
    expect(uri.queryAttributes.get('module-name')).toBe('mypkcs11');
    expect(uri.queryAttributes.get('x-vendor')).toBe('a/b|c');
  });

  test('keeps slot, library and vendor path attributes apart', () => {
    const uri = parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot;library-version=1.23;x-acme=1');
    expect(Object.fromEntries(uri.otherPathAttributes)).toEqual({
      'slot-description': 'Sun Metaslot',
      'library-version': '1.23',
      'x-acme': '1',
    });
  });

  test('parses the empty URI', () => {
    const uri = parsePkcs11Uri('pkcs11:');
    expect(uri.token).toBeUndefined();
    expect(uri.otherPathAttributes.size + uri.queryAttributes.size).toBe(0);
  });

  test.each([
    ['another scheme', 'file:/etc/key'],
    ['a duplicated attribute', 'pkcs11:object=a;object=b'],
    ['an attribute without "="', 'pkcs11:object'],
    ['an empty attribute name', 'pkcs11:=x'],
    ['an unknown attribute', 'pkcs11:colour=blue'],
    ['an unknown object type', 'pkcs11:type=everything'],
    ['a broken percent escape', 'pkcs11:id=%G1'],
    ['a truncated percent escape', 'pkcs11:id=%A'],
    ['an unencoded space', 'pkcs11:object=my key'],
    ['an unencoded slash in the path', 'pkcs11:object=a/b'],
    ['invalid UTF-8 in a text attribute', 'pkcs11:token=%FF'],
  ])('rejects %s as malformed', (_name, text) => {
    const error = parseError(text);
    expect(error.kind).toBe('malformed');
    expect(error.code).toBe('pkcs11UriMalformed');
  });

  test('never repeats attribute values in errors (a query may hold a pin-value)', () => {
    expect(parseError('pkcs11:object=k?pin-value=s3cret-pin&pin-value=s3cret-pin').message).not.toContain('s3cret');
    expect(parseError('pkcs11:object=k?s3cret-pin').message).not.toContain('s3cret');
  });
});

describe('formatPkcs11Uri', () => {
  test('writes token, object, id and type with every id byte percent-encoded in uppercase hex', () => {
    const uri = formatPkcs11Uri({
      token: 'e-imza CA',
      object: 'root-2025',
      id: Uint8Array.from([0xab, 0xcd, 0x01]),
      type: 'private',
    });
    expect(uri).toBe('pkcs11:token=e-imza%20CA;object=root-2025;id=%AB%CD%01;type=private');
  });

  test('round-trips labels with reserved and non-ASCII characters', () => {
    const attributes = { token: 'CA;1?2/3%4 é', object: 'ключ=5&6', id: Uint8Array.from({ length: 256 }, (_, i) => i) };
    const parsed = parsePkcs11Uri(formatPkcs11Uri({ ...attributes, type: 'private' }));
    expect(parsed.token).toBe(attributes.token);
    expect(parsed.object).toBe(attributes.object);
    expect(Buffer.from(parsed.id!).equals(Buffer.from(attributes.id))).toBe(true);
    expect(parsed.type).toBe('private');
  });
});
