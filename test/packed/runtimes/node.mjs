/**
 * The runtime matrix in Node: both flows from the installed packages. The hub's CA is trusted
 * the Node way, `NODE_EXTRA_CA_CERTS=<caFile>` set by the test (it covers fetch and node:tls).
 * Config comes as JSON in TWINKIT_FLOW.
 */
import { RESULT_PREFIX, describeError, runtimeFlows } from './flows.mjs';

const config = JSON.parse(process.env.TWINKIT_FLOW);
try {
  const result = await runtimeFlows(config);
  const deviceBuild = import.meta.resolve('@twinkit/device');
  console.log(RESULT_PREFIX + JSON.stringify({ ok: true, deviceBuild, ...result }));
} catch (error) {
  console.log(RESULT_PREFIX + JSON.stringify({ ok: false, error: describeError(error) }));
  process.exitCode = 1;
}
