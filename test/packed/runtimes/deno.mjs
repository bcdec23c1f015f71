/**
 * The runtime matrix in Deno: both flows from the installed packages (Deno reads the app's
 * package.json and node_modules). The hub's CA is trusted the Deno way: `DENO_CERT=<caFile>`
 * (or `--cert <caFile>`), which Deno's fetch, WebSocket and node:tls all use. Config comes as
 * JSON in TWINKIT_FLOW.
 */
import { RESULT_PREFIX, describeError, runtimeFlows } from './flows.mjs';

const config = JSON.parse(Deno.env.get('TWINKIT_FLOW'));
try {
  const result = await runtimeFlows(config);
  const deviceBuild = import.meta.resolve('@twinkit/device');
  console.log(RESULT_PREFIX + JSON.stringify({ ok: true, deviceBuild, ...result }));
} catch (error) {
  console.log(RESULT_PREFIX + JSON.stringify({ ok: false, error: describeError(error) }));
  Deno.exitCode = 1;
}
