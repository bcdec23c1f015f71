/**
 * `POST /devices` (and `/devices/`): bulk identity and twin operations on up to 100 entries
 * (docs/internals/wire-contract.md#bulk-twin-updates). Each entry succeeds or fails on its own; all of a request's writes share
 * one group commit.
 */
import { isHubError } from '@twinkit/twin-model/errors';
import { KnownBulkImportMode, quoteEtag } from '@twinkit/twin-model/protocol';
import type { HubCore, IdentityIds } from '../hub-core.js';
import { assertValidId, readIdentityRequest } from '../state/identity.js';
import { hubTextOf, jsonResponse } from './error-response.js';
import { hubFailure } from './hub-failure.js';

/** The import modes that only update a twin (ServiceConnect may send them). */
const TWIN_IMPORT_MODES = [
  KnownBulkImportMode.UpdateTwin,
  KnownBulkImportMode.UpdateTwinIfMatchETag,
] as const;

/** The most entries one bulk request may carry. */
export const MAX_BULK_ITEMS = 100;

type ImportMode =
  | 'create'
  | 'update'
  | 'updateIfMatchETag'
  | 'delete'
  | 'deleteIfMatchETag'
  | 'createOrUpdate'
  | 'createOrUpdateIfMatchETag'
  | (typeof TWIN_IMPORT_MODES)[number];

const MODES: ReadonlyMap<string, ImportMode> = new Map(
  (
    [
      'create',
      'update',
      'updateIfMatchETag',
      'delete',
      'deleteIfMatchETag',
      'createOrUpdate',
      'createOrUpdateIfMatchETag',
      ...TWIN_IMPORT_MODES,
    ] as const
  ).map((mode) => [mode.toLowerCase(), mode]),
);

/**
 * Whether a bulk entry only updates a twin (its `importMode` is a twin mode, in any case), so
 * a ServiceConnect caller may send it.
 *
 * @param item - one entry of the request body
 */
export function isTwinImport(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const mode = (item as Record<string, unknown>).importMode;
  const known = typeof mode === 'string' ? MODES.get(mode.toLowerCase()) : undefined;
  return (TWIN_IMPORT_MODES as readonly (ImportMode | undefined)[]).includes(known);
}

interface BulkError {
  deviceId: string;
  moduleId: string | null;
  errorCode: string;
  errorStatus: string;
  operation: string;
}

/**
 * Runs a bulk request.
 *
 * @param core - the hub core
 * @param body - the parsed request body (an array of ExportImportDevice entries)
 * @returns 200 `{isSuccessful:true,errors:[],warnings:[]}`, or 400 with the same shape listing
 *   the entries that failed
 * @throws 400 ArgumentInvalid when the body is not an array or has more than 100 entries
 */
export async function handleBulk(core: HubCore, body: unknown): Promise<Response> {
  if (!Array.isArray(body)) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      'The bulk request body must be a JSON array of device entries.',
    );
  }
  if (body.length > MAX_BULK_ITEMS) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `Too many devices: a bulk request may carry at most ${String(MAX_BULK_ITEMS)} entries, got ${String(body.length)}.`,
    );
  }
  const errors: BulkError[] = [];
  const commits: Promise<void>[] = [];
  const seen = new Set<string>();
  for (const item of body as unknown[]) {
    const record =
      typeof item === 'object' && item !== null && !Array.isArray(item)
        ? (item as Record<string, unknown>)
        : {};
    const deviceId =
      typeof record.id === 'string'
        ? record.id
        : typeof record.deviceId === 'string'
          ? record.deviceId
          : '';
    const moduleId =
      typeof record.moduleId === 'string' && record.moduleId !== '' ? record.moduleId : undefined;
    const rawMode = record.importMode;
    // C# omits importMode when it is its default, createOrUpdate; Node capitalises some modes.
    const mode =
      rawMode === undefined || rawMode === null
        ? 'createOrUpdate'
        : MODES.get(typeof rawMode === 'string' ? rawMode.toLowerCase() : JSON.stringify(rawMode));
    try {
      if (mode === undefined)
        throw hubFailure(400, 'ArgumentInvalid', `Unknown importMode ${JSON.stringify(rawMode)}.`);
      assertValidId(deviceId, 'DeviceId');
      if (moduleId !== undefined) assertValidId(moduleId, 'ModuleId');
      const key = `${deviceId}\u0000${moduleId ?? ''}`;
      if (seen.has(key)) {
        throw hubFailure(
          400,
          'ArgumentInvalid',
          'The same identity appears more than once in this bulk request.',
        );
      }
      seen.add(key);
      const committed = applyEntry(core, { deviceId, moduleId }, mode, record);
      commits.push(committed);
    } catch (error) {
      errors.push(toBulkError(error, deviceId, moduleId, mode ?? String(rawMode)));
    }
  }
  await Promise.all(commits);
  const result = { isSuccessful: errors.length === 0, errors, warnings: [] as unknown[] };
  return jsonResponse(errors.length === 0 ? 200 : 400, result);
}

