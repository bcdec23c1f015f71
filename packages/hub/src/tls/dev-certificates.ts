/**
 * The development CA and the hub's TLS server certificate (ECDSA P-256), created on first start
 * and kept with the data, so clients trust the hub once (`NODE_EXTRA_CA_CERTS=<dataDir>/ca.pem`,
 * or a `ca` option) and keep trusting it across restarts.
 */
import {
  createPrivateKey,
  generateKeyPairSync,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createCertificate } from './x509-certificate-builder.js';

/** The files kept in the data directory. */
export const CERTIFICATE_FILES = Object.freeze({
  caCertificate: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCertificate: 'server.pem',
  serverKey: 'server-key.pem',
});

/** PEM material the hub serves TLS with. */
export interface DevCertificates {
  /** PEM of the development CA; what clients trust. */
  caCertificate: string;
  /** PEM of the server certificate (leaf, signed by the CA). */
  serverCertificate: string;
  /** PKCS#8 PEM of the server key. */
  serverKey: string;
  /** Path of `ca.pem`, when kept in a data directory. */
  caFile?: string;
}

const DAY_IN_MS = 86_400_000;
const ORGANIZATION = 'twinkit (development only)';

/**
 * Loads the development certificates from a data directory, creating what is missing: the CA
 * once, and the server certificate whenever it is missing, expires within 30 days or lacks one
 * of the required names (`localhost`, `127.0.0.1`, `::1`, the hub host name).
 *
 * @param options - `hostName` the server certificate must name; `dataDir` to keep the files in
 *   (omitted → everything stays in memory)
 * @returns the PEM material
 */
export function loadOrCreateDevCertificates(options: {
  hostName: string;
  dataDir?: string | undefined;
}): DevCertificates {
  const { dataDir, hostName } = options;
  const names = requiredNames(hostName);
  const file = (name: keyof typeof CERTIFICATE_FILES) =>
    dataDir === undefined ? undefined : join(dataDir, CERTIFICATE_FILES[name]);
  const read = (name: keyof typeof CERTIFICATE_FILES) => {
    const path = file(name);
    return path !== undefined && existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };
  const write = (name: keyof typeof CERTIFICATE_FILES, text: string, secret: boolean) => {
    const path = file(name);
    if (path !== undefined) writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
  };
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });

  let caPem = read('caCertificate');
  let caKeyPem = read('caKey');
  let caKey: KeyObject | undefined;
  if (caPem === undefined || caKeyPem === undefined || certificateExpiresSoon(caPem)) {
    const created = createCa();
    caPem = created.certificate;
    caKeyPem = created.keyPem;
    caKey = created.privateKey;
    write('caKey', caKeyPem, true);
    write('caCertificate', caPem, false);
  }
  let serverPem = caKey === undefined ? read('serverCertificate') : undefined;
  let serverKeyPem = caKey === undefined ? read('serverKey') : undefined;
  if (
    serverPem === undefined ||
    serverKeyPem === undefined ||
    certificateExpiresSoon(serverPem) ||
    !coversNames(serverPem, names) ||
    !issuedBy(serverPem, caPem)
  ) {
    const signingKey = caKey ?? importPrivateKey(caKeyPem);
    const created = createServerCertificate(caPem, signingKey, names);
    serverPem = created.certificate;
    serverKeyPem = created.keyPem;
    write('serverKey', serverKeyPem, true);
    write('serverCertificate', serverPem, false);
  }
  const result: DevCertificates = {
    caCertificate: caPem,
    serverCertificate: serverPem,
    serverKey: serverKeyPem,
  };
  const caFile = file('caCertificate');
  if (caFile !== undefined) result.caFile = caFile;
  return result;
}

function requiredNames(hostName: string): { dns: string[]; ip: string[] } {
  const dns = new Set(['localhost']);
  const ip = new Set(['127.0.0.1', '::1']);
  if (isIP(hostName) === 0) dns.add(hostName.toLowerCase());
  else ip.add(hostName);
  return { dns: [...dns], ip: [...ip] };
}

function generateKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function exportKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function importPrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new Error(
      'The development CA key file (ca-key.pem) is not a readable PEM private key; delete ca.pem and ca-key.pem in the data directory to recreate them (clients must then trust the new ca.pem).',
      { cause: error },
    );
  }
}

function createCa(): { certificate: string; keyPem: string; privateKey: KeyObject } {
  const keys = generateKeys();
  const now = Date.now();
  const certificate = createCertificate({
    subject: { commonName: 'twinkit-hub Development CA', organization: ORGANIZATION },
    notBefore: new Date(now - DAY_IN_MS),
    notAfter: new Date(now + 10 * 365 * DAY_IN_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    isCertificateAuthority: true,
    keyUsage: ['keyCertSign', 'cRLSign'],
  });
  return { certificate, keyPem: exportKeyPem(keys.privateKey), privateKey: keys.privateKey };
}

function createServerCertificate(
  caPem: string,
  caKey: KeyObject,
  names: { dns: string[]; ip: string[] },
): { certificate: string; keyPem: string } {
  const keys = generateKeys();
  const now = Date.now();
  const certificate = createCertificate({
    subject: {
      commonName: names.dns[names.dns.length - 1] ?? 'localhost',
      organization: ORGANIZATION,
    },
    notBefore: new Date(now - DAY_IN_MS),
    // Under 398 days, which some TLS stacks require of leaf certificates.
    notAfter: new Date(now + 397 * DAY_IN_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    issuerCertificate: caPem,
    keyUsage: ['digitalSignature', 'keyAgreement'],
    extendedKeyUsage: ['serverAuth'],
    subjectAltNames: names,
  });
  return { certificate, keyPem: exportKeyPem(keys.privateKey) };
}

function certificateExpiresSoon(pem: string): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return new Date(certificate.validTo).getTime() - Date.now() < 30 * DAY_IN_MS;
  } catch {
    return true;
  }
}

function coversNames(pem: string, names: { dns: string[]; ip: string[] }): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return (
      names.dns.every((name) => certificate.checkHost(name) !== undefined) &&
      names.ip.every((ip) => certificate.checkIP(ip) !== undefined)
    );
  } catch {
    return false;
  }
}

function issuedBy(pem: string, caPem: string): boolean {
  try {
    return new X509Certificate(pem).verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
