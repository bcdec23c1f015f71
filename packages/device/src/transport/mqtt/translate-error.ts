/**
 * Funnels MQTT failures into the shared error vocabulary (docs/internals/architecture.md#transport-boundary):
 * twin response status + body → `createHubError`; CONNACK refusals → `UnauthorizedError`;
 * everything else about the connection → `TransportError`.
 *
 * @internal
 */
import {
  HubError,
  TransportError,
  createHubError,
  lookupHubErrorCode,
  parseHubErrorBody,
} from '@twinkit/twin-model/errors';
import { classifyConnectFailure } from '../connect-failure.js';
import type { ErrorContext } from '../transport-helpers.js';

/**
 * Decides whether a twin response is a failure, and builds the error if so. A status of 300 or
 * more is a failure even when the body has no `errorCode`; a 2xx with a non-zero `errorCode`
 * (the only signal the Node SDK reads, docs/internals/wire-contract.md#device-errors) is one too.
 *
 * @param status - the status from the response topic
 * @param body - the response payload as text
 * @param context - for the message
 * @returns the error, or `undefined` for a success
 */
export function translateTwinResponse(
  status: number,
  body: string,
  context: ErrorContext,
): HubError | undefined {
  // A success is the common case: its body is parsed once, by the caller, not here too.
  if (status < 300 && !hasTruthyErrorCode(body)) return undefined;
  const parsed = parseHubErrorBody(body);
  const bodyCode = parsed.numericCode ?? parsed.code;
  if (status < 300) {
    return createHubError({
      statusCode:
        (bodyCode === undefined ? undefined : lookupHubErrorCode(bodyCode))?.statusCode ?? 500,
      code: bodyCode,
      message: parsed.message,
      operation: context.operation,
      deviceId: context.deviceId,
      moduleId: context.moduleId,
    });
  }
  return createHubError({
    statusCode: status,
    code: bodyCode,
    message: parsed.message,
    operation: context.operation,
    deviceId: context.deviceId,
    moduleId: context.moduleId,
  });
}

function hasTruthyErrorCode(body: string): boolean {
  if (!body.includes('errorCode')) return false;
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null) return false;
    const code = (value as { errorCode?: unknown }).errorCode;
    return code !== undefined && code !== null && code !== 0 && code !== '' && code !== false;
  } catch {
    return false;
  }
}

/** MQTT 3.1.1 CONNACK return codes (MQTT-3.2.2.3). */
const CONNACK_TEXT: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/**
 * Maps a connection failure (CONNACK refusal, socket or TLS error, unexpected close).
 *
 * CONNACK 2, 4 and 5 mean the credential or identity was rejected → `UnauthorizedError`
 * (`IotHubUnauthorizedAccess`); 3 is how IoT Hub refuses a disabled device (docs/internals/wire-contract.md#mqtt-connect) →
 * `UnauthorizedError` with code `DeviceDisabled`. On a connect attempt (`context.target`), an
 * untrusted certificate is a `TlsTrustError` and a refused explicit port a
 * `ConnectionRefusedError`, neither retryable. Anything else is a retryable `TransportError`.
 *
 * @param error - what mqtt.js reported, if anything
 * @param context - for the message
 * @returns the error to surface
 */
export function translateConnectionError(
  error: unknown,
  context: ErrorContext,
): HubError | TransportError {
  if (error instanceof HubError || error instanceof TransportError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && code in CONNACK_TEXT) {
    const text = CONNACK_TEXT[code] ?? 'refused';
    if (code === 3) {
      return createHubError({
        statusCode: 401,
        code: 'DeviceDisabled',
        message: `the hub refused the connection (CONNACK 3, ${text}); IoT Hub does this for a disabled device`,
        operation: 'Connect',
        deviceId: context.deviceId,
        moduleId: context.moduleId,
        cause: error,
      });
    }
    if (code === 1) {
      return new TransportError(`The hub refused the connection (CONNACK 1, ${text}).`, {
        cause: error,
        retryable: false,
      });
    }
    return createHubError({
      statusCode: 401,
      code: 'IotHubUnauthorizedAccess',
      message: `the hub refused the connection (CONNACK ${String(code)}, ${text})`,
      operation: 'Connect',
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
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new TransportError(
    `${context.operation} failed: the connection to the hub was lost or refused${detail}`,
    {
      ...(error === undefined ? {} : { cause: error }),
    },
  );
}
