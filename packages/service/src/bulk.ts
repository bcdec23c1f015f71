/**
 * Bulk twin updates: many twin patches in as few `POST /devices` requests as the hub allows, each
 * item's failure reported as the typed error its single-twin call would have thrown
 * (docs/internals/wire-contract.md#bulk-twin-updates).
 */
import type { JsonObject } from '@twinkit/twin-model';
import { createHubError, lookupHubErrorCode, type HubError } from '@twinkit/twin-model/errors';
import { HEADER, KnownBulkImportMode, TWIN_REST_OPERATIONS } from '@twinkit/twin-model/protocol';
import { callRest, type RestClient } from './http/rest-client.js';
import type { BulkTwinUpdate, BulkTwinUpdateItemResult, UpdateTwinsResult } from './models.js';
import { buildTwinBody, describeTwin, resolveTwinTarget, type TwinTarget } from './twin-body.js';
import type { TwinBodyCheck } from './twin-validation.js';

/** The hub accepts at most this many entries per bulk request (docs/internals/wire-contract.md#bulk-twin-updates). */
export const MAX_BULK_ITEMS = 100;

interface BulkErrorEntry {
  deviceId?: string;
  moduleId?: string | null;
  errorCode?: string | number;
  errorStatus?: string;
}

interface BulkResponseBody {
  isSuccessful?: boolean;
  errors?: BulkErrorEntry[];
  warnings?: UpdateTwinsResult['warnings'];
}

function isBulkResponse(body: unknown): body is BulkResponseBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Array.isArray((body as BulkResponseBody).errors)
  );
}

function keyOf(target: { deviceId: string; moduleId?: string | undefined }): string {
  return `${target.deviceId}\u0000${target.moduleId ?? ''}`;
}

interface PreparedItem {
  target: TwinTarget;
  entry: JsonObject;
}

/**
 * Validates every item and builds its bulk entry; nothing is sent when one is bad.
 *
 * @param updates - the caller's items
 * @param onlyIfUnchanged - whether each item's `etag` is its condition
 * @param checkTwinBody - the client's content check, if it has one
 * @returns the entries in input order
 */
function prepare(
  updates: readonly BulkTwinUpdate[],
  onlyIfUnchanged: boolean,
  checkTwinBody: TwinBodyCheck | undefined,
): PreparedItem[] {
  if (!Array.isArray(updates))
    throw new TypeError('updates must be an array of { deviceId, tags?, properties? }');
  const seen = new Set<string>();
  return updates.map((update, index) => {
    const target = resolveTwinTarget(update as BulkTwinUpdate);
    if (seen.has(keyOf(target))) {
      throw new TypeError(
        `updates[${index}] repeats ${describeTwin(target)}; merge its patches into one item`,
      );
    }
    seen.add(keyOf(target));
    const context = `Bulk twin update of ${describeTwin(target)} (item ${index})`;
    const body = buildTwinBody(update, 'patch', context);
    checkTwinBody?.(body, 'patch', context);
    if (onlyIfUnchanged && target.etag === undefined) {
      throw new TypeError(
        `updates[${index}] (${describeTwin(target)}) needs an etag because onlyIfUnchanged is set`,
      );
    }
    const entry: JsonObject = {
      id: target.deviceId,
      importMode: onlyIfUnchanged
        ? KnownBulkImportMode.UpdateTwinIfMatchETag
        : KnownBulkImportMode.UpdateTwin,
      ...body,
    };
    if (target.moduleId !== undefined) entry.moduleId = target.moduleId;
    if (onlyIfUnchanged && target.etag !== undefined) entry.twinETag = target.etag;
    return { target, entry };
  });
}

/**
 * Sends the items in chunks of {@link MAX_BULK_ITEMS} and collects per-item outcomes.
 *
 * @param client - the registry's client
 * @param updates - the caller's items
 * @param onlyIfUnchanged - whether each item's `etag` is its condition
 * @param signal - the operation's signal
 * @returns per-item outcomes in input order, and the hub's warnings
 */
export async function updateTwins(
  client: RestClient,
  updates: readonly BulkTwinUpdate[],
  onlyIfUnchanged: boolean,
  signal: AbortSignal | undefined,
): Promise<UpdateTwinsResult> {
  const items = prepare(updates, onlyIfUnchanged, client.checkTwinBody);
  const results: BulkTwinUpdateItemResult[] = [];
  const warnings: UpdateTwinsResult['warnings'] = [];
  for (let start = 0; start < items.length; start += MAX_BULK_ITEMS) {
    const chunk = items.slice(start, start + MAX_BULK_ITEMS);
    let failures = new Map<string, HubError>();
    let chunkError: HubError | undefined;
    try {
      const outcome = await sendChunk(client, chunk, onlyIfUnchanged, signal);
      failures = outcome.failures;
      warnings.push(...outcome.warnings);
    } catch (error) {
      signal?.throwIfAborted();
      if (!(error instanceof Error) || !('statusCode' in error)) throw error;
      chunkError = error as HubError;
    }
    for (const { target } of chunk) {
      const failure = chunkError ?? failures.get(keyOf(target));
      const result: BulkTwinUpdateItemResult = {
        deviceId: target.deviceId,
        succeeded: failure === undefined,
      };
      if (target.moduleId !== undefined) result.moduleId = target.moduleId;
      if (failure !== undefined) result.error = failure;
      results.push(result);
    }
  }
  return { isSuccessful: results.every((r) => r.succeeded), results, warnings };
}

async function sendChunk(
  client: RestClient,
  chunk: readonly PreparedItem[],
  onlyIfUnchanged: boolean,
  signal: AbortSignal | undefined,
): Promise<{ failures: Map<string, HubError>; warnings: UpdateTwinsResult['warnings'] }> {
  const operation = TWIN_REST_OPERATIONS.updateTwins;
  const result = await callRest(
    client,
    operation,
    {
      body: chunk.map((item) => item.entry),
      acceptErrorBody: isBulkResponse,
      // Every item conditional on its ETag: a repeat fails with 412 instead of applying twice.
      idempotent: onlyIfUnchanged,
    },
    signal,
  );
  const body: BulkResponseBody = isBulkResponse(result.body)
    ? result.body
    : { isSuccessful: true, errors: [], warnings: [] };
  const failures = new Map<string, HubError>();
  for (const item of body.errors ?? []) {
    const deviceId = typeof item.deviceId === 'string' ? item.deviceId : '';
    const moduleId =
      typeof item.moduleId === 'string' && item.moduleId !== '' ? item.moduleId : undefined;
    const info = item.errorCode === undefined ? undefined : lookupHubErrorCode(item.errorCode);
    failures.set(
      keyOf({ deviceId, moduleId }),
      createHubError({
        statusCode: info?.statusCode ?? 400,
        code: item.errorCode,
        message: item.errorStatus,
        requestId: result.headers.get(HEADER.requestId) ?? undefined,
        deviceId,
        moduleId,
        operation: operation.description,
      }),
    );
  }
  return { failures, warnings: Array.isArray(body.warnings) ? body.warnings : [] };
}
