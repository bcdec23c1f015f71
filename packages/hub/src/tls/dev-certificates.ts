/**
 * The development CA and the hub's TLS server certificate, created with @peculiar/x509 on
 * WebCrypto (ECDSA P-256) on first start and kept with the data, so clients trust the hub once
 * (`NODE_EXTRA_CA_CERTS=<dataDir>/ca.pem`, or a `ca` option) and keep trusting it across restarts.
 */
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
// Must come before @peculiar/x509: tsyringe checks for Reflect metadata when it loads.
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';

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

const ALGORITHM: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_IN_MS = 86_400_000;

let providerReady = false;
function useNodeCrypto(): void {
  if (!providerReady) {
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    providerReady = true;
  }
}

/**
 * Loads the development certificates from a data directory, creating what is missing: the CA
 * once, and the server certificate whenever it is missing, expires within 30 days or lacks one
 * of the required names (`localhost`, `127.0.0.1`, `::1`, the hub host name).
 *
 * @param options - `hostName` the server certificate must name; `dataDir` to keep the files in
 *   (omitted → everything stays in memory)
 * @returns the PEM material
 */
export async function loadOrCreateDevCertificates(options: {
  hostName: string;
  dataDir?: string | undefined;
}): Promise<DevCertificates> {
  useNodeCrypto();
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
  let caKeys: { privateKey: CryptoKey; publicKey: CryptoKey } | undefined;
  if (caPem === undefined || caKeyPem === undefined || certificateExpiresSoon(caPem)) {
    const created = await createCa();
    caPem = created.certificate;
    caKeyPem = created.keyPem;
    caKeys = created.keys;
    write('caKey', caKeyPem, true);
    write('caCertificate', caPem, false);
  }
  let serverPem = caKeys === undefined ? read('serverCertificate') : undefined;
  let serverKeyPem = caKeys === undefined ? read('serverKey') : undefined;
  if (
    serverPem === undefined ||
    serverKeyPem === undefined ||
    certificateExpiresSoon(serverPem) ||
    !coversNames(serverPem, names) ||
    !issuedBy(serverPem, caPem)
  ) {
    const signingKey = caKeys?.privateKey ?? (await importPrivateKey(caKeyPem));
    const created = await createServerCertificate(caPem, signingKey, names);
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

async function generateKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (der === undefined)
    throw new Error(
      'The development CA key file is empty or not PEM; delete ca.pem and ca-key.pem to recreate them.',
    );
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

async function createCa(): Promise<{ certificate: string; keyPem: string; keys: CryptoKeyPair }> {
  const keys = await generateKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=twinkit-hub Development CA, O=twinkit (development only)',
    notBefore: new Date(now - DAY_IN_MS),
    notAfter: new Date(now + 10 * 365 * DAY_IN_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificate: certificate.toString('pem'),
    keyPem: await exportKeyPem(keys.privateKey),
    keys,
  };
}

async function createServerCertificate(
  caPem: string,
  caKey: CryptoKey,
  names: { dns: string[]; ip: string[] },
): Promise<{ certificate: string; keyPem: string }> {
  const ca = new x509.X509Certificate(caPem);
  const keys = await generateKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${names.dns[names.dns.length - 1] ?? 'localhost'}, O=twinkit (development only)`,
    issuer: ca.subject,
    notBefore: new Date(now - DAY_IN_MS),
    // Under 398 days, which some TLS stacks require of leaf certificates.
    notAfter: new Date(now + 397 * DAY_IN_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ip.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(await ca.publicKey.export()),
    ],
  });
  return { certificate: certificate.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

function certificateExpiresSoon(pem: string): boolean {
  try {
    const certificate = new NodeX509Certificate(pem);
    return new Date(certificate.validTo).getTime() - Date.now() < 30 * DAY_IN_MS;
  } catch {
    return true;
  }
}

function coversNames(pem: string, names: { dns: string[]; ip: string[] }): boolean {
  try {
    const certificate = new NodeX509Certificate(pem);
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
    return new NodeX509Certificate(pem).verify(new NodeX509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
