import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Every example folder whose package.json has a `start` script: each is a self-checking program. */
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) => {
    const manifest = JSON.parse(readFileSync(join(examplesDir, name, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    return manifest.scripts?.start !== undefined;
  });

describe('examples', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  for (const name of examples) {
    it(`${name} runs to a successful end`, async () => {
      // The same command `pnpm start` runs in the example folder, minus pnpm's own start-up.
      const { stdout } = await run(
        process.execPath,
        ['--conditions=@twinkit/source', '--import', 'tsx', 'src/main.ts'],
        { cwd: join(examplesDir, name), env: { ...process.env, FORCE_COLOR: '0' }, timeout: 110_000 },
      );
      expect(stdout.length).toBeGreaterThan(0);
    });
  }
});
