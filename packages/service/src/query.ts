import type { JsonObject, JsonValue, Twin } from '@twinkit/twin-model';
import type { QueryNextOptions } from './options.js';
import { KnownQueryItemType } from '@twinkit/twin-model/protocol';

/** One page of query results as the hub returned it (docs/internals/wire-contract.md#rest-query). */
export interface QueryPageResult {
  /** The page's items: twins for `SELECT *`, plain objects for projections and aggregates. */
  items: JsonValue[];
  /** Present when more pages exist; send it back to get the next one. */
  continuationToken?: string;
  /** `x-ms-item-type`: `Twin`, `Raw`, `DeviceJob`, …, when the hub sent it. */
  itemType?: string;
}

/** Fetches one page of a query; supplied by the registry. @internal */
export type QueryPageFetcher = (
  continuationToken: string | undefined,
  options: QueryNextOptions | undefined,
) => Promise<QueryPageResult>;

/**
 * A query read one page at a time, kept for code written against the official SDK's `Query`: call
 * {@link Query.next} or {@link Query.nextAsTwin} while {@link Query.hasMoreResults} is `true`.
 * A failed call leaves the position unchanged, so calling again retries the same page.
 * New code uses `registry.queryTwins()` (whole twins) or `registry.query()` (rows) instead.
 *
 * @example
 * ```ts
 * const query = registry.createQuery("SELECT COUNT() AS n FROM devices WHERE tags.site = 'lyon'");
 * const [row] = await query.next(); // { n: 42 }
 * ```
 */
export class Query {
  readonly #fetchPage: QueryPageFetcher;
  #continuationToken: string | undefined;
  #hasMoreResults = true;
  #itemType: string | undefined;

  /** @internal Created by `Registry.createQuery`. */
  constructor(fetchPage: QueryPageFetcher, continuationToken?: string) {
    this.#fetchPage = fetchPage;
    this.#continuationToken = continuationToken;
  }

  /** Whether another call to `next()` can return items. `true` before the first page. */
  get hasMoreResults(): boolean {
    return this.#hasMoreResults;
  }

  /** The token for the next page, to resume later with `createQuery(sql, { continuationToken })`. */
  get continuationToken(): string | undefined {
    return this.#continuationToken;
  }

  /** The item type of the last page (`Twin` for `SELECT *`, `Raw` for projections), once known. */
  get itemType(): string | undefined {
    return this.#itemType;
  }

  /**
   * Reads the next page as plain JSON: the right call for projections and aggregates.
   *
   * @param options - abort signal
   * @returns the page's items; an empty array once {@link Query.hasMoreResults} is `false`
   * @throws {@link BadRequestError} when the hub rejects the query text
   */
  async next<T = JsonValue>(options?: QueryNextOptions): Promise<T[]> {
    const page = await this.#advance(options, false);
    return page as T[];
  }

  /**
   * Reads the next page as twins.
   *
   * @param options - abort signal
   * @returns the page's twins; an empty array once {@link Query.hasMoreResults} is `false`
   * @throws {@link TypeError} when the query returns something other than twins (use `next()`);
   *   the page is not consumed
   * @throws {@link BadRequestError} when the hub rejects the query text
   */
  async nextAsTwin<
    TDesired extends object = JsonObject,
    TReported extends object = JsonObject,
    TTags extends object = JsonObject,
  >(options?: QueryNextOptions): Promise<Twin<TDesired, TReported, TTags>[]> {
    const page = await this.#advance(options, true);
    return page as unknown as Twin<TDesired, TReported, TTags>[];
  }

  async #advance(options: QueryNextOptions | undefined, asTwin: boolean): Promise<JsonValue[]> {
    if (!this.#hasMoreResults) return [];
    const page = await this.#fetchPage(this.#continuationToken, options);
    if (asTwin) {
      const notTwin = page.itemType !== undefined && page.itemType !== KnownQueryItemType.Twin;
      const missingId = page.items.some(
        (item) =>
          typeof item !== 'object' ||
          item === null ||
          Array.isArray(item) ||
          typeof item.deviceId !== 'string',
      );
      if (notTwin || missingId) {
        throw new TypeError(
          `The query returned ${page.itemType ?? 'non-twin'} items (a projection or aggregate), not twins; read them with next() instead of nextAsTwin()`,
        );
      }
    }
    this.#itemType = page.itemType;
    this.#continuationToken = page.continuationToken;
    this.#hasMoreResults = page.continuationToken !== undefined;
    return page.items;
  }
}
