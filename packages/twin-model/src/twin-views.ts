/**
 * The two views of a stored twin: what the service reads (`GET /twins/{id}`, identity fields and
 * `$metadata` included) and what a device reads (both property sections with `$version` only).
 * See docs/internals/twin-semantics.md#twin-document.
 */
import { cloneJson } from './patch/json.js';
import type { StoredTwin, TwinIdentityFields } from './twin-document.js';
import type { DeviceTwin, JsonObject, Twin, TwinMetadata } from './types.js';
import { formatEtag } from './version.js';

/**
 * The service view of a twin (docs/internals/twin-semantics.md#twin-document): identity fields, `etag`, `version`, `tags` (left out
 * when there are none, like the real hub), and both property sections with `$metadata` and
 * `$version`. The result shares nothing with `twin` or `identity`.
 *
 * @param twin - the stored twin
 * @param identity - registry fields to include (status, connection state, …)
 * @returns the twin as `GET /twins/{id}` returns it
 * @example
 * ```ts
 * toServiceTwin(twin, { status: 'enabled', connectionState: 'Disconnected' });
 * ```
 */
export function toServiceTwin(twin: StoredTwin, identity: TwinIdentityFields = {}): Twin {
  const view: Record<string, unknown> = { deviceId: twin.deviceId };
  if (twin.moduleId !== undefined) view.moduleId = twin.moduleId;
  view.etag = formatEtag(twin.etagCounter);
  const copy = structuredClone(identity);
  for (const key of leadingIdentityKeys) {
    if (copy[key] !== undefined) view[key] = copy[key];
  }
  view.version = twin.version;
  if (Object.keys(twin.tags).length > 0) view.tags = cloneJson(twin.tags);
  view.properties = {
    desired: serviceSection(twin.desired, twin.desiredMetadata, twin.desiredVersion),
    reported: serviceSection(twin.reported, twin.reportedMetadata, twin.reportedVersion),
  };
  for (const key of trailingIdentityKeys) {
    if (copy[key] !== undefined) view[key] = copy[key];
  }
  return view as unknown as Twin;
}

/**
 * The device view of a twin (docs/internals/twin-semantics.md#twin-document): what a device's GET returns — both sections with `$version`,
 * no tags, no identity fields, no `$metadata`.
 *
 * @param twin - the stored twin
 * @returns `{ desired: {…, $version}, reported: {…, $version} }`, sharing nothing with `twin`
 */
export function toDeviceTwin(twin: StoredTwin): DeviceTwin {
  return {
    desired: withVersion(twin.desired, twin.desiredVersion) as DeviceTwin['desired'],
    reported: withVersion(twin.reported, twin.reportedVersion) as DeviceTwin['reported'],
  };
}

// Field order of real twins (docs/internals/twin-semantics.md#twin-document): identity fields before `version`, edge scopes after `properties`.
const leadingIdentityKeys = [
  'deviceEtag',
  'status',
  'statusReason',
  'statusUpdateTime',
  'connectionState',
  'lastActivityTime',
  'cloudToDeviceMessageCount',
  'authenticationType',
  'x509Thumbprint',
  'modelId',
] as const satisfies readonly (keyof TwinIdentityFields)[];
const trailingIdentityKeys = [
  'capabilities',
  'deviceScope',
  'parentScopes',
  'configurations',
] as const satisfies readonly (keyof TwinIdentityFields)[];

function serviceSection(
  content: JsonObject,
  metadata: TwinMetadata,
  version: number,
): Twin['properties']['desired'] {
  const section: Record<string, unknown> = cloneJson(content);
  section.$metadata = structuredClone(metadata);
  section.$version = version;
  return section as Twin['properties']['desired'];
}

export function withVersion(content: JsonObject, version: number): JsonObject {
  const body = cloneJson(content);
  body.$version = version;
  return body;
}
