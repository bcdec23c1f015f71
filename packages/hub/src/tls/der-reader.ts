/**
 * Reads back the few parts of an issuing certificate that a new certificate repeats: the
 * issuer's subject name (copied byte for byte into the new certificate's issuer field, so name
 * matching never depends on string encodings), its public key and its subject key identifier
 * (the new certificate's authority key identifier). A minimal DER walk, not a general parser.
 */

interface Element {
  tag: number;
  /** The whole element: tag, length and contents. */
  whole: Buffer;
  contents: Buffer;
}

function readElement(buffer: Buffer, offset: number): Element {
  const tag = buffer[offset];
  let lengthByte = buffer[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new TypeError('Truncated DER element');
  let length = lengthByte;
  let header = 2;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    length = 0;
    for (let index = 0; index < count; index++) {
      lengthByte = buffer[offset + 2 + index];
      if (lengthByte === undefined) throw new TypeError('Truncated DER length');
      length = length * 256 + lengthByte;
    }
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new TypeError('DER element runs past its buffer');
  return {
    tag,
    whole: buffer.subarray(offset, end),
    contents: buffer.subarray(offset + header, end),
  };
}

function children(parent: Buffer): Element[] {
  const elements: Element[] = [];
  for (let offset = 0; offset < parent.length;) {
    const element = readElement(parent, offset);
    elements.push(element);
    offset += element.whole.length;
  }
  return elements;
}

/** The parts of a certificate that a certificate it issues refers to. */
export interface IssuerParts {
  /** The DER `Name` of the subject. */
  subject: Buffer;
  /** The DER SubjectPublicKeyInfo. */
  subjectPublicKeyInfo: Buffer;
  /** The subject key identifier extension's value, when present. */
  subjectKeyIdentifier: Buffer | undefined;
}

const SUBJECT_KEY_IDENTIFIER_OID = Buffer.from([0x55, 0x1d, 0x0e]); // 2.5.29.14

/**
 * Reads subject, public key and subject key identifier from a DER certificate.
 *
 * @param certificate - DER bytes (`X509Certificate.raw`)
 * @returns the parts
 */
export function readIssuerParts(certificate: Buffer): IssuerParts {
  const [tbs] = children(readElement(certificate, 0).contents);
  if (tbs === undefined) throw new TypeError('A certificate without a TBSCertificate');
  const fields = children(tbs.contents);
  // version [0] is optional; serial, signature, issuer, validity, subject, SPKI follow it.
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[start + 4];
  const spki = fields[start + 5];
  if (subject === undefined || spki === undefined)
    throw new TypeError('A truncated TBSCertificate');
  let subjectKeyIdentifier: Buffer | undefined;
  const extensionsField = fields.find((field) => field.tag === 0xa3);
  const [extensionList] = extensionsField === undefined ? [] : children(extensionsField.contents);
  for (const extension of extensionList === undefined ? [] : children(extensionList.contents)) {
    const parts = children(extension.contents);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id?.contents.equals(SUBJECT_KEY_IDENTIFIER_OID) === true && value !== undefined) {
      subjectKeyIdentifier = readElement(value.contents, 0).contents;
    }
  }
  return { subject: subject.whole, subjectPublicKeyInfo: spki.whole, subjectKeyIdentifier };
}

/**
 * The subjectPublicKey bits of a DER SubjectPublicKeyInfo, without the BIT STRING's unused-bits
 * byte.
 *
 * @param spki - DER SubjectPublicKeyInfo
 * @returns the key bytes
 */
export function publicKeyBits(spki: Buffer): Buffer {
  const [, bits] = children(readElement(spki, 0).contents);
  if (bits === undefined) throw new TypeError('A SubjectPublicKeyInfo without a key');
  return bits.contents.subarray(1);
}
