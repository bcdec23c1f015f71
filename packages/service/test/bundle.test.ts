/**
 * The package must bundle for browsers and for worker-like runtimes with no Node built-in at all
 * (docs/internals/architecture.md#seams), and a typical program must stay small. esbuild resolves the workspace
 * sources through the `@twinkit/source` condition, so this checks the code as written.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** A program that gets, updates and queries twins: what the size budget is about. */
const TYPICAL_PROGRAM = `
import { Registry } from '@twinkit/service';
const registry = Registry.fromConnectionString(globalThis.IOTHUB_CONNECTION_STRING);
const twin = await registry.getTwin('dev-1');
await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
for await (const t of registry.queryTwins("SELECT * FROM devices WHERE tags.site = 'lyon'")) globalThis.seen?.(t.deviceId);
`;

/** Everything the package's entries export, so the whole public surface is checked, not just one path. */
const WHOLE_ENTRY = `export * from '@twinkit/service';
export * from '@twinkit/service/twins';`;

const nodeBuiltins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

async function bundle(
  contents: string,
  platform: 'browser' | 'neutral',
  condition: 'browser' | 'worker',
  minify: boolean,
) {
  const result = await build({
    stdin: { contents, resolveDir: packageDir, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform,
    conditions: ['@twinkit/source', condition],
    mainFields: ['module', 'main'],
    minify,
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0]?.text ?? '';
  return { output, metafile: result.metafile };
}

function nodeImports(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (nodeBuiltins.has(imported.path) || imported.path.startsWith('node:'))
        found.push(imported.path);
    }
  }
  return found;
}

describe('bundling @twinkit/service', () => {
  for (const [platform, condition] of [
    ['browser', 'browser'],
    ['neutral', 'worker'],
  ] as const) {
    it(
      `bundles for platform ${platform} with condition ${condition} without any Node built-in`,
      { timeout: 20_000 },
      async () => {
        // Minified, so doc comments (whose examples mention process.env) are gone and only code is checked.
        const { output, metafile } = await bundle(WHOLE_ENTRY, platform, condition, true);
        expect(nodeImports(metafile)).toEqual([]);
        expect(output).not.toMatch(/\brequire\(|from ?['"]node:|\bprocess\.|\bBuffer\b/);
        const exported = Object.values(metafile.outputs).flatMap((file) => file.exports);
        expect(exported).toEqual(
          expect.arrayContaining([
            'Registry',
            'SasKeyCredential',
            'PreconditionFailedError',
            'setLogLevel',
            'createTwinClient',
            'getTwin',
          ]),
        );
      },
    );
  }

  // A regression budget for the Registry class: its methods cannot be tree-shaken, so identities,
  // bulk updates, Plug and Play rollouts and the client-side twin rules come along (about 16.8 KB
  // when set). Issue 16's 12 KB goal is met by the same program on the tree-shakable functions of
  // @twinkit/service/twins, which test/bundle/service.test.ts measures from the built packages.
  it(
    'keeps a get-update-query program under its 17.5 KB minified+gzipped budget',
    { timeout: 20_000 },
    async () => {
      const { output } = await bundle(TYPICAL_PROGRAM, 'neutral', 'worker', true);
      const gzipped = gzipSync(output, { level: 9 }).length;
      console.log(`get+update+query program: ${output.length} B minified, ${gzipped} B gzipped`);
      expect(gzipped).toBeLessThan(17.5 * 1024);
    },
  );
});
