// The programs issue 16 sets browser bundle budgets for, and the one way they are measured
// (esbuild, browser platform, minified, gzip level 9, from the built packages as an installed app
// resolves them). Plain JavaScript so that both the budget tests (service.test.ts) and the report
// (bench/compare/measure-static.mjs, run without a build step) use this same file.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Get, update with an ETag, query: with the tree-shakable functions of `@twinkit/service/twins`. */
const SERVICE_TWINS = `
import { createTwinClientFromConnectionString, getTwin, updateTwin, queryTwins } from '@twinkit/service/twins';
const client = createTwinClientFromConnectionString(globalThis.IOTHUB_CONNECTION_STRING);
const twin = await getTwin(client, 'dev-1');
await updateTwin(client, twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
for await (const t of queryTwins(client, "SELECT * FROM devices WHERE tags.site = 'lyon'")) globalThis.seen?.(t.deviceId);
`;

/** The same program on the `Registry` class, whose every method comes along (class methods do not tree-shake). */
const SERVICE_REGISTRY = `
import { Registry } from '@twinkit/service';
const registry = Registry.fromConnectionString(globalThis.IOTHUB_CONNECTION_STRING);
const twin = await registry.getTwin('dev-1');
await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
for await (const t of registry.queryTwins("SELECT * FROM devices WHERE tags.site = 'lyon'")) globalThis.seen?.(t.deviceId);
`;

/** A device over MQTT on WebSocket: open, read the twin, report, follow desired changes. */
const DEVICE = `
import { DeviceClient, mqtt } from '@twinkit/device';
const device = DeviceClient.fromConnectionString(globalThis.CS, { transport: mqtt({ webSocket: true }) });
await device.open();
const twin = await device.getTwin();
await device.updateReportedProperties({ seen: twin.desired.$version });
device.onDesired((change) => globalThis.show?.(change));
`;

export const SIZE_PROGRAMS = Object.freeze({
  'service-twins': SERVICE_TWINS,
  'service-registry': SERVICE_REGISTRY,
  device: DEVICE,
});

/**
 * Bundles a program for browsers from the built packages (run `pnpm build` first).
 *
 * @param {string} source - the program
 * @returns {Promise<{ code: string; gzipped: number }>} the minified code and its gzipped bytes
 */
export async function browserBundle(source) {
  const result = await build({
    stdin: {
      contents: source,
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles.map((file) => file.text).join('');
  return { code, gzipped: gzipSync(code, { level: 9 }).byteLength };
}
