/**
 * Funnels AMQP failures into the shared error vocabulary (docs/internals/architecture.md#transport-boundary): a twin
 * response's `status` annotation and JSON body → `createHubError`; a refused CBS put-token and
 * `amqp:unauthorized-access` → `UnauthorizedError`; other link and connection errors →
 * `TransportError` (docs/internals/wire-contract.md#amqp-cbs, docs/internals/wire-contract.md#amqp-twin-links, docs/internals/wire-contract.md#amqp-errors).
 *
 * @internal
 */
import {
  HubError,
  OperationTimeoutError,
  TransportError,
  createHubError,
  parseHubErrorBody,
} from '@twinkit/twin-model/errors';
import { classifyConnectFailure } from '../connect-failure.js';
import type { ErrorContext } from '../transport-helpers.js';

/**
 * Decides whether a twin response is a failure, and builds the error if so. IoT Hub marks
 * success with `status` 200–299; a response without a status counts as success, as in the
 * official Node SDK (docs/internals/wire-contract.md#amqp-twin-links).
 *
 * @param status - the `status` annotation, if any
 * @param body - the body text, if any
 * @param context - for the message
 * @returns the error, or `undefined` for a success
 */
export function translateTwinStatus(
  status: number | undefined,
  body: string | undefined,
  context: ErrorContext,
): HubError | undefined {
  if (status === undefined || (status >= 200 && status < 300)) return undefined;
  const parsed = parseHubErrorBody(body ?? '');
  return createHubError({
    statusCode: status,
    code: parsed.numericCode ?? parsed.code,
    message: parsed.message,
    operation: context.operation,
    deviceId: context.deviceId,
    moduleId: context.moduleId,
  });
}

/**
 * Maps a refused CBS put-token (`status-code` other than 200, docs/internals/wire-contract.md#amqp-cbs).
 *
 * @param statusCode - the `status-code` application property
 * @param description - the `status-description`
 * @param context - for the message
 * @returns `UnauthorizedError` for 401/403, the matching `HubError` otherwise
 */
export function translateCbsStatus(
  statusCode: number | undefined,
  description: string | undefined,
  context: ErrorContext,
): HubError {
  const status = statusCode === undefined || statusCode === 403 ? 401 : statusCode;
  return createHubError({
    statusCode: status,
    code: status === 401 ? 'IotHubUnauthorizedAccess' : undefined,
    message:
      description === undefined
        ? 'the hub refused the token (CBS put-token)'
        : `the hub refused the token: ${description}`,
    operation: context.operation,
    deviceId: context.deviceId,
    moduleId: context.moduleId,
  });
}

interface AmqpErrorShape {
  condition?: unknown;
  description?: unknown;
  message?: unknown;
}

/**
 * Maps a link or connection error (a DETACH/CLOSE error, a socket or TLS failure, rhea-promise's
 * own errors). `amqp:unauthorized-access` (docs/internals/wire-contract.md#amqp-errors) becomes `UnauthorizedError`; on a connect
 * attempt (`context.target`) an untrusted certificate is a `TlsTrustError` and a refused explicit
 * port a `ConnectionRefusedError`, neither retryable; everything else is a retryable
 * `TransportError`.
 *
 * @param error - what rhea or rhea-promise reported, if anything
 * @param context - for the message
 * @returns the error to surface
 */
export function translateAmqpError(
  error: unknown,
  context: ErrorContext,
): HubError | TransportError {
  if (error instanceof HubError || error instanceof TransportError) return error;
  if (error instanceof OperationTimeoutError) {
    return new TransportError(`${context.operation} failed: ${error.message}`, { cause: error });
  }
  const shape = (typeof error === 'object' && error !== null ? error : {}) as AmqpErrorShape;
  const condition = typeof shape.condition === 'string' ? shape.condition : undefined;
  const description =
    typeof shape.description === 'string'
      ? shape.description
      : typeof shape.message === 'string'
        ? shape.message
        : undefined;
  if (condition === 'amqp:unauthorized-access') {
    const parsed = parseHubErrorBody(description ?? '');
    return createHubError({
      statusCode: 401,
      code: parsed.numericCode ?? parsed.code ?? 'IotHubUnauthorizedAccess',
      message: parsed.message ?? 'the hub refused access (amqp:unauthorized-access)',
      operation: context.operation,
      deviceId: context.deviceId,
      moduleId: context.moduleId,
      cause: error,
    });
  }
  const fatal =
    context.target === undefined
      ? undefined
      : classifyConnectFailure(error, context.target, context.operation);
  if (fatal !== undefined) return fatal;
  const detail = [condition, description].filter((part) => part !== undefined).join(': ');
  return new TransportError(
    `${context.operation} failed: the connection to the hub was lost or refused${detail === '' ? '' : ` (${detail})`}`,
    error === undefined ? {} : { cause: error },
  );
}
