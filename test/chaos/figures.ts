/**
 * Collects the figures each chaos file measures and prints them as one table when the file ends,
 * so `pnpm test:chaos` output can be pasted into docs/security.md.
 */
import { afterAll } from 'vitest';

interface Figure {
  readonly what: string;
  readonly value: string;
}

/**
 * Starts a figure table for one concern; it prints after the file's tests.
 *
 * @param concern - the heading
 * @returns `record(what, value)`
 */
export function figureTable(concern: string): (what: string, value: string | number) => void {
  const figures: Figure[] = [];
  afterAll(() => {
    const width = Math.max(...figures.map((figure) => figure.what.length), 10);
    const lines = figures.map((figure) => `  ${figure.what.padEnd(width)}  ${figure.value}`);
    process.stdout.write(`\n== chaos figures: ${concern} ==\n${lines.join('\n')}\n\n`);
  });
  return (what, value) => {
    figures.push({ what, value: String(value) });
  };
}
