import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

/**
 * Every example folder whose package.json has a `start` script: each is a self-checking program
 * (the demo is one of them). Folders without one, such as `_shared`, are libraries.
 */
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter(
    (entry) => entry.isDirectory() && existsSync(join(examplesDir, entry.name, 'package.json')),
  )
  .map((entry) => entry.name)
  .filter((name) => {
    const manifest = JSON.parse(readFileSync(join(examplesDir, name, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    return manifest.scripts?.start !== undefined;
  });

// Examples run against an in-process hub here, never against a hub named by the environment.
const {
  IOTHUB_CONNECTION_STRING: _service,
  IOTHUB_DEVICE_CONNECTION_STRING: _device,
  ...environment
} = process.env;

/** Runs an example as `pnpm start` would, and resolves with its exit code and output. */
function runExample(
  name: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@twinkit/source', '--import', 'tsx', 'src/main.ts'],
      {
        cwd: join(examplesDir, name),
        env: { ...environment, FORCE_COLOR: '0' },
        timeout: 110_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        });
      },
    );
  });
}

// Each example starts its own hub on ephemeral ports, so they can run side by side.
describe.concurrent('examples', () => {
  it('finds the examples, the demo among them', () => {
    expect(examples).toContain('demo');
    expect(examples.length).toBeGreaterThan(10);
  });

  for (const name of examples) {
    it(`${name} runs to a successful end`, async () => {
      const { code, stdout, stderr } = await runExample(name);
      // On failure, show where the narration stopped and why.
      expect({
        code,
        output: code === 0 ? '' : `${stdout.split('\n').slice(-15).join('\n')}\n${stderr}`,
      }).toEqual({ code: 0, output: '' });
      expect(stdout).toMatch(/✓/);
      // The demo names the explorer of its hub, so a new user can watch the fleet change.
      if (name === 'demo')
        expect(stdout).toMatch(/explorer: https:\/\/127\.0\.0\.1:\d+\/explorer\n/);
    });
  }
});
