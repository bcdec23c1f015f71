import { describe, expect, it } from 'vitest';
import { UnexpectedResponseError } from './errors/local-errors.js';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  clampPageSize,
  createPagedIterator,
  type ContinuablePage,
  type PageSettings,
} from './paging.js';

describe('clampPageSize', () => {
  it.each([
    [undefined, 100],
    [Number.NaN, 100],
    [Number.POSITIVE_INFINITY, 100],
    [1, 1],
    [50, 50],
    [100, 100],
    [101, 100],
    [1000, 100],
    [0, 1],
    [-5, 1],
    [2.9, 2],
  ])('turns %s into %i', (requested, expected) => {
    expect(clampPageSize(requested)).toBe(expected);
  });

  it('uses a configured maximum, keeping the default when it fits', () => {
    expect(clampPageSize(5000, 1000)).toBe(1000);
    expect(clampPageSize(undefined, 1000)).toBe(DEFAULT_PAGE_SIZE);
    expect(clampPageSize(undefined, 10)).toBe(10);
    expect(clampPageSize(7, 10.5)).toBe(7);
    expect(clampPageSize(11, 10.5)).toBe(10);
  });

  it('rejects a maximum below 1 or not finite', () => {
    expect(() => clampPageSize(5, 0)).toThrow(RangeError);
    expect(() => clampPageSize(5, Number.NaN)).toThrow(RangeError);
    expect(() => clampPageSize(5, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('shares the documented default and maximum', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(100);
    expect(MAX_PAGE_SIZE).toBe(100);
  });
});

/** A page source over an array whose tokens are stringified offsets; records each call. */
function source(items: number[], options: { emptyLastToken?: boolean } = {}) {
  const calls: PageSettings[] = [];
  const getPage = (settings: PageSettings): Promise<ContinuablePage<number>> => {
    calls.push(settings);
    const offset =
      settings.continuationToken === undefined ? 0 : Number(settings.continuationToken);
    const size = settings.maxPageSize ?? 3;
    const page = items.slice(offset, offset + size);
    const next = offset + size;
    if (next < items.length)
      return Promise.resolve({ items: page, continuationToken: String(next) });
    return Promise.resolve(
      options.emptyLastToken ? { items: page, continuationToken: '' } : { items: page },
    );
  };
  return { getPage, calls };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('createPagedIterator', () => {
  it('iterates every item across pages', async () => {
    const { getPage, calls } = source(range(7));
    const seen: number[] = [];
    for await (const item of createPagedIterator(getPage)) seen.push(item);
    expect(seen).toEqual(range(7));
    expect(calls).toEqual([{}, { continuationToken: '3' }, { continuationToken: '6' }]);
  });

  it('fetches nothing until iteration starts', () => {
    const { getPage, calls } = source(range(4));
    createPagedIterator(getPage);
    expect(calls).toEqual([]);
  });

  it('walks pages with their tokens, the last page without one', async () => {
    const { getPage, calls } = source(range(5));
    const pages: ContinuablePage<number>[] = [];
    for await (const page of createPagedIterator(getPage).byPage({ maxPageSize: 2 }))
      pages.push(page);
    expect(pages).toEqual([
      { items: [0, 1], continuationToken: '2' },
      { items: [2, 3], continuationToken: '4' },
      { items: [4] },
    ]);
    expect(calls.map((c) => c.maxPageSize)).toEqual([2, 2, 2]);
  });

  it('resumes from a continuation token', async () => {
    const { getPage } = source(range(5));
    const pages: number[][] = [];
    for await (const page of createPagedIterator(getPage).byPage({
      continuationToken: '4',
      maxPageSize: 2,
    })) {
      pages.push(page.items);
    }
    expect(pages).toEqual([[4]]);
  });

  it('uses the default page size when byPage names none', async () => {
    const { getPage, calls } = source(range(3));
    const paged = createPagedIterator(getPage, { maxPageSize: 1 });
    const pages: number[][] = [];
    for await (const page of paged.byPage()) pages.push(page.items);
    expect(pages).toEqual([[0], [1], [2]]);
    expect(calls[0]).toEqual({ maxPageSize: 1 });
  });

  it('ends on an empty continuation token', async () => {
    const { getPage } = source(range(2), { emptyLastToken: true });
    const pages: ContinuablePage<number>[] = [];
    for await (const page of createPagedIterator(getPage).byPage()) pages.push(page);
    expect(pages).toEqual([{ items: [0, 1] }]);
  });

  it('yields empty pages that carry a token and continues', async () => {
    const responses: ContinuablePage<string>[] = [
      { items: [], continuationToken: 't' },
      { items: ['x'] },
    ];
    const paged = createPagedIterator(() => Promise.resolve(responses.shift() ?? { items: [] }));
    const pages: ContinuablePage<string>[] = [];
    for await (const page of paged.byPage()) pages.push(page);
    expect(pages).toEqual([{ items: [], continuationToken: 't' }, { items: ['x'] }]);
  });

  it('stops fetching when the consumer breaks early', async () => {
    const { getPage, calls } = source(range(9));
    const paged = createPagedIterator(getPage);
    for await (const item of paged) {
      if (item === 1) break;
    }
    expect(calls).toHaveLength(1);
    await expect(paged.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('is its own async iterator and supports next() directly', async () => {
    const { getPage } = source([10, 20]);
    const paged = createPagedIterator(getPage);
    expect(paged[Symbol.asyncIterator]()).toBe(paged);
    await expect(paged.next()).resolves.toEqual({ done: false, value: 10 });
    await expect(paged.next()).resolves.toEqual({ done: false, value: 20 });
    await expect(paged.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('lets byPage start over independently of item iteration', async () => {
    const { getPage } = source(range(4));
    const paged = createPagedIterator(getPage);
    await paged.next();
    const all: number[] = [];
    for await (const page of paged.byPage()) all.push(...page.items);
    expect(all).toEqual(range(4));
  });

  it('passes errors of the page source to the consumer', async () => {
    const paged = createPagedIterator<number>(() => Promise.reject(new Error('hub down')));
    await expect(paged.next()).rejects.toThrow('hub down');
  });

  it('rejects page sizes that are not positive integers', () => {
    const { getPage } = source([]);
    expect(() => createPagedIterator(getPage, { maxPageSize: 0 })).toThrow(RangeError);
    const paged = createPagedIterator(getPage);
    expect(() => paged.byPage({ maxPageSize: 1.5 })).toThrow(RangeError);
    expect(() => paged.byPage({ maxPageSize: -1 })).toThrow(RangeError);
  });
});

describe('a server that repeats its continuation token', () => {
  it('stops paging with UnexpectedResponseError instead of looping forever', async () => {
    let calls = 0;
    const pages = createPagedIterator<number>(() => {
      calls++;
      return Promise.resolve({ items: [calls], continuationToken: calls === 1 ? 'a' : 'b' });
    });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of pages) seen.push(item);
      })(),
    ).rejects.toBeInstanceOf(UnexpectedResponseError);
    expect(seen).toEqual([1, 2]);
    expect(calls).toBe(3);
  });

  it('also stops when the first page hands back the token it was started from', async () => {
    const pages = createPagedIterator<number>(() =>
      Promise.resolve({ items: [1], continuationToken: 'same' }),
    );
    const walk = pages.byPage({ continuationToken: 'same' });
    await expect(walk.next()).rejects.toThrow(/repeated a continuation token/);
  });
});
