import { CaError } from '../errors.js';

/**
 * A strict DER reader (X.690 §8, §10) for the issuance hot path: a TLV walk over a Uint8Array
 * with offsets, no copies and no object trees. Strict where BER is loose: definite lengths only
 * and in the fewest octets (§10.1), minimal tag numbers (§8.1.2.4), SEQUENCE/SET constructed and
 * every other universal type primitive (§10.2), no end-of-contents octets, no trailing bytes.
 * `checkTree` also checks the contents asn1js checks while parsing (OBJECT IDENTIFIER, BIT
 * STRING, BMP/UniversalString lengths, time syntax) and refuses the universal tags asn1js
 * refuses, so anything it accepts asn1js reads too (the fuzz tests hold it to that). Other
 * contents are interpreted only where a caller asks (oid, bitString, …). Every failure is a
 * `malformed` CaError with the caller's code.
 *
 * asn1js stays the reference decoder (tests cross-check the two); it costs ~100x more per call.
 */

/** One element: identifier octets at `start`, contents in [contentStart, end). */
export interface DerElement {
  /** The first identifier octet (class, constructed bit, tag number < 31), e.g. 0x30 SEQUENCE. */
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** First identifier octets of the types x509/ reads and writes (X.680 §8.6, X.690 §8.1.2). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tags: [n] IMPLICIT primitive and [n] constructed/EXPLICIT. */
export const contextPrimitive = (n: number): number => 0x80 | n;
export const contextConstructed = (n: number): number => 0xa0 | n;

const CONSTRUCTED = 0x20;
/** X.690 §11.8: YYMMDDHHMMSSZ; §11.7: YYYYMMDDHHMMSS, an optional fraction without trailing zeros, Z. */
const DER_UTC_TIME = /^[0-9]{12}Z$/;
const DER_GENERALIZED_TIME = /^[0-9]{14}(\.[0-9]*[1-9])?Z$/;
/** Deeper than anything in a certificate or CSR; bounds the walk of hostile input. */
const MAX_DEPTH = 32;
/** Four length octets (4 GiB) is far beyond any certificate; more is refused before reading. */
const MAX_LENGTH_OCTETS = 4;

export class DerReader {
  constructor(
    readonly bytes: Uint8Array,
    /** CaError code of every failure, e.g. `malformedCsr`. */
    private readonly code: string,
    /** What the bytes are, for messages: "CSR", "TBSCertificate", … */
    private readonly what: string,
  ) {}

  fail(detail: string): never {
    throw new CaError('malformed', `${this.what} is not valid DER: ${detail}`, { code: this.code });
  }

  /** The element starting at `offset`, which must end by `limit`. */
  elementAt(offset: number, limit: number): DerElement {
    const bytes = this.bytes;
    if (offset >= limit) this.fail(`element expected at offset ${offset}`);
    const tag = bytes[offset]!;
    let i = offset + 1;
    if ((tag & 0x1f) === 0x1f) i = this.skipHighTagNumber(i, limit);
    else if (tag === 0) this.fail(`end-of-contents octets at offset ${offset}`);
    if (i >= limit) this.fail(`length octets missing at offset ${i}`);
    const first = bytes[i++]!;
    let length = first;
    if (first & 0x80) {
      const count = first & 0x7f;
      if (count === 0) this.fail(`indefinite length at offset ${i - 1}`);
      if (count > MAX_LENGTH_OCTETS || i + count > limit) this.fail(`length octets at offset ${i - 1} overrun the input`);
      if (bytes[i] === 0) this.fail(`length at offset ${i - 1} is not minimally encoded`);
      length = 0;
      for (let k = 0; k < count; k++) length = length * 256 + bytes[i++]!;
      if (length < 0x80) this.fail(`length at offset ${i - count - 1} uses the long form for ${length}`);
    }
    const end = i + length;
    if (end > limit) this.fail(`element at offset ${offset} is truncated (${length} octets announced, ${limit - i} left)`);
    if ((tag & 0xc0) === 0) this.checkUniversalForm(tag, offset);
    return { tag, start: offset, contentStart: i, end };
  }

