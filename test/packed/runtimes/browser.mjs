/**
 * The runtime matrix in a web page (headless Chromium): bundled by esbuild from the installed
 * packages for the browser, served from a loopback HTTP server. The test calls
 * `runTwinkitFlows(config)` in the page. The service flow needs the hub started with
 * `--cors <page origin>`; the hub's CA is trusted through the browser's own trust store (an NSS
 * database in the browser's HOME), never by ignoring certificate errors.
 */
import { describeError, runtimeFlows } from './flows.mjs';

globalThis.runTwinkitFlows = async (config) => {
  try {
    return { ok: true, ...(await runtimeFlows(config)) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
};
