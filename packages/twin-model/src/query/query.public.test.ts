import { describe, expect, it } from 'vitest';
import * as root from '@twinkit/twin-model';
import {
  DEFAULT_PAGE_SIZE,
  INVALID_QUERY_MESSAGE,
  MAX_PAGE_SIZE,
  MAX_QUERY_LENGTH,
  QuerySyntaxError,
  clampPageSize,
  compileQuery,
  computeQueryHash,
  createContinuationToken,
  createPagedIterator,
  evaluateQuery,
  isQuerySyntaxError,
  parseQuery,
  readContinuationToken,
} from '@twinkit/twin-model/query';

describe('@twinkit/twin-model/query', () => {
  it('runs a query through the public entry', () => {
    const query = compileQuery("SELECT deviceId FROM devices WHERE tags.env = 'prod'");
    expect(query.execute([{ deviceId: 'a', tags: { env: 'prod' } }, { deviceId: 'b' }])).toEqual([
      { deviceId: 'a' },
    ]);
    expect(parseQuery('SELECT * FROM devices').from).toBe('devices');
    expect(evaluateQuery('SELECT COUNT() AS n FROM devices', [{}, {}])).toEqual([{ n: 2 }]);
  });

  it('throws the shared QuerySyntaxError that the guard recognises', () => {
    let caught: unknown;
    try {
      parseQuery('SELECT * FRM devices');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QuerySyntaxError);
    expect(caught).toBeInstanceOf(root.QuerySyntaxError);
    expect(isQuerySyntaxError(caught)).toBe(true);
    expect((caught as Error).message).toContain(INVALID_QUERY_MESSAGE);
  });

  it('exposes the limits, the page-size rule and the token helpers', async () => {
    expect([MAX_QUERY_LENGTH, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE]).toEqual([8192, 100, 100]);
    expect(clampPageSize(250)).toBe(100);
    const queryHash = await computeQueryHash('q');
    const token = await createContinuationToken({ offset: 1, queryHash }, 's');
    expect(await readContinuationToken(token, 's')).toEqual({ offset: 1, queryHash });
    const pages = createPagedIterator(() => Promise.resolve({ items: [1, 2] }));
    const items: number[] = [];
    for await (const item of pages) items.push(item);
    expect(items).toEqual([1, 2]);
  });

  it('exports the paging API from the main entry too', () => {
    expect(root.createPagedIterator).toBe(createPagedIterator);
    expect(root.clampPageSize).toBe(clampPageSize);
    expect(root.DEFAULT_PAGE_SIZE).toBe(100);
    expect(root.MAX_PAGE_SIZE).toBe(100);
  });
});
