// `node bench/compare/profile.mjs <runner args…>`: one runner of the comparison (device.mjs or
// service.mjs with its arguments) under `--cpu-prof`, against the same hub the comparison starts,
// to see where a client spends its time per call. The profile lands in ./profiles/.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startHub } from './hub.mjs';
import { parseConnectionString } from './shared.mjs';

const [file, ...args] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/compare/profile.mjs device.mjs ours mqtt get');
  process.exit(2);
}
const { ready, child: hub, keys } = await startHub();
const parts = parseConnectionString(ready.serviceConnectionString);
const runner = spawn(
  process.execPath,
  ['--cpu-prof', '--cpu-prof-dir', 'profiles', join(import.meta.dirname, file), ...args],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: ready.caFile,
      BENCH_SERVICE_CS: ready.serviceConnectionString,
      BENCH_HUB: JSON.stringify({
        ...ready,
        keys,
        serviceKey: parts.SharedAccessKey,
        serviceKeyName: parts.SharedAccessKeyName,
      }),
      BENCH_SCALE: process.env.BENCH_SCALE ?? '3',
    },
  },
);
await new Promise((resolve) => runner.once('exit', resolve));
hub.kill();
process.exit(0);
