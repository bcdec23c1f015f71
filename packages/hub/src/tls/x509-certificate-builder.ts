/**
 * Writes X.509 v3 certificates (RFC 5280) signed with ECDSA P-256 / SHA-256, using only
 * `node:crypto`: the development CA, the hub's server certificate and test client certificates.
 * Node reads certificates (`X509Certificate`) but cannot write them; a certificate is a few DER
 * structures around a signature, so the hub writes them itself instead of depending on a
 * general-purpose PKI library.
 */
import { createHash, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  integer,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  time,
  toPem,
  utf8String,
  type Der,
} from './der.js';
import { publicKeyBits, readIssuerParts } from './der-reader.js';

/** A subject or issuer name: common name plus an optional organisation. */
export interface DistinguishedName {
  commonName: string;
  organization?: string;
}

/** Key usages the hub's certificates need (RFC 5280 4.2.1.3 bit numbers). */
export type KeyUsage = 'digitalSignature' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';

/** What one certificate says and who signs it. */
export interface CertificateRequest {
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  /** The certified public key. */
  publicKey: KeyObject;
  /** The key that signs: the issuer's private key, or the subject's own for a self-signed one. */
  signingKey: KeyObject;
  /** PEM of the issuing CA; omitted → self-signed (issuer = subject). */
  issuerCertificate?: string;
  /** A CA certificate (basicConstraints cA, path length 0) rather than an end entity. */
  isCertificateAuthority?: boolean;
  keyUsage: readonly KeyUsage[];
  extendedKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
  subjectAltNames?: { dns: readonly string[]; ip: readonly string[] };
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const KEY_USAGE_BITS: Record<KeyUsage, number> = {
  digitalSignature: 0,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/**
 * Writes and signs one certificate.
 *
 * @param request - subject, validity, keys, issuer and extensions
 * @returns the certificate as PEM
 */
export function createCertificate(request: CertificateRequest): string {
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const subject = encodeName(request.subject);
  const spki = request.publicKey.export({ type: 'spki', format: 'der' });
  const issuer =
    request.issuerCertificate === undefined
      ? undefined
      : readIssuerParts(new X509Certificate(request.issuerCertificate).raw);
  const extensions: Der[] = [
    extension(
      OID.basicConstraints,
      request.isCertificateAuthority === true ? sequence(boolean(true), integer(0)) : sequence(),
      true,
    ),
    extension(
      OID.keyUsage,
      namedBits(request.keyUsage.map((usage) => KEY_USAGE_BITS[usage])),
      true,
    ),
  ];
  if (request.extendedKeyUsage !== undefined && request.extendedKeyUsage.length > 0) {
    extensions.push(
      extension(
        OID.extendedKeyUsage,
        sequence(...request.extendedKeyUsage.map((usage) => oid(OID[usage]))),
      ),
    );
  }
  if (request.subjectAltNames !== undefined) {
    extensions.push(extension(OID.subjectAltName, encodeAltNames(request.subjectAltNames)));
  }
  extensions.push(extension(OID.subjectKeyIdentifier, octetString(keyIdentifier(spki))));
  const authorityKeyId =
    issuer === undefined
      ? undefined
      : (issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.subjectPublicKeyInfo));
  if (authorityKeyId !== undefined) {
    extensions.push(
      extension(OID.authorityKeyIdentifier, sequence(implicitPrimitive(0, authorityKeyId))),
    );
  }
  const tbsCertificate = sequence(
    explicit(0, integer(2)), // v3
    integer(serialNumber()),
    signatureAlgorithm,
    issuer?.subject ?? subject,
    sequence(time(request.notBefore), time(request.notAfter)),
    subject,
    spki,
    explicit(3, sequence(...extensions)),
  );
  // ECDSA signatures from node:crypto are DER `Ecdsa-Sig-Value`s, as X.509 carries them.
  const signature = sign('sha256', tbsCertificate, request.signingKey);
  return toPem('CERTIFICATE', sequence(tbsCertificate, signatureAlgorithm, bitString(signature)));
}

function encodeName(name: DistinguishedName): Der {
  const attribute = (type: string, value: string) => set(sequence(oid(type), utf8String(value)));
  const parts = [attribute(OID.commonName, name.commonName)];
  if (name.organization !== undefined) parts.push(attribute(OID.organization, name.organization));
  return sequence(...parts);
}

function extension(id: string, value: Der, critical = false): Der {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

function encodeAltNames(names: { dns: readonly string[]; ip: readonly string[] }): Der {
  return sequence(
    // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING (RFC 5280 4.2.1.6).
    ...names.dns.map((name) => implicitPrimitive(2, Buffer.from(name, 'ascii'))),
    ...names.ip.map((address) => implicitPrimitive(7, ipAddressBytes(address))),
  );
}

/** The 4 or 16 network-order bytes of an IP address. */
export function ipAddressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new TypeError(`Not an IP address: ${address}`);
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2));
  return bytes;
}

/**
 * The key identifier of RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits of a
 * SubjectPublicKeyInfo.
 */
function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(publicKeyBits(spki)).digest();
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive, and 16 bytes at most (RFC 5280 4.1.2.2)
  return bytes;
}
