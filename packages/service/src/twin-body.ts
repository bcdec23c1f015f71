/**
 * Turns what callers pass to the twin write methods into a request body and an `If-Match`, and
 * rejects bad input before anything is sent (docs/internals/architecture.md#client-conventions; docs/internals/twin-semantics.md#replace, docs/internals/twin-semantics.md#edge-cases, docs/internals/twin-semantics.md#limits).
 */
import type { JsonObject, JsonValue } from '@twinkit/twin-model';
import { quoteEtag } from '@twinkit/twin-model/protocol';
import type { TwinId } from './models.js';
import type { UpdateTwinOptions } from './options.js';

/** A resolved twin address. */
export interface TwinTarget {
  deviceId: string;
  moduleId: string | undefined;
  /** The ETag carried by the object the caller passed, if any. */
  etag: string | undefined;
}

/**
 * Reads the device (and module) id from a {@link TwinId}.
 *
 * @param id - a device id or an object with `deviceId` (and `moduleId`, `etag`)
 * @returns the target
 * @throws {@link TypeError} when the ids are missing or empty
 */
export function resolveTwinTarget(id: TwinId): TwinTarget {
  if (typeof id === 'string') {
    assertId(id, 'deviceId');
    return { deviceId: id, moduleId: undefined, etag: undefined };
  }
  if (typeof (id as unknown) !== 'object' || (id as unknown) === null) {
    throw new TypeError(
      'Pass a device id or a twin (an object with deviceId) to say which twin to act on',
    );
  }
  assertId(id.deviceId, 'deviceId');
  if (id.moduleId !== undefined) assertId(id.moduleId, 'moduleId');
  return {
    deviceId: id.deviceId,
    moduleId: id.moduleId ?? undefined,
    etag: typeof id.etag === 'string' && id.etag !== '' ? id.etag : undefined,
  };
}

/**
 * Checks an id argument.
 *
 * @param value - the argument
 * @param name - its name, for the message
 * @throws {@link TypeError} when it is not a non-empty string
 */
export function assertId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value === '')
    throw new TypeError(`${name} must be a non-empty string`);
}

/**
 * Works out the `If-Match` header of a conditional write.
 *
 * @param target - the twin (or identity) being written, with the ETag it was read at
 * @param options - `etag` or `onlyIfUnchanged`
 * @param what - what is being written, for the message
 * @returns the quoted ETag, or `undefined` for an unconditional write
 * @throws {@link TypeError} when `onlyIfUnchanged` is set but no ETag is known
 */
export function ifMatchFor(
  target: { etag: string | undefined },
  options: UpdateTwinOptions | undefined,
  what: string,
): string | undefined {
  if (options?.etag !== undefined) {
    if (typeof options.etag !== 'string' || options.etag === '')
      throw new TypeError('The etag option must be a non-empty string');
    return quoteEtag(options.etag);
  }
  if (options?.onlyIfUnchanged === true) {
    if (target.etag === undefined) {
      throw new TypeError(
        `onlyIfUnchanged needs the ${what}'s etag: pass the object you read (it carries etag) or the etag option`,
      );
    }
    return quoteEtag(target.etag);
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops the read-only members a twin read from the hub carries at the desired root (docs/internals/twin-semantics.md#edge-cases). */
function withoutReserved(section: unknown): unknown {
  if (!isObject(section) || (!('$metadata' in section) && !('$version' in section))) return section;
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
}

/**
 * Builds the body of a twin PATCH or PUT: only `tags` and `properties.desired` (docs/internals/wire-contract.md#rest-operations).
 * Their content is checked by the client's {@link TwinBodyCheck}, if it has one (twin-validation.ts).
 *
 * In `replace` mode both sections are always sent, an omitted one as `{}`, because a PUT replaces
 * both wholesale (docs/internals/twin-semantics.md#replace) and saying so explicitly avoids relying on unconfirmed hub
 * behaviour for omitted sections.
 *
 * @param update - `{ tags?, properties?: { desired? } }`; a whole `Twin` also works
 * @param mode - `patch` (merge) or `replace`
 * @param context - what and which twin, for messages, e.g. `Twin update for device 'dev-1'`
 * @returns the JSON body
 * @throws {@link TypeError} when `update` is not an object or (for a patch) changes nothing
 */
export function buildTwinBody(
  update: unknown,
  mode: 'patch' | 'replace',
  context: string,
): JsonObject {
  if (!isObject(update)) {
    throw new TypeError(
      `${context}: pass an object such as { tags: {...}, properties: { desired: {...} } }`,
    );
  }
  const properties = update.properties;
  if (properties !== undefined && properties !== null && !isObject(properties)) {
    throw new TypeError(`${context}: properties must be an object such as { desired: {...} }`);
  }
  let tags: unknown = update.tags;
  let desired: unknown = withoutReserved(isObject(properties) ? properties.desired : undefined);
  if (mode === 'replace') {
    tags ??= {};
    desired ??= {};
  } else if (tags === undefined && desired === undefined) {
    throw new TypeError(
      `${context}: the patch changes nothing; give tags and/or properties.desired`,
    );
  }
  const body: JsonObject = {};
  if (tags !== undefined) body.tags = tags as JsonValue;
  if (desired !== undefined) body.properties = { desired: desired as JsonValue };
  return body;
}

/**
 * Describes a twin for messages, in the words `createHubError` uses.
 *
 * @param target - the twin
 * @returns `device 'dev-1'` or `module 'dev-1/mod-1'`
 */
export function describeTwin(target: { deviceId: string; moduleId: string | undefined }): string {
  return target.moduleId === undefined
    ? `device '${target.deviceId}'`
    : `module '${target.deviceId}/${target.moduleId}'`;
}
