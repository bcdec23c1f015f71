/**
 * Paging shared by the hub and the clients: the page-size rule of IoT Hub queries and the
 * Azure-style `PagedAsyncIterableIterator` that list operations return.
 *
 * @see docs/internals/twin-semantics.md#query-paging
 */
import { UnexpectedResponseError } from './errors/local-errors.js';

/** Page size when a query request names none (`x-ms-max-item-count` absent). */
export const DEFAULT_PAGE_SIZE = 100;

/** Largest page IoT Hub serves; larger requests are clamped (the service "may use a different value"). */
export const MAX_PAGE_SIZE = 100;

/**
 * Applies the page-size rule: a missing or non-numeric request gets the default, anything else
 * is rounded down and clamped to `1..max`.
 *
 * @param requested - the page size asked for (e.g. the `x-ms-max-item-count` header), if any
 * @param max - the largest page served; {@link MAX_PAGE_SIZE} unless configured otherwise
 * @returns the page size to use
 * @throws RangeError when `max` is not a number of at least 1
 * @example
 * ```ts
 * clampPageSize(undefined); // 100
 * clampPageSize(500);       // 100
 * clampPageSize(0);         // 1
 * ```
 */
export function clampPageSize(requested: number | undefined, max: number = MAX_PAGE_SIZE): number {
  if (!Number.isFinite(max) || max < 1) {
    throw new RangeError(
      `The maximum page size must be a number of at least 1, not ${String(max)}.`,
    );
  }
  const limit = Math.floor(max);
  if (requested === undefined || !Number.isFinite(requested))
    return Math.min(DEFAULT_PAGE_SIZE, limit);
  return Math.min(limit, Math.max(1, Math.floor(requested)));
}

/** Where `byPage` starts and how large the pages it asks for are. */
export interface PageSettings {
  /** Resume from this token (from an earlier page); absent for the first page. */
  continuationToken?: string;
  /** The page size to ask for; the server may serve fewer. */
  maxPageSize?: number;
}

/** One page of results and the token for the next one (absent on the last page). */
export interface ContinuablePage<T> {
  items: T[];
  continuationToken?: string;
}

/**
 * An async iterator over all items of a list operation that can also be walked page by page.
 *
 * @typeParam T - the item type
 * @typeParam PageT - the page type `byPage` yields
 * @typeParam PageSettingsT - the settings `byPage` takes
 */
export interface PagedAsyncIterableIterator<
  T,
  PageT = ContinuablePage<T>,
  PageSettingsT = PageSettings,
> extends AsyncIterableIterator<T> {
  [Symbol.asyncIterator](): PagedAsyncIterableIterator<T, PageT, PageSettingsT>;
  /**
   * Walks the results page by page, each time from the start (or `continuationToken`).
   *
   * @param settings - where to start and the page size
   * @returns an async iterator of pages; it ends after the page without a continuation token
   * @throws RangeError when `maxPageSize` is not a positive integer
   * @throws UnexpectedResponseError (while iterating) when the server repeats a continuation token
   */
  byPage(settings?: PageSettingsT): AsyncIterableIterator<PageT>;
}

/** Fetches one page; gets `continuationToken` and `maxPageSize` only when they are set. */
export type PageFetcher<T> = (settings: PageSettings) => Promise<ContinuablePage<T>>;

function assertPageSize(size: number | undefined): void {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 1)) {
    throw new RangeError(`maxPageSize must be a positive integer, not ${String(size)}.`);
  }
}

async function* walkPages<T>(
  getPage: PageFetcher<T>,
  start: PageSettings,
): AsyncGenerator<ContinuablePage<T>> {
  let token = start.continuationToken;
  // A server that hands back a token it gave before would have us page forever.
  const seen = new Set<string>();
  if (token !== undefined) seen.add(token);
  for (;;) {
    const settings: PageSettings = {};
    if (token !== undefined) settings.continuationToken = token;
    if (start.maxPageSize !== undefined) settings.maxPageSize = start.maxPageSize;
    const page = await getPage(settings);
    const next = page.continuationToken;
    // An empty token ends the walk too: the C# SDK treats only a non-empty token as "more" (docs/internals/twin-semantics.md#query-paging).
    if (next === undefined || next === '') {
      yield { items: page.items };
      return;
    }
    if (seen.has(next)) {
      throw new UnexpectedResponseError(
        `The server repeated a continuation token it had already sent (after ${seen.size} page(s)); paging stopped instead of looping forever. The server is not behaving as an IoT Hub.`,
        200,
        'a new continuation token on every page',
      );
    }
    seen.add(next);
    yield { items: page.items, continuationToken: next };
    token = next;
  }
}

/**
 * Builds a {@link PagedAsyncIterableIterator} from a function that fetches one page. Nothing is
 * fetched until iteration starts; iterating items walks pages until one has no token.
 *
 * @param getPage - fetches the page at a continuation token
 * @param defaults - the page size used when `byPage` names none
 * @returns the paged iterator
 * @throws RangeError when `defaults.maxPageSize` is not a positive integer
 * @example
 * ```ts
 * const twins = createPagedIterator((settings) => fetchQueryPage(query, settings));
 * for await (const twin of twins) console.log(twin.deviceId);
 * for await (const page of twins.byPage({ maxPageSize: 10 })) console.log(page.items.length);
 * ```
 */
export function createPagedIterator<T>(
  getPage: PageFetcher<T>,
  defaults: { maxPageSize?: number } = {},
): PagedAsyncIterableIterator<T> {
  assertPageSize(defaults.maxPageSize);
  const byPage = (settings: PageSettings = {}): AsyncIterableIterator<ContinuablePage<T>> => {
    assertPageSize(settings.maxPageSize);
    const start: PageSettings = {};
    if (settings.continuationToken !== undefined)
      start.continuationToken = settings.continuationToken;
    const size = settings.maxPageSize ?? defaults.maxPageSize;
    if (size !== undefined) start.maxPageSize = size;
    return walkPages(getPage, start);
  };
  let items: AsyncGenerator<T> | undefined;
  const allItems = (): AsyncGenerator<T> =>
    (items ??= (async function* () {
      for await (const page of byPage()) yield* page.items;
    })());
  const iterator: PagedAsyncIterableIterator<T> = {
    next: () => allItems().next(),
    return: (value?: unknown) => allItems().return(value),
    [Symbol.asyncIterator]: () => iterator,
    byPage,
  };
  return iterator;
}
