/**
 * Failures the hub raises itself, as twin-model `HubError`s that remember the exact text the
 * wire body must carry (the error's `message` is written for client developers and decorated by
 * `createHubError`).
 */
import { twinErrorText } from '@twinkit/twin-model';
import { createHubError, type HubError } from '@twinkit/twin-model/errors';

const wireTexts = new WeakMap<HubError, string>();

/**
 * Creates the `HubError` for a failure the hub answers with.
 *
 * @param statusCode - HTTP status
 * @param code - IoT Hub error code name, e.g. `DeviceNotFound`
 * @param text - the text after `ErrorCode:<code>;` in the REST body (protocol.md §6.2)
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
  const error = createHubError({ statusCode, code, message: text, ...context });
  wireTexts.set(error, text);
  return error;
}

/**
 * The text an error body on the wire carries for a HubError raised by the hub ({@link hubFailure})
 * or by twin-model's twin engine (`twinErrorText`); `undefined` for other errors.
 *
 * @param error - any HubError
 */
export function wireTextOf(error: HubError): string | undefined {
  return wireTexts.get(error) ?? twinErrorText(error);
}