function applyEntry(
  core: HubCore,
  ids: IdentityIds,
  mode: ImportMode,
  record: Record<string, unknown>,
): Promise<void> {
  const needsEtag = mode.endsWith('IfMatchETag');
  const commits: Promise<unknown>[] = [];
  switch (mode) {
    case KnownBulkImportMode.UpdateTwin:
    case KnownBulkImportMode.UpdateTwinIfMatchETag: {
      commits.push(
        writeTwinPart(
          core,
          ids,
          record,
          needsEtag ? quoteEtag(requireEtag(record.twinETag, mode, 'twin')) : undefined,
          true,
        ),
      );
      break;
    }
    case 'delete':
    case 'deleteIfMatchETag':
      commits.push(
        core.deleteIdentity(
          ids,
          needsEtag ? quoteEtag(requireEtag(record.eTag, mode, 'identity')) : undefined,
        ),
      );
      break;
    case 'create':
    case 'update':
    case 'updateIfMatchETag':
    case 'createOrUpdate':
    case 'createOrUpdateIfMatchETag': {
      const request = readIdentityRequest(record);
      const exists = core.identityExists(ids.deviceId, ids.moduleId);
      const create = mode === 'create' || (!exists && mode.startsWith('createOrUpdate'));
      if (create) {
        commits.push(core.createIdentity(ids, request).committed);
      } else {
        const ifMatch = needsEtag
          ? quoteEtag(requireEtag(record.eTag, mode, 'identity'))
          : undefined;
        commits.push(core.updateIdentity(ids, request, ifMatch).committed);
      }
      const twinCommit = writeTwinPart(core, ids, record, undefined, false);
      commits.push(twinCommit);
      break;
    }
  }
  return Promise.all(commits).then(() => undefined);
}

function writeTwinPart(
  core: HubCore,
  ids: IdentityIds,
  record: Record<string, unknown>,
  ifMatch: string | undefined,
  always: boolean,
): Promise<void> {
  const patch: Record<string, unknown> = {};
  if (record.tags !== undefined) patch.tags = record.tags;
  const properties = record.properties;
  if (typeof properties === 'object' && properties !== null && 'desired' in properties) {
    patch.properties = { desired: (properties as Record<string, unknown>).desired };
  }
  if (!always && Object.keys(patch).length === 0) return Promise.resolve();
  // Twin modes apply exactly like a service PATCH: merge, versions, desired notifications.
  return core.writeTwin(ids, 'update', patch, { ifMatch }).committed.then(() => undefined);
}

function requireEtag(value: unknown, mode: string, of: 'identity' | 'twin'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      of === 'twin'
        ? `importMode ${mode} needs the twinETag of the current twin.`
        : `importMode ${mode} needs the eTag of the current identity.`,
    );
  }
  return value.trim();
}

function toBulkError(
  error: unknown,
  deviceId: string,
  moduleId: string | undefined,
  operation: string,
): BulkError {
  if (isHubError(error)) {
    return {
      deviceId,
      moduleId: moduleId ?? null,
      errorCode: error.code,
      errorStatus: hubTextOf(error),
      operation,
    };
  }
  const text = error instanceof Error ? error.message : String(error);
  return {
    deviceId,
    moduleId: moduleId ?? null,
    errorCode: 'ArgumentInvalid',
    errorStatus: text,
    operation,
  };
}
