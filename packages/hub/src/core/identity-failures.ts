/**
 * The failures IoT Hub answers for identity lookups and writes: missing device or module,
 * an id already taken, an If-Match that does not match the identity's etag.
 */
import type { HubError } from '@twinkit/twin-model/errors';
import { isQuoted, unquoteEtag } from '@twinkit/twin-model/protocol';
import { hubFailure } from '../rest/hub-failure.js';
import { formatIdentityEtag, type IdentityRecord } from '../state/identity.js';

/**
 * The 404 for a missing device.
 *
 * @param deviceId - the device
 * @param hostName - the hub, named in the message as IoT Hub does
 */
export function deviceNotFound(deviceId: string, hostName: string): HubError {
  return hubFailure(404, 'DeviceNotFound', `Device ${deviceId} not found on IotHub ${hostName}.`, {
    deviceId,
  });
}

/**
 * The 404 for a missing module.
 *
 * @param deviceId - the device
 * @param moduleId - the module
 */
export function moduleNotFound(deviceId: string, moduleId: string): HubError {
  return hubFailure(404, 'ModuleNotFound', `Module ${moduleId} not found on device ${deviceId}.`, {
    deviceId,
    moduleId,
  });
}

/**
 * The 409 for a device or module id that is already registered.
 *
 * @param deviceId - the device
 * @param moduleId - the module, for a module
 */
export function identityAlreadyExists(deviceId: string, moduleId: string | undefined): HubError {
  return moduleId === undefined
    ? hubFailure(
        409,
        'DeviceAlreadyExists',
        `A device with ID '${deviceId}' is already registered.`,
        {
          deviceId,
        },
      )
    : hubFailure(
        409,
        'ModuleAlreadyExistsOnDevice',
        `A module with ID '${moduleId}' is already registered on device '${deviceId}'.`,
        { deviceId, moduleId },
      );
}

/**
 * Checks an If-Match header against an identity's etag: `*`, empty or absent match anything;
 * in `ignore-unquoted` mode an unquoted value is ignored too.
 *
 * @param identity - the identity being written
 * @param ifMatch - the If-Match header value, or undefined
 * @param mode - how unquoted values are treated
 * @throws a 412 PreconditionFailed HubError when the etag does not match
 */
export function checkIdentityEtag(
  identity: IdentityRecord,
  ifMatch: string | undefined,
  mode: 'strict' | 'ignore-unquoted',
): void {
  if (ifMatch === undefined) return;
  const value = unquoteEtag(ifMatch);
  if (value === '*' || value === '') return;
  const quoted = isQuoted(ifMatch.trim().replace(/^W\//, ''));
  if (!quoted && mode === 'ignore-unquoted') return;
  if (value !== formatIdentityEtag(identity.etagNumber)) {
    throw hubFailure(
      412,
      'PreconditionFailed',
      `Precondition failed: the etag does not match the current etag of ${identity.moduleId === undefined ? 'device' : 'module'} '${identity.moduleId ?? identity.deviceId}'.`,
      { deviceId: identity.deviceId, moduleId: identity.moduleId },
    );
  }
}
