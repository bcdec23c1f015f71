/**
 * Recognises the two connection failures that retrying cannot fix, so `open()` can fail at once
 * and say what to do instead of retrying until its deadline: a TLS certificate the runtime does
 * not trust, and a refused connection on a port the user chose. Both transports (MQTT and AMQP,
 * over TCP+TLS and WebSocket) see the same Node socket errors, somewhere in the cause chain;
 * twin-model finds them there (the service client's `toTransportError` uses the same search).
 * The messages are the device's own: they name the options a device fixes them with.
 *
 * @internal
 */
import { ConnectionRefusedError, TlsTrustError } from '@twinkit/twin-model/errors';
import { findErrorCode, isTlsTrustCode } from '@twinkit/twin-model/internal';

/** Where a connection attempt went. */
export interface ConnectTarget {
  /** `host:port` that was dialled. */
  address: string;
  /** Whether the port came from the user (`HostName=host:port`, `GatewayHostName=host:port` or the transport's `port`). */
  portIsExplicit: boolean;
}

/** Why the certificate was refused, and what to do about it. */
function explainTrustFailure(code: string, address: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return (
      `the TLS certificate of ${address} is issued for other host names. ` +
      'Connect with a host name the certificate names (in HostName or GatewayHostName).'
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return (
      `the TLS certificate of ${address} is outside its validity period. ` +
      "Check this machine's clock, and renew the hub's certificate if it expired."
    );
  }
  return (
    `the TLS certificate of ${address} is not signed by a CA this runtime trusts. ` +
    "Trust the hub's CA: start Node with NODE_EXTRA_CA_CERTS=<ca.pem>, or pass the CA's PEM as " +
    "the DeviceClient's `ca` option (for the local hub, the ca.pem in its data directory)."
  );
}

/**
 * Classifies a failed connection attempt.
 *
 * @param error - what the socket, TLS or WebSocket layer reported
 * @param target - where the attempt went
 * @param operation - what was attempted, e.g. `Connect`; starts the message
 * @returns a {@link TlsTrustError} for an untrusted certificate, a {@link ConnectionRefusedError}
 *   for `ECONNREFUSED` on an explicit port, or `undefined` when retrying may help
 */
export function classifyConnectFailure(
  error: unknown,
  target: ConnectTarget,
  operation: string,
): TlsTrustError | ConnectionRefusedError | undefined {
  const tls = findErrorCode(error, isTlsTrustCode);
  if (tls !== undefined) {
    const message = (tls.error as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? `: ${message}` : '';
    return new TlsTrustError(
      `${operation} failed: ${explainTrustFailure(tls.code, target.address)} (${tls.code}${detail})`,
      tls.code,
      { cause: error },
    );
  }
  if (!target.portIsExplicit) return undefined;
  const refused = findErrorCode(error, (code) => code === 'ECONNREFUSED');
  if (refused === undefined) return undefined;
  return new ConnectionRefusedError(
    `${operation} failed: ${target.address} refused the connection (ECONNREFUSED): nothing listens on that port. ` +
      "Check the port (HostName=host:port, GatewayHostName=host:port or the transport's port option) and that the hub listens on it.",
    target.address,
    { cause: error },
  );
}
