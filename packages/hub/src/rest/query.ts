/**
 * `POST /devices/query`: runs twin-model's query engine over the in-memory twins and pages the
 * result with opaque continuation tokens (docs/internals/wire-contract.md#rest-query, docs/internals/twin-semantics.md#query-paging).
 */
import { HEADER } from '@twinkit/twin-model/protocol';
import type { JsonObject } from '@twinkit/twin-model';
import {
  clampPageSize,
  compileQuery,
  computeQueryHash,
  createContinuationToken,
  readContinuationToken,
  type CompiledQuery,
} from '@twinkit/twin-model/query';
import type { HubCore } from '../hub-core.js';
import { jsonResponse } from './error-response.js';
import { hubFailure } from './hub-failure.js';

/** Paging settings of the query endpoint. */
export interface QueryPaging {
  /** Largest page the hub returns (clamps `x-ms-max-item-count`); default 100. */
  maxPageSize?: number | undefined;
  /** Secret that signs continuation tokens (random per hub instance). */
  secret: string;
}

interface CachedResult {
  revision: number;
  items: JsonObject[];
}

// A paged walk re-sends the same query for every page: keep a few results until the data changes.
const RESULT_CACHE_LIMIT = 8;
const resultCaches = new WeakMap<HubCore, Map<string, CachedResult>>();

/**
 * Handles a query request.
 *
 * @param core - the hub core
 * @param request - the HTTP request (headers)
 * @param body - the parsed request body
 * @param paging - page size limit and token secret
 * @returns 200 with a JSON array, `x-ms-item-type` always, `x-ms-continuation` only when more pages exist
 * @throws 400 ArgumentInvalid for a bad body, query or continuation token
 */
export async function handleQuery(
  core: HubCore,
  request: Request,
  body: unknown,
  paging: QueryPaging,
): Promise<Response> {
  const text =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>).query
      : undefined;
  if (typeof text !== 'string' || text.trim() === '') {
    throw hubFailure(400, 'ArgumentInvalid', 'The request body must be {"query":"<query text>"}.');
  }
  const compiled = compileQuery(text);
  const queryHash = await computeQueryHash(text);

  const requestedSize = request.headers.get(HEADER.maxItemCount);
  const parsedSize = requestedSize === null ? undefined : Number.parseInt(requestedSize, 10);
  const pageSize = clampPageSize(
    Number.isFinite(parsedSize) ? parsedSize : undefined,
    paging.maxPageSize,
  );

  let offset = 0;
  const continuation = request.headers.get(HEADER.continuation);
  if (continuation !== null && continuation !== '') {
    const state = await readContinuationToken(continuation, paging.secret);
    if (state === undefined) {
      throw hubFailure(
        400,
        'ArgumentInvalid',
        'The continuation token is not valid for this hub; restart the query.',
      );
    }
    if (state.queryHash !== queryHash) {
      throw hubFailure(
        400,
        'ArgumentInvalid',
        'The continuation token belongs to a different query; re-send the same query text.',
      );
    }
    offset = state.offset;
  }

  const items = resultsOf(core, compiled, queryHash);
  const page = items.slice(offset, offset + pageSize);
  const headers: Record<string, string> = { [HEADER.itemType]: compiled.itemType };
  const next = offset + page.length;
  if (page.length > 0 && next < items.length) {
    headers[HEADER.continuation] = await createContinuationToken(
      { offset: next, queryHash },
      paging.secret,
    );
  }
  return jsonResponse(200, page, headers);
}

function resultsOf(core: HubCore, compiled: CompiledQuery, queryHash: string): JsonObject[] {
  let cache = resultCaches.get(core);
  if (cache === undefined) {
    cache = new Map();
    resultCaches.set(core, cache);
  }
  const key = `${compiled.collection}:${queryHash}`;
  const cached = cache.get(key);
  if (cached?.revision === core.revision) return cached.items;
  const items = compiled.execute(documentsOf(core, compiled.collection));
  if (cache.size >= RESULT_CACHE_LIMIT) cache.clear();
  cache.set(key, { revision: core.revision, items });
  return items;
}

function* documentsOf(
  core: HubCore,
  collection: CompiledQuery['collection'],
): IterableIterator<JsonObject> {
  switch (collection) {
    case 'devices':
      for (const entry of core.deviceEntries()) yield core.serviceDocument(entry);
      return;
    case 'devices.modules':
      for (const entry of core.moduleEntries()) yield core.serviceDocument(entry);
      return;
    case 'devices.jobs':
      // The hub runs no jobs, so there are no per-device job records to return.
      return;
  }
}
