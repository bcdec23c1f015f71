/**
 * What a device accepts from the hub in a twin response or notification, the same for MQTT and
 * AMQP. A broken or hostile hub gets a typed {@link UnexpectedResponseError} at once, never a
 * timeout, and can never make the device hold more than a bounded amount of data:
 *
 * - A `$version` is a non-negative safe integer: IoT Hub starts section versions at 1 and only
 *   ever increments them (docs/internals/twin-semantics.md#versions).
 * - A twin's desired and reported sections are within IoT Hub's own limits, 32 KB each by its
 *   size formula (twin-model `MAX_DESIRED_SIZE`, `MAX_REPORTED_SIZE`, `computeSectionSize`;
 *   docs/internals/twin-semantics.md#limits; https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins#device-twin-size).
 * - A twin response or notification body is at most {@link MAX_TWIN_RESPONSE_BYTES} of text, and
 *   a whole message (topic or annotations included) at most {@link MAX_TWIN_MESSAGE_BYTES}.
 *
 * @internal
 */
import {
  MAX_DESIRED_SIZE,
  MAX_REPORTED_SIZE,
  computeSectionSize,
  type DeviceTwin,
  type JsonObject,
} from '@twinkit/twin-model';
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';

/**
 * The largest twin response or notification body accepted, in bytes: 512 KiB, 8 bytes of JSON
 * for every unit of IoT Hub's size formula in both sections. Real twins stay far below (a unit
 * is one character or 8 for a number; JSON adds quotes, colons and commas), so only a hub that
 * breaks IoT Hub's limits reaches it.
 */
export const MAX_TWIN_RESPONSE_BYTES = 8 * (MAX_DESIRED_SIZE + MAX_REPORTED_SIZE);

/** Room for what travels around a body: the MQTT topic or the AMQP properties and annotations. */
export const MESSAGE_ENVELOPE_BYTES = 4096;

/** The largest whole message (an MQTT packet, an AMQP message) a transport accepts. */
export const MAX_TWIN_MESSAGE_BYTES = MAX_TWIN_RESPONSE_BYTES + MESSAGE_ENVELOPE_BYTES;

/** What the protocol allows for a version, as {@link UnexpectedResponseError.expected} says it. */
export const VERSION_EXPECTED = 'a $version that is a non-negative integer';

/**
 * Whether a value is a twin version: a non-negative safe integer.
 *
 * @param value - what the hub sent
 * @returns whether it is one
 */
