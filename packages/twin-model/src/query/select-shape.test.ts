import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileQuery, selectsWholeTwins } from '@twinkit/twin-model/query';

/** Every complete query written as a plain string literal in this folder's tests. */
function queriesFromTests(): string[] {
  const folder = new URL('.', import.meta.url);
  const found = new Set<string>();
  for (const file of readdirSync(folder)) {
    if (!file.endsWith('.test.ts') || file === 'select-shape.test.ts') continue;
    const text = readFileSync(new URL(file, folder), 'utf8');
    for (const match of text.matchAll(/'(\s*SELECT [^'\n]*)'|"(\s*SELECT [^"\n]*)"/gi))
      found.add(match[1] ?? match[2] ?? '');
  }
  return [...found];
}

describe('selectsWholeTwins', () => {
  it('agrees with the parser on every query the query tests use that compiles', () => {
    let compared = 0;
    for (const query of queriesFromTests()) {
      let itemType: string;
      try {
        itemType = compileQuery(query).itemType;
      } catch {
        continue;
      }
      compared++;
      expect([query, selectsWholeTwins(query)]).toEqual([query, itemType === 'Twin']);
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('answers undefined for text that is not a SELECT', () => {
    expect(selectsWholeTwins('DELETE FROM devices')).toBeUndefined();
    expect(selectsWholeTwins('')).toBeUndefined();
    expect(selectsWholeTwins('select top 5 * from devices.modules')).toBe(true);
    expect(selectsWholeTwins('SELECT * FROM devices.jobs')).toBe(false);
    expect(selectsWholeTwins('SELECT COUNT() AS n FROM devices')).toBe(false);
  });
});
