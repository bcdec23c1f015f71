/**
 * Twin queries of the Registry, all over `POST /devices/query` with `x-ms-continuation` paging:
 * `queryTwins` (whole twins), `query` (projections and aggregates), the device list (IoT Hub pages
 * devices only through the devices query) and the page fetcher behind the seed-compatible `Query`.
 * The paging rules: docs/internals/twin-semantics.md#query-paging.
 */
import { createPagedIterator, type PagedAsyncIterableIterator } from '@twinkit/twin-model';
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import { HEADER, KnownQueryItemType, TWIN_REST_OPERATIONS } from '@twinkit/twin-model/protocol';
import { selectsWholeTwins } from '@twinkit/twin-model/query';
import { callRest, runOperation, type RestClient } from './http/rest-client.js';
import type { OperationOptions } from './options.js';
import type { QueryPageResult } from './query.js';
import { expectArray, isIdentified } from './response-shape.js';

/**
 * Reads one page of a query.
 *
 * @param client - the registry's client
 * @param name - the Registry method, for its time limit
 * @param sql - the query text
 * @param continuationToken - where to resume, or `undefined` for the first page
 * @param pageSize - `x-ms-max-item-count`, or `undefined` for the hub's default
 * @param options - the caller's abort signal
 * @returns the page's items, its continuation token and item type
 */
export function queryPage(
  client: RestClient,
  name: string,
  sql: string,
  continuationToken: string | undefined,
  pageSize: number | undefined,
  options: OperationOptions | undefined,
): Promise<QueryPageResult> {
  return runOperation(client, name, options, async (signal) => {
    const headers: Record<string, string> = {};
    if (pageSize !== undefined) headers[HEADER.maxItemCount] = String(pageSize);
    if (continuationToken !== undefined) headers[HEADER.continuation] = continuationToken;
    const operation = TWIN_REST_OPERATIONS.queryTwins;
    const result = await callRest(client, operation, { body: { query: sql }, headers }, signal);
    const page: QueryPageResult = {
      items: expectArray(operation.description, result, 'a JSON array of query results'),
    };
    // An empty token would restart the query at page 1; only a non-empty one means "more".
    const next = result.headers.get(HEADER.continuation);
    if (next !== null && next !== '') page.continuationToken = next;
    const itemType = result.headers.get(HEADER.itemType);
    if (itemType !== null && itemType !== '') page.itemType = itemType;
    return page;
  });
}

/**
 * Checks a query argument.
 *
 * @param sql - the argument
 * @throws {@link TypeError} when it is not a non-empty string
 */
export function assertQueryText(sql: unknown): asserts sql is string {
  if (typeof sql !== 'string' || sql.trim() === '')
    throw new TypeError('query must be a non-empty string');
}

/**
 * A paged iterator over a query's rows, each page mapped by `toItems`.
 *
 * @param client - the registry's client
 * @param name - the Registry method, for its time limit
 * @param sql - the query text
 * @param options - the caller's abort signal, for the whole iteration
 * @param toItems - checks and converts one page's items
 * @returns the iterator; `byPage({ continuationToken, maxPageSize })` resumes and sizes pages
 */
export function pagedQuery<T>(
  client: RestClient,
  name: string,
  sql: string,
  options: OperationOptions | undefined,
  toItems: (page: QueryPageResult) => T[],
): PagedAsyncIterableIterator<T> {
  const abortSignal = options?.abortSignal;
  return createPagedIterator<T>(async (settings) => {
    const page = await queryPage(
      client,
      name,
      sql,
      settings.continuationToken,
      settings.maxPageSize,
      { abortSignal },
    );
    const result: { items: T[]; continuationToken?: string } = { items: toItems(page) };
    if (page.continuationToken !== undefined) result.continuationToken = page.continuationToken;
    return result;
  });
}

/**
 * The items of a page that must hold whole twins.
 *
 * @param page - a query page
 * @returns its items, typed by the caller
 * @throws {@link UnexpectedResponseError} when the hub says or shows they are not twins
 */
export function twinsOf<T>(page: QueryPageResult): T[] {
  const typed = page.itemType === undefined || page.itemType === KnownQueryItemType.Twin;
  if (!typed || !page.items.every((item) => isIdentified(item))) {
    throw new UnexpectedResponseError(
      `A twin query answered ${page.itemType ?? 'untyped'} items that are not all twins (objects with a deviceId).`,
      200,
      'whole twins',
    );
  }
  return page.items as T[];
}

/**
 * Refuses a projection or aggregate where whole twins are promised.
 *
 * @param sql - the query text
 * @throws {@link TypeError} naming `query()` when the query selects anything but `*`
 */
export function assertSelectsWholeTwins(sql: string): void {
  if (selectsWholeTwins(sql) === false) {
    throw new TypeError(
      `queryTwins returns whole twins, but this query selects a projection or aggregate (or devices.jobs): use registry.query<Row>(sql) for those rows. Query: ${sql}`,
    );
  }
}

/**
 * The items of any query page, as the caller's row type.
 *
 * @param page - a query page
 * @returns its items
 */
export function rowsOf<T>(page: QueryPageResult): T[] {
  return page.items as unknown as T[];
}
