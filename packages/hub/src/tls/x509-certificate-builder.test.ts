import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ipAddressBytes, createCertificate } from './x509-certificate-builder.js';
import { loadOrCreateDevCertificates } from './dev-certificates.js';

const DAY_IN_MS = 86_400_000;
const keys = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('createCertificate', () => {
  it('writes a self-signed CA that Node parses and that verifies with its own key', () => {
    const ca = keys();
    const pem = createCertificate({
      subject: { commonName: 'Test CA', organization: 'twinkit tests' },
      notBefore: new Date(Date.now() - DAY_IN_MS),
      notAfter: new Date(Date.now() + DAY_IN_MS),
      publicKey: ca.publicKey,
      signingKey: ca.privateKey,
      isCertificateAuthority: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
    });
    const certificate = new X509Certificate(pem);
    expect(certificate.ca).toBe(true);
    expect(certificate.subject).toBe('CN=Test CA\nO=twinkit tests');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.keyUsage).toBeUndefined(); // Node reports only extended key usage here
  });

  it('writes a leaf with SAN, EKU and key identifiers that OpenSSL verifies against its CA', () => {
    const ca = keys();
    const caPem = createCertificate({
      subject: { commonName: 'Test CA' },
      notBefore: new Date(Date.now() - DAY_IN_MS),
      notAfter: new Date(Date.now() + DAY_IN_MS),
      publicKey: ca.publicKey,
      signingKey: ca.privateKey,
      isCertificateAuthority: true,
      keyUsage: ['keyCertSign'],
    });
    const leaf = keys();
    const leafPem = createCertificate({
      subject: { commonName: 'localhost' },
      notBefore: new Date(Date.now() - DAY_IN_MS),
      notAfter: new Date(Date.now() + DAY_IN_MS),
      publicKey: leaf.publicKey,
      signingKey: ca.privateKey,
      issuerCertificate: caPem,
      keyUsage: ['digitalSignature', 'keyAgreement'],
      extendedKeyUsage: ['serverAuth'],
      subjectAltNames: { dns: ['localhost', 'hub.example'], ip: ['127.0.0.1', '::1'] },
    });
    const certificate = new X509Certificate(leafPem);
    expect(certificate.ca).toBe(false);
    expect(certificate.issuer).toBe('CN=Test CA');
    expect(certificate.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.checkHost('hub.example')).toBe('hub.example');
    expect(certificate.checkIP('::1')).toBe('::1');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);

    const dir = mkdtempSync(join(tmpdir(), 'twinkit-x509-'));
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const verdict = execFileSync(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        join(dir, 'ca.pem'),
        join(dir, 'leaf.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(verdict.trim()).toMatch(/: OK$/);
  });

  it('encodes dates from 2050 on as GeneralizedTime', () => {
    const own = keys();
    const pem = createCertificate({
      subject: { commonName: 'far future' },
      notBefore: new Date('2049-12-31T23:59:59Z'),
      notAfter: new Date('2051-06-01T00:00:00Z'),
      publicKey: own.publicKey,
      signingKey: own.privateKey,
      keyUsage: ['digitalSignature'],
    });
    const certificate = new X509Certificate(pem);
    expect(new Date(certificate.validFrom).toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(new Date(certificate.validTo).toISOString()).toBe('2051-06-01T00:00:00.000Z');
  });
});

describe('ipAddressBytes', () => {
  it('writes IPv4 and compressed IPv6 addresses in network order', () => {
    expect([...ipAddressBytes('10.0.0.1')]).toEqual([10, 0, 0, 1]);
    expect(ipAddressBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipAddressBytes('fe80::1:2').toString('hex')).toBe('fe800000000000000000000000010002');
    expect(ipAddressBytes('2001:db8:0:0:0:0:0:ff').toString('hex')).toBe(
      '20010db80000000000000000000000ff',
    );
    expect(() => ipAddressBytes('localhost')).toThrow(TypeError);
  });
});

describe('loadOrCreateDevCertificates', () => {
  it('serves TLS that a client trusting only the CA accepts for localhost', async () => {
    const material = loadOrCreateDevCertificates({ hostName: 'localhost' });
    const server = createServer(
      { key: material.serverKey, cert: material.serverCertificate },
      (socket) => socket.end('hello'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port, servername: 'localhost', ca: material.caCertificate },
          () => {
            socket.once('data', (data) => {
              resolve(data.toString());
              socket.end();
            });
          },
        );
        socket.once('error', reject);
      });
      expect(greeting).toBe('hello');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
