// Cold import and bundle sizes: no hub needed.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHub, ours, root } from './shared.mjs';

const path = (url) => fileURLToPath(url);

/** What each side imports to connect a device (ours: the package; official: client + MQTT). */
function coldTargets() {
  return {
    ours: [path(ours.device)],
    official: [fromHub.resolve('azure-iot-device'), fromHub.resolve('azure-iot-device-mqtt')],
  };
}

/**
 * Milliseconds a fresh Node spends importing the targets (measured inside the process, so Node's
 * own start-up is left out).
 */
export function coldImport(side, way) {
  const targets = JSON.stringify(coldTargets()[side]);
  const program =
    way === 'esm'
      ? `const t=performance.now();for(const f of ${targets})await import(require('url').pathToFileURL(f).href);console.log('BENCH_RESULT '+JSON.stringify({ms:performance.now()-t}))`
      : `const t=performance.now();for(const f of ${targets})require(f);console.log('BENCH_RESULT '+JSON.stringify({ms:performance.now()-t}))`;
  const args =
    way === 'esm' ? ['--input-type=commonjs', '-e', `(async()=>{${program}})()`] : ['-e', program];
  const output = execFileSync(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(/BENCH_RESULT (.*)/.exec(output)[1]).ms;
}

/**
 * Issue 16's service program (get, update with an ETag, query) on the tree-shakable functions of
 * `@twinkit/service/twins`: the row the 12 KB target applies to.
 */
const SERVICE_TWINS_PROGRAM = `
import { createTwinClientFromConnectionString, getTwin, updateTwin, queryTwins } from '@twinkit/service/twins';
const client = createTwinClientFromConnectionString(globalThis.IOTHUB_CONNECTION_STRING);
const twin = await getTwin(client, 'dev-1');
await updateTwin(client, twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
for await (const t of queryTwins(client, "SELECT * FROM devices WHERE tags.site = 'lyon'")) globalThis.seen?.(t.deviceId);
`;

/**
 * The same program on the `Registry` class, which brings every method along (class methods do
 * not tree-shake): informational.
 */
const SERVICE_REGISTRY_PROGRAM = `
import { Registry } from '@twinkit/service';
const registry = Registry.fromConnectionString(globalThis.IOTHUB_CONNECTION_STRING);
const twin = await registry.getTwin('dev-1');
await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
for await (const t of registry.queryTwins("SELECT * FROM devices WHERE tags.site = 'lyon'")) globalThis.seen?.(t.deviceId);
`;

const DEVICE_PROGRAM = `
import { DeviceClient, mqtt } from '@twinkit/device';
const device = DeviceClient.fromConnectionString(globalThis.CS, { transport: mqtt({ webSocket: true }) });
await device.open();
const twin = await device.getTwin();
await device.updateReportedProperties({ seen: twin.desired.$version });
device.onDesired((change) => globalThis.show?.(change));
`;

const PROGRAMS = {
  'service-twins': SERVICE_TWINS_PROGRAM,
  'service-registry': SERVICE_REGISTRY_PROGRAM,
  device: DEVICE_PROGRAM,
};

/**
 * Minified + gzipped KB of a program bundled for browsers from the built packages.
 *
 * @param which - `service-twins`, `service-registry` or `device`
 */
export async function bundleSize(which) {
  const contents = PROGRAMS[which];
  if (contents === undefined) throw new TypeError(`No bundle program named ${which}`);
  const { build } = await import(fromHub.resolve('esbuild', { paths: [root] }));
  const result = await build({
    stdin: {
      contents,
      resolveDir: join(root, 'test/bundle'),
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
  const text = result.outputFiles.map((file) => file.text).join('');
  return gzipSync(text, { level: 9 }).length / 1024;
}
