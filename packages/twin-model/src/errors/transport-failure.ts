/**
 * Turns what a socket or `fetch` threw into a {@link TransportError}, recognising the two
 * failures that retrying cannot fix: an untrusted TLS certificate and a refused connection on a
 * port the user chose. Shared by the service client (undici's `fetch`) and the device
 * transports (Node sockets), which see the same Node error codes.
 */
import { ConnectionRefusedError, TlsTrustError, TransportError } from './local-errors.js';

/**
 * Node's certificate-verification error codes (OpenSSL's X509_V_ERR names, plus Node's own
 * hostname check), see https://nodejs.org/api/tls.html#x509-certificate-error-codes.
 */
const TLS_TRUST_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Where a failed connection was going, for the message. */
export interface TransportFailureContext {
  /** What was being attempted, e.g. `getTwin`; starts the message. */
  operation: string;
  /** `host` or `host:port` that was dialled. */
  address: string;
  /** Whether the user chose the port (a refused explicit port is not retried). */
  portIsExplicit: boolean;
  /** How to trust a CA in this client, e.g. `pass options.ca`; appended to TLS messages. */
  trustAdvice: string;
}

/** Every error in a cause chain, including the members of an `AggregateError` (happy eyeballs). */
function* causes(error: unknown, depth = 0): Generator {
  if (error === undefined || error === null || depth > 8) return;
  yield error;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) yield* causes(inner, depth + 1);
  }
  if (error instanceof Error) yield* causes(error.cause, depth + 1);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a Node error code says the peer's TLS certificate is not trusted.
 *
 * @param code - a Node error `code`
 */
export function isTlsTrustCode(code: string): boolean {
  return TLS_TRUST_CODES.has(code);
}

/**
 * The first error in a cause chain (`AggregateError` members included) whose Node `code` is
 * accepted. Shared by the service client and the device transports, which see the same codes.
 *
 * @param error - what the socket, TLS, WebSocket layer or `fetch` threw
 * @param accept - which codes to look for
 * @returns the code and the error carrying it, or `undefined`
 */
export function findErrorCode(
  error: unknown,
  accept: (code: string) => boolean,
): { code: string; error: unknown } | undefined {
  for (const inner of causes(error)) {
    const code = codeOf(inner);
    if (code !== undefined && accept(code)) return { code, error: inner };
  }
  return undefined;
}

/**
 * The TLS trust error code somewhere in an error's cause chain, if any.
 *
 * @param error - what the socket or `fetch` threw
 * @returns e.g. `SELF_SIGNED_CERT_IN_CHAIN`, or `undefined`
 */
export function findTlsTrustCode(error: unknown): string | undefined {
  return findErrorCode(error, isTlsTrustCode)?.code;
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (const inner of causes(error)) {
    if (inner instanceof AggregateError && inner.message === '') continue;
    const text = inner instanceof Error ? inner.message : String(inner);
    if (text !== '' && !parts.includes(text)) parts.push(text);
  }
  return parts.join(': ') || 'unknown error';
}

/**
 * Classifies a failure to get an answer.
 *
 * @param error - what the socket or `fetch` threw (undici wraps the socket error as `cause`)
 * @param context - operation, address and how to trust a CA, for the message
 * @returns a {@link TlsTrustError} (never retryable) for certificate failures, a
 *   {@link ConnectionRefusedError} for `ECONNREFUSED` (not retryable when the port was explicit),
 *   or a retryable {@link TransportError} for anything else (reset, DNS, `terminated`)
 * @example
 * ```ts
 * const failure = toTransportError(error, {
 *   operation: 'getTwin', address: 'localhost:8443', portIsExplicit: true,
 *   trustAdvice: 'set NODE_EXTRA_CA_CERTS to the CA file',
 * });
 * ```
 */
export function toTransportError(error: unknown, context: TransportFailureContext): TransportError {
  if (error instanceof TransportError) return error;
  const { operation, address } = context;
  const tlsCode = findTlsTrustCode(error);
  if (tlsCode !== undefined) {
    const why =
      tlsCode === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `its certificate is not issued for this host name`
        : tlsCode === 'CERT_HAS_EXPIRED' || tlsCode === 'CERT_NOT_YET_VALID'
          ? `its certificate is outside its validity period`
          : `its certificate is not signed by a CA this runtime trusts`;
    return new TlsTrustError(
      `${operation}: TLS trust failure connecting to ${address} (${tlsCode}): ${why}. ` +
        `Trust the server's CA (${context.trustAdvice}) or connect with the host name on its certificate; not retried.`,
      tlsCode,
      { cause: error },
    );
  }
  if (findErrorCode(error, (code) => code === 'ECONNREFUSED') !== undefined) {
    const explicit = context.portIsExplicit;
    return new ConnectionRefusedError(
      `${operation}: connection refused by ${address}: nothing listens there. ` +
        (explicit
          ? 'Check the host and port you gave (and that the server is running); not retried.'
          : 'Check that the server is running; the call is retried.'),
      address,
      { cause: error, retryable: !explicit },
    );
  }
  return new TransportError(`${operation}: no response from ${address} (${describe(error)}).`, {
    cause: error,
  });
}
