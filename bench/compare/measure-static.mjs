// Cold import and bundle sizes: no hub needed.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SIZE_PROGRAMS, browserBundle } from '../../test/bundle/size-programs.mjs';
import { fromHub, ours } from './shared.mjs';

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
 * Minified + gzipped KB of one of issue 16's programs (test/bundle/size-programs.mjs, which the
 * budget tests measure the same way) bundled for browsers from the built packages.
 *
 * @param which - `service-twins`, `service-registry` or `device`
 */
export async function bundleSize(which) {
  const contents = SIZE_PROGRAMS[which];
  if (contents === undefined) throw new TypeError(`No bundle program named ${which}`);
  return (await browserBundle(contents)).gzipped / 1024;
}