  /** X.690 §8.1.2.4: high tag numbers, base 128, no leading 0x80, and only for numbers ≥ 31. */
  private skipHighTagNumber(i: number, limit: number): number {
    let number = 0;
    for (let k = 0; ; k++) {
      if (i >= limit || k === 4) this.fail(`tag number at offset ${i} is too long or truncated`);
      const octet = this.bytes[i++]!;
      if (k === 0 && octet === 0x80) this.fail(`tag number at offset ${i - 1} is not minimally encoded`);
      number = number * 128 + (octet & 0x7f);
      if (!(octet & 0x80)) break;
    }
    if (number < 31) this.fail(`tag number ${number} uses the high-tag-number form`);
    return i;
  }

  /**
   * X.690 §10.2 and §8.9/§8.11: SEQUENCE and SET constructed, the other universal types primitive.
   * Universal 15 and the high universal numbers (X.680 §8.6: reserved, or types no certificate
   * uses) are refused, as asn1js refuses them.
   */
  private checkUniversalForm(tag: number, offset: number): void {
    const number = tag & 0x1f;
    if (number === 15 || number === 0x1f) this.fail(`universal tag ${number === 15 ? 15 : '≥ 31'} at offset ${offset}`);
    const constructed = (tag & CONSTRUCTED) !== 0;
    const mustBeConstructed = number === 16 || number === 17 || number === 8 || number === 11;
    if (constructed !== mustBeConstructed) {
      this.fail(`universal tag ${number} at offset ${offset} must be ${mustBeConstructed ? 'constructed' : 'primitive'}`);
    }
  }

  /** The single element filling all of the bytes; with `deep`, every nested element is checked too. */
  root(deep = false): DerElement {
    const element = this.elementAt(0, this.bytes.length);
    if (element.end !== this.bytes.length) this.fail(`${this.bytes.length - element.end} trailing bytes`);
    if (deep) this.checkTree(element);
    return element;
  }

  /**
   * Walks every element below `element` (iteratively, depth-bounded), checking the contents of
   * the types whose contents are themselves structured (OID, BIT STRING, BMP/UniversalString),
   * so nothing asn1js refuses anywhere in the tree gets through.
   */
  checkTree(element: DerElement): void {
    this.checkContents(element);
    const stack: { end: number; next: number }[] = [];
    if (element.tag & CONSTRUCTED) stack.push({ end: element.end, next: element.contentStart });
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next === top.end) {
        stack.pop();
        continue;
      }
      const child = this.elementAt(top.next, top.end);
      top.next = child.end;
      this.checkContents(child);
      if (child.tag & CONSTRUCTED) {
        if (stack.length >= MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
        stack.push({ end: child.end, next: child.contentStart });
      }
    }
  }

  private checkContents(element: DerElement): void {
    const length = element.end - element.contentStart;
    switch (element.tag) {
      case TAG.oid:
      case 0x0d: // RELATIVE-OID: the same sub-identifiers (§8.20)
        this.checkSubIdentifiers(element);
        break;
      case TAG.bitString:
        this.bitString(element);
        break;
      case 0x1e: // BMPString: UCS-2
        if (length % 2 !== 0) this.fail('BMPString length is not a multiple of 2');
        break;
      case 0x1c: // UniversalString: UCS-4
        if (length % 4 !== 0) this.fail('UniversalString length is not a multiple of 4');
        break;
      case TAG.utcTime:
      case TAG.generalizedTime:
        if (!(element.tag === TAG.utcTime ? DER_UTC_TIME : DER_GENERALIZED_TIME).test(this.text(element))) {
          this.fail(`time at offset ${element.start} is not in its DER form (X.690 §11.7, §11.8)`);
        }
        break;
    }
  }

  /** The elements inside a constructed element, in order. */
  children(element: DerElement): DerElement[] {
    if (!(element.tag & CONSTRUCTED)) this.fail(`element at offset ${element.start} is not constructed`);
    const result: DerElement[] = [];
    for (let offset = element.contentStart; offset < element.end; ) {
      const child = this.elementAt(offset, element.end);
      result.push(child);
      offset = child.end;
    }
    return result;
  }

  /** `element` when it has `tag`, else a failure naming `what`. */
  expect(element: DerElement | undefined, tag: number, what: string): DerElement {
    if (element?.tag !== tag) this.fail(`${what} expected (tag 0x${tag.toString(16)})`);
    return element;
  }

