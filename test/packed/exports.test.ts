/**
 * Every export entry of every installed package loads by `import` and by `require` (Node ≥ 20.19
 * loads our ES modules through require(esm)) in a child `node` in the packed app, with the same
 * named exports both ways and the ones each entry promises. The entries come from the installed
 * package.json files, so a new entry is loaded here without editing this file (and fails until
 * its promised names are listed below).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { installedEntries } from './helpers/entries.ts';
import { importedPackages } from './helpers/imports-of-build.ts';
import { resultOf, runProgram } from './helpers/run-program.ts';

const { appDir } = inject('packedApp');

/** Names each entry must export (a sample of its public API, values only). */
const promisedExports: Record<string, readonly string[]> = {
  '@twinkit/twin-model': [
    'applyPatch',
    'diff',
    'createHubError',
    'PreconditionFailedError',
    'parseDeviceConnectionString',
  ],
  '@twinkit/twin-model/errors': [
    'HubError',
    'PreconditionFailedError',
    'createHubError',
    'isPreconditionFailedError',
  ],
  '@twinkit/twin-model/protocol': [
    'createSasToken',
    'parseDeviceConnectionString',
    'twinGetTopic',
    'HEADER',
  ],
  '@twinkit/twin-model/internal': ['createLogger', 'setLogLevel', 'setLogSink', 'backoffDelay'],
  '@twinkit/twin-model/query': [
    'compileQuery',
    'parseQuery',
    'createPagedIterator',
    'QuerySyntaxError',
  ],
  '@twinkit/device': [
    'DeviceClient',
    'mqtt',
    'SasKeyCredential',
    'PreconditionFailedError',
    'isHubError',
  ],
  '@twinkit/device/amqp': ['amqp'],
  '@twinkit/device/file-store': ['createFileStore'],
  '@twinkit/device/indexeddb-store': ['createIndexedDbStore'],
  '@twinkit/device/testing': ['createFakeTransport', 'FakeTransport'],
  '@twinkit/device/testing/contract': ['describeTransportContract'],
  '@twinkit/service': [
    'Registry',
    'SasKeyCredential',
    'createDeviceConnectionString',
    'PreconditionFailedError',
    'Query',
  ],
  '@twinkit/service/twins': [
    'createTwinClientFromConnectionString',
    'getTwin',
    'updateTwin',
    'queryTwins',
    'assertValidTwinUpdate',
  ],
  '@twinkit/hub': ['createHub', 'listen', 'WELL_KNOWN_POLICIES'],
  '@twinkit/hub/testing': ['startTestHub', 'createTestAccessToken', 'createTestClientCertificate'],
};

const entries = installedEntries(appDir);

/** A program that loads each entry one way and prints `{ entry: { keys } | { error } }`. */
function loaderProgram(way: 'import' | 'require'): string {
  const load = way === 'import' ? 'await import(entry)' : 'require(entry)';
  return `
    const entries = ${JSON.stringify(entries)};
    (async () => {
      const report = {};
      for (const entry of entries) {
        try {
          const namespace = ${load};
          report[entry] = { keys: Object.keys(namespace).filter((key) => key !== 'default' && key !== '__esModule').sort() };
        } catch (error) {
          report[entry] = { error: String(error && error.stack || error) };
        }
      }
      console.log('TWINKIT_RESULT ' + JSON.stringify(report));
    })();`;
}

describe('every export entry of the installed packages', () => {
  const loaded: Record<
    'import' | 'require',
    Record<string, { keys?: string[]; error?: string }>
  > = {
    import: {},
    require: {},
  };

  beforeAll(async () => {
    for (const way of ['import', 'require'] as const) {
      // A CommonJS program (`.cjs` semantics via --input-type) so `require` is the real one.
      const output = await runProgram(
        process.execPath,
        ['--input-type=commonjs', '-e', loaderProgram(way)],
        { cwd: appDir },
      );
      loaded[way] = resultOf(output) as (typeof loaded)[typeof way];
    }
  });

  it('finds the entries in the installed package.json files', () => {
    expect(entries.length).toBeGreaterThanOrEqual(Object.keys(promisedExports).length);
    expect(entries).toEqual(expect.arrayContaining(Object.keys(promisedExports)));
  });

  for (const entry of entries) {
    for (const way of ['import', 'require'] as const) {
      it(`${way}s ${entry} with its promised named exports`, () => {
        const result = loaded[way][entry];
        expect(result?.error).toBeUndefined();
        const promised = promisedExports[entry];
        expect(promised, `list what ${entry} promises in promisedExports`).toBeDefined();
        expect(result?.keys).toEqual(expect.arrayContaining([...(promised ?? [])]));
      });
    }
    it(`gives ${entry} the same named exports by import and by require`, () => {
      expect(loaded.require[entry]?.keys).toEqual(loaded.import[entry]?.keys);
    });
  }
});

describe('the dependencies each installed package declares', () => {
  const scopeDir = join(appDir, 'node_modules/@twinkit');
  for (const dir of readdirSync(scopeDir)) {
    const manifest = JSON.parse(readFileSync(join(scopeDir, dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    it(`${manifest.name} declares every package its build imports, and imports each dependency`, () => {
      const dependencies = Object.keys(manifest.dependencies ?? {});
      const declared = new Set([
        manifest.name,
        ...dependencies,
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      const imported = importedPackages(join(scopeDir, dir, 'dist'));
      expect(imported.filter((name) => !declared.has(name))).toEqual([]);
      expect(dependencies.filter((name) => !imported.includes(name))).toEqual([]);
    });
  }
});
