/**
 * The runtime matrix in workerd: a module worker, bundled by esbuild from the installed packages
 * with the conditions wrangler uses (`workerd`, `worker`, `browser`). A POST with the flow config
 * as JSON runs both flows and answers the result. The hub's CA is trusted the workerd way: the
 * config's network service for outbound traffic lists it in `tlsOptions.trustedCertificates`.
 */
import { describeError, runtimeFlows } from './flows.mjs';

export default {
  async fetch(request) {
    try {
      const config = await request.json();
      return Response.json({ ok: true, ...(await runtimeFlows(config)) });
    } catch (error) {
      return Response.json({ ok: false, error: describeError(error) });
    }
  },
};