export function isTwinVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a version written as text (an MQTT topic's `$version=`): decimal digits only.
 *
 * @param text - the parameter's value
 * @returns the version, or `undefined` when it is not one
 */
export function parseVersionText(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A short, safe rendering of a value the hub sent, for an error message. */
function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    text = String(value);
  } else if (typeof value === 'object' && value !== null) {
    try {
      text = JSON.stringify(value);
    } catch {
      text = 'an object';
    }
  } else {
    text = value === null ? 'null' : typeof value;
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * The error for a `$version` the protocol does not allow.
 *
 * @param where - what carried it, e.g. `the response topic of a twin read`
 * @param got - the value as the hub sent it; `undefined` when there was none
 * @param statusCode - the response's status; `undefined` for a notification
 * @returns the error
 */
export function malformedVersionError(
  where: string,
  got: unknown,
  statusCode: number | undefined,
): UnexpectedResponseError {
  const sent = got === undefined ? 'no $version' : `$version ${describeValue(got)}`;
  return new UnexpectedResponseError(
    `The hub sent ${sent} in ${where}; a twin version is a non-negative integer. ` +
      'The hub is not IoT Hub or misbehaves; the answer was not used.',
    statusCode,
    VERSION_EXPECTED,
  );
}

/**
 * Refuses a body larger than any twin IoT Hub sends.
 *
 * @param bytes - the body's size in bytes
 * @param operation - what was asked, or what arrived
 * @param statusCode - the response's status; `undefined` for a notification
 * @throws {@link UnexpectedResponseError} when `bytes` exceeds {@link MAX_TWIN_RESPONSE_BYTES}
 */
export function assertResponseSize(
  bytes: number,
  operation: string,
  statusCode: number | undefined,
): void {
  if (bytes <= MAX_TWIN_RESPONSE_BYTES) return;
  throw new UnexpectedResponseError(
    `${operation}: the hub sent a body of ${String(bytes)} bytes, more than any twin IoT Hub ` +
      `sends (${String(MAX_TWIN_RESPONSE_BYTES)} bytes); it was not read.`,
    statusCode,
    `a body of at most ${String(MAX_TWIN_RESPONSE_BYTES)} bytes`,
  );
}

/** Checks a body's size, then parses it; `undefined` when it is not JSON. */
const utf8 = new TextEncoder();

function parseBody(
  body: string | undefined,
  operation: string,
  statusCode: number | undefined,
): unknown {
  const text = body ?? '';
  // A UTF-16 unit is at most 3 UTF-8 bytes, so most bodies need no encoding to be measured.
  if (text.length * 3 > MAX_TWIN_RESPONSE_BYTES)
    assertResponseSize(utf8.encode(text).byteLength, operation, statusCode);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the device view of a twin from a successful twin GET response body.
 *
 * @param body - the body's text
 * @param operation - what was asked, for the error message
 * @param statusCode - the response's status
 * @returns the twin
 * @throws {@link UnexpectedResponseError} when the body is too large or not a twin, a section's
 *   `$version` is missing, negative or not an integer, or a section exceeds IoT Hub's size limit
 */
export function readDeviceTwin(
  body: string | undefined,
  operation: string,
  statusCode: number | undefined,
): DeviceTwin {
  const value = parseBody(body, operation, statusCode);
  const { desired, reported } = (isObject(value) ? value : {}) as {
    desired?: unknown;
    reported?: unknown;
  };
  if (!isObject(desired) || !isObject(reported)) {
    throw new UnexpectedResponseError(
      `${operation} returned a body that is not a device twin ({"desired":{…},"reported":{…}}).`,
      statusCode,
      'a device twin with desired and reported sections',
    );
  }
  for (const [name, section, limit] of [
    ['desired', desired, MAX_DESIRED_SIZE],
    ['reported', reported, MAX_REPORTED_SIZE],
  ] as const) {
    if (!isTwinVersion(section.$version)) {
      throw malformedVersionError(`the ${name} section of a twin`, section.$version, statusCode);
    }
    const size = computeSectionSize(section);
    if (size > limit) {
      throw new UnexpectedResponseError(
        `${operation} returned a twin whose ${name} section has size ${String(size)}, more than ` +
          `IoT Hub's limit of ${String(limit)}; it was not used.`,
        statusCode,
        `a ${name} section within IoT Hub's size limit (${String(limit)})`,
      );
    }
  }
  return { desired, reported } as DeviceTwin;
}

/**
 * Reads a desired-property notification body: a JSON object (the patch) whose `$version`, when
 * the hub puts one in, is a twin version.
 *
 * @param body - the body's text
 * @returns the patch without `$version`, and the body's `$version` if it had one
 * @throws {@link UnexpectedResponseError} when the body is too large, not a JSON object, or its
 *   `$version` is malformed
 */
export function readDesiredNotification(body: string | undefined): {
  patch: JsonObject;
  version: number | undefined;
} {
  const what = 'A desired-property notification';
  const value = parseBody(body, what, undefined);
  if (!isObject(value)) {
    throw new UnexpectedResponseError(
      `${what} arrived with a body that is not a JSON object; it was dropped.`,
      undefined,
      'a desired patch as a JSON object',
    );
  }
  const { $version, ...patch } = value;
  if ($version !== undefined && !isTwinVersion($version)) {
    throw malformedVersionError('the body of a desired-property notification', $version, undefined);
  }
  return { patch, version: $version };
}
