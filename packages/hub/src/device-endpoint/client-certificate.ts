/**
 * The TLS client certificate of a device connection, as the thumbprints IoT Hub registers for
 * self-signed X.509 identities (SHA-1 and SHA-256 of the DER bytes, upper-case hex).
 */
import { createHash } from 'node:crypto';
import type { ClientCertificate } from '../device-session/credentials.js';

/**
 * The DER bytes of the client certificate of a TLS socket, when the peer sent one.
 *
 * @param socket - any socket; only TLS sockets can carry a certificate
 * @returns the certificate's DER bytes, or `undefined`
 */
export function certificateOfSocket(socket: unknown): Uint8Array | undefined {
  const tlsSocket = socket as {
    getPeerCertificate?: (detailed?: boolean) => { raw?: Buffer } | null;
  };
  if (typeof tlsSocket.getPeerCertificate !== 'function') return undefined;
  const raw = tlsSocket.getPeerCertificate(false)?.raw;
  return raw === undefined || raw.length === 0 ? undefined : new Uint8Array(raw);
}

/**
 * The thumbprints of a certificate.
 *
 * @param der - the certificate's DER bytes
 * @returns its SHA-1 and SHA-256 thumbprints
 */
export function thumbprintsOf(der: Uint8Array): ClientCertificate {
  return {
    sha1Thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    sha256Thumbprint: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}
