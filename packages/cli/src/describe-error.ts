/**
 * Turns any failure into one line for people and an exit code for scripts. Never a stack trace:
 * the message says what went wrong and what to do.
 */
import {
  isHubError,
  isOperationTimeoutError,
  isTransportError,
  isTwinValidationError,
} from '@twinkit/twin-model/errors';
import { ExitCode } from './exit-codes.js';
import { UsageError } from './usage-error.js';

/** What the CLI prints and returns for a failure. */
export interface DescribedError {
  message: string;
  exitCode: ExitCode;
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Describes a failure of a command.
 *
 * @param error - what the command threw
 * @returns the line to print and the exit code
 */
export function describeError(error: unknown): DescribedError {
  if (error instanceof UsageError) {
    return { message: `${error.message} (see "twinkit --help")`, exitCode: ExitCode.usage };
  }
  if (isTwinValidationError(error)) return { message: error.message, exitCode: ExitCode.usage };
  if (isHubError(error))
    return { message: error.message, exitCode: exitCodeOfStatus(error.statusCode) };
  const code = causeCode(error);
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return {
      message: `The hub's TLS certificate is not trusted (${code}). For the local hub, pass --ca <data dir>/ca.pem or set NODE_EXTRA_CA_CERTS to it.`,
      exitCode: ExitCode.unreachable,
    };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      message: `Cannot reach the hub (${code}): check the HostName (and port) of the connection string and that the hub is running.`,
      exitCode: ExitCode.unreachable,
    };
  }
  if (isTransportError(error) || isOperationTimeoutError(error)) {
    return { message: error.message, exitCode: ExitCode.unreachable };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, exitCode: ExitCode.failed };
}

function exitCodeOfStatus(statusCode: number): ExitCode {
  if (statusCode === 404) return ExitCode.notFound;
  if (statusCode === 409 || statusCode === 412) return ExitCode.conflict;
  if (statusCode === 401 || statusCode === 403) return ExitCode.unauthorized;
  if (statusCode === 400) return ExitCode.usage;
  return ExitCode.failed;
}

/** The first `code` along an error's `cause` chain (Node system and TLS errors carry one). */
function causeCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}
