/**
 * A device's twin requests as every device protocol carries them, and their answers as
 * `{ status, version, body }`: MQTT puts the status and version in the response topic
 * (docs/internals/wire-contract.md#mqtt-twin-get, docs/internals/wire-contract.md#mqtt-reported-patch), AMQP in the `status` and `version` annotations (docs/internals/wire-contract.md#amqp-twin-links); the body is the
 * same JSON on both. Failures carry IoT Hub's device error body with a numeric `errorCode` (docs/internals/wire-contract.md#device-errors).
 */
import { randomUUID } from 'node:crypto';
import { formatDeviceErrorBody, isHubError } from '@twinkit/twin-model/errors';
import { IOT_HUB_DEVICE_LIMITS } from '@twinkit/twin-model/protocol';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import type { HubCore } from '../hub-core.js';
import { wireTextOf } from '../rest/hub-failure.js';

/** A twin request of a device or module. */
export type TwinRequest =
  | { readonly kind: 'get' }
  | {
      readonly kind: 'patch-reported';
      /** The request body as received (UTF-8 JSON), or `undefined` when it had none. */
      readonly body: string | undefined;
      /** The `$version` the device expects `reported` to have (412 when stale). */
      readonly baseVersion?: number | undefined;
    };

/** The answer to a twin request. */
export interface TwinResponse {
  /** 200 for a GET, 204 for a reported PATCH, or the error status. */
  readonly status: number;
  /** The new `reported.$version` of a successful PATCH. */
  readonly version?: number | undefined;
  /** JSON: the device view of the twin, or the error body; absent for a 204. */
  readonly body?: string | undefined;
}

/**
 * The most bytes a reported-properties PATCH body may have before it is parsed. IoT Hub keeps
 * reported properties to 32 KB (counted on keys and values, so the JSON text can be larger);
 * four times that leaves room for JSON punctuation and escapes while refusing anything that
 * could not possibly fit.
 */
export const MAX_REPORTED_PATCH_BODY_BYTES = 4 * IOT_HUB_DEVICE_LIMITS.reportedProperties;

/**
 * Builds an error answer with IoT Hub's device error body.
 *
 * @param status - the status
 * @param code - the hub error code name or number
 * @param message - the message (never a secret)
 * @param nowMs - the current time, for `timestampUtc`
 * @returns the response
 */
export function twinErrorResponse(
  status: number,
  code: string | number,
  message: string,
  nowMs: number,
): TwinResponse {
  const body = formatDeviceErrorBody(
    code,
    message,
    randomUUID().replaceAll('-', ''),
    new Date(nowMs).toISOString(),
  );
  return { status, body: JSON.stringify(body) };
}

/**
 * Performs a twin request against the hub. It reads or stages the twin before its first await, so
 * a caller knows a request was applied as soon as the call returns (device connections start the
 * next reported patch of an identity then, and a burst of patches joins one group commit).
 *
 * @param hub - the hub core
 * @param identity - who asks (already authorised)
 * @param request - the request
 * @param nowMs - the current time
 * @returns the response; hub failures become error responses, never exceptions
 */
export async function performTwinRequest(
  hub: HubCore,
  identity: DeviceIdentity,
  request: TwinRequest,
  nowMs: number,
): Promise<TwinResponse> {
  try {
    if (request.kind === 'get') {
      // docs/internals/wire-contract.md#mqtt-twin-get, docs/internals/wire-contract.md#amqp-twin-links: 200 with the device view (both sections, both $version, no tags or $metadata).
      const twin = hub.getDeviceTwin(identity.deviceId, identity.moduleId);
      return { status: 200, body: JSON.stringify(twin) };
    }
    const text = request.body ?? '';
    if (Buffer.byteLength(text, 'utf8') > MAX_REPORTED_PATCH_BODY_BYTES) {
      return twinErrorResponse(
        413,
        'MessageTooLarge',
        `The reported properties patch is larger than ${String(MAX_REPORTED_PATCH_BODY_BYTES)} bytes; IoT Hub keeps reported properties to 32 KB.`,
        nowMs,
      );
    }
    let patch: unknown;
    try {
      patch = JSON.parse(text);
    } catch {
      return twinErrorResponse(
        400,
        'ArgumentInvalid',
        'The reported properties patch is not valid JSON.',
        nowMs,
      );
    }
    const { version } = await hub.updateReported(
      identity.deviceId,
      identity.moduleId,
      patch,
      request.baseVersion,
    );
    // docs/internals/wire-contract.md#mqtt-reported-patch, docs/internals/wire-contract.md#amqp-twin-links: 204 with the new reported $version and no body.
    return { status: 204, version };
  } catch (error) {
    if (isHubError(error))
      return twinErrorResponse(
        error.statusCode,
        error.code,
        wireTextOf(error) ?? error.message,
        nowMs,
      );
    return twinErrorResponse(
      500,
      'ServerError',
      'The hub failed to process the twin request.',
      nowMs,
    );
  }
}
