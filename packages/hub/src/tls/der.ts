/**
 * Just enough ASN.1 DER (ITU-T X.690) to write an X.509 certificate: definite-length TLV
 * encoding of the handful of universal types a certificate uses. Writing certificates needs no
 * parser: Node's `X509Certificate` reads them back.
 */

/** One encoded DER element (tag, length and contents). */
export type Der = Buffer;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with the given tag byte and contents. */
export function tlv(tag: number, contents: Uint8Array): Der {
  return Buffer.concat([Buffer.from([tag]), encodeLength(contents.length), contents]);
}

/** SEQUENCE of the given elements. */
export function sequence(...elements: readonly Der[]): Der {
  return tlv(0x30, Buffer.concat(elements));
}

/** SET of the given elements (callers pass a single element, so no sorting is needed). */
export function set(...elements: readonly Der[]): Der {
  return tlv(0x31, Buffer.concat(elements));
}

/** INTEGER from a non-negative number or an unsigned big-endian byte string. */
export function integer(value: number | Uint8Array): Der {
  let bytes = typeof value === 'number' ? unsignedBytes(value) : Buffer.from(value);
  while (bytes.length > 1 && bytes[0] === 0 && (bytes[1] ?? 0) < 0x80) bytes = bytes.subarray(1);
  // A leading 1 bit would make the value negative: prefix a zero byte.
  if ((bytes[0] ?? 0) >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

function unsignedBytes(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`Not a DER integer: ${value}`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from(bytes.length === 0 ? [0] : bytes);
}

/** BOOLEAN. */
export function boolean(value: boolean): Der {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/** OBJECT IDENTIFIER from dotted notation (`1.2.840.10045.2.1`). */
export function oid(dotted: string): Der {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      chunk.unshift(0x80 | (value & 0x7f));
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTF8String. */
export function utf8String(value: string): Der {
  return tlv(0x0c, Buffer.from(value, 'utf8'));
}

/** OCTET STRING. */
export function octetString(contents: Uint8Array): Der {
  return tlv(0x04, contents);
}

/** BIT STRING with no unused bits (keys, signatures). */
export function bitString(contents: Uint8Array): Der {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), contents]));
}

/**
 * BIT STRING of named bits, as KeyUsage uses it: bit 0 is the most significant bit of the first
 * byte, trailing zero bits are dropped and counted as unused (X.690 11.2.2).
 */
export function namedBits(bits: readonly number[]): Der {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) {
    const index = Math.floor(bit / 8);
    bytes[index] = (bytes[index] ?? 0) | (0x80 >> (bit % 8));
  }
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

/**
 * UTCTime before 2050, GeneralizedTime from 2050 on, as RFC 5280 4.1.2.5 requires of
 * certificate validity.
 */
export function time(date: Date): Der {
  const iso = date.toISOString(); // 2026-12-06T04:12:08.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20261206041208
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** A context-specific constructed tag `[n]` around the given elements (EXPLICIT tagging). */
export function explicit(tagNumber: number, ...elements: readonly Der[]): Der {
  return tlv(0xa0 | tagNumber, Buffer.concat(elements));
}

/** A context-specific primitive tag `[n]` with raw contents (IMPLICIT tagging of a primitive). */
export function implicitPrimitive(tagNumber: number, contents: Uint8Array): Der {
  return tlv(0x80 | tagNumber, contents);
}

/** PEM armour around DER bytes. */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