  /** The contents octets as text, one character per octet. */
  text(element: DerElement): string {
    const content = this.content(element);
    return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('latin1');
  }

  /** The contents octets, as a view (no copy). */
  content(element: DerElement): Uint8Array {
    return this.bytes.subarray(element.contentStart, element.end);
  }

  /** The whole TLV, as a view (no copy). */
  raw(element: DerElement): Uint8Array {
    return this.bytes.subarray(element.start, element.end);
  }

  /** The whole TLV as a fresh Uint8Array (for values handed out of x509/). */
  copy(element: DerElement): Uint8Array {
    return new Uint8Array(this.raw(element));
  }

  /** X.690 §8.19.2: at least one sub-identifier, each minimal (no leading 0x80), the last complete. */
  private checkSubIdentifiers(element: DerElement): void {
    const bytes = this.bytes;
    if (element.contentStart === element.end) this.fail('empty OBJECT IDENTIFIER');
    if (bytes[element.end - 1]! & 0x80) this.fail('OBJECT IDENTIFIER ends inside a sub-identifier');
    for (let i = element.contentStart, fresh = true; i < element.end; i++) {
      if (fresh && bytes[i] === 0x80) this.fail(`OBJECT IDENTIFIER sub-identifier at offset ${i} is not minimal`);
      fresh = !(bytes[i]! & 0x80);
    }
  }

  /** OBJECT IDENTIFIER in dotted form (X.690 §8.19): minimal sub-identifiers, none truncated. */
  oid(element: DerElement): string {
    const bytes = this.bytes;
    this.checkSubIdentifiers(element);
    const arcs: string[] = [];
    let value = 0;
    let big: bigint | undefined;
    for (let i = element.contentStart; i < element.end; i++) {
      const octet = bytes[i]!;
      if (big === undefined && value >= 2 ** 45) big = BigInt(value);
      if (big === undefined) value = value * 128 + (octet & 0x7f);
      else big = big * 128n + BigInt(octet & 0x7f);
      if (!(octet & 0x80)) {
        arcs.push(arcs.length === 0 ? firstArcs(big ?? value) : String(big ?? value));
        value = 0;
        big = undefined;
      }
    }
    return arcs.join('.');
  }

  /** A small INTEGER (version fields), two's complement; longer than 6 octets is refused. */
  smallInteger(element: DerElement): number {
    const length = element.end - element.contentStart;
    if (length === 0 || length > 6) this.fail(`INTEGER of ${length} octets where a small number is expected`);
    let value = this.bytes[element.contentStart]! & 0x80 ? -1 : 0;
    for (let i = element.contentStart; i < element.end; i++) value = value * 256 + this.bytes[i]!;
    return value;
  }

  /** BIT STRING (X.690 §8.6): the unused-bits count (0–7; 0 when empty) and the bits as a view. */
  bitString(element: DerElement): { unusedBits: number; bits: Uint8Array } {
    if (element.contentStart === element.end) this.fail('BIT STRING without the unused-bits octet');
    const unusedBits = this.bytes[element.contentStart]!;
    if (unusedBits > 7) this.fail(`BIT STRING with ${unusedBits} unused bits`);
    if (unusedBits !== 0 && element.end - element.contentStart === 1) this.fail('empty BIT STRING with unused bits');
    return { unusedBits, bits: this.bytes.subarray(element.contentStart + 1, element.end) };
  }

  /** BOOLEAN (X.690 §11.1): one octet, 0x00 or 0xFF. */
  boolean(element: DerElement): boolean {
    const octet = this.bytes[element.contentStart];
    if (element.end - element.contentStart !== 1 || (octet !== 0x00 && octet !== 0xff)) this.fail('BOOLEAN is not 0x00 or 0xFF');
    return octet === 0xff;
  }
}

/** X.690 §8.19.4: the first sub-identifier holds the first two arcs. */
function firstArcs(value: number | bigint): string {
  if (value < 40) return `0.${value}`;
  if (value < 80) return `1.${Number(value) - 40}`;
  return typeof value === 'bigint' ? `2.${value - 80n}` : `2.${value - 80}`;
}

/** Strict DER check of a whole buffer: one element, the full tree valid. Throws like DerReader.fail. */
export function checkDer(bytes: Uint8Array, code: string, what: string): void {
  new DerReader(bytes, code, what).root(true);
}
