/**
 * Failures the hub raises itself, as twin-model `HubError`s whose `wireMessage` is the exact text
 * the wire body must carry (the error's `message` is written for client developers and decorated
 * by `createHubError`).
 */
import { createHubError, type HubError } from '@twinkit/twin-model/errors';

/**
 * Creates the `HubError` for a failure the hub answers with.
 *
 * @param statusCode - HTTP status
 * @param code - IoT Hub error code name, e.g. `DeviceNotFound`
 * @param text - the text after `ErrorCode:<code>;` in the REST body (docs/internals/wire-contract.md#rest-errors)
 * @param context - optional device/module ids and `Retry-After` for the client-side view
 * @returns the error, to throw
 */
export function hubFailure(
  statusCode: number,
  code: string,
  text: string,
  context: {
    deviceId?: string | undefined;
    moduleId?: string | undefined;
    retryAfterInMs?: number | undefined;
  } = {},
): HubError {
  return createHubError({ statusCode, code, message: text, ...context });
}

/**
 * The text an error body on the wire carries for a HubError: its `wireMessage`, set by
 * {@link hubFailure}, by twin-model's twin engine and by `createHubError` from a hub's text.
 *
 * @param error - any HubError
 */
export function wireTextOf(error: HubError): string | undefined {
  return error.wireMessage;
}
