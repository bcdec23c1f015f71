import { HEADER } from '@twinkit/twin-model/protocol';
import type { PipelinePolicy } from '../pipeline.js';

/** The package name and version sent in `User-Agent`; kept in step with package.json by a test. */
export const SDK_USER_AGENT = 'twinkit-service/0.1.0';

/**
 * Sets `User-Agent` to `[prefix ]twinkit-service/<version>`. Browsers drop this header silently
 * (it is forbidden there), which is harmless.
 *
 * @param prefix - the application's own product token, if any
 * @returns the policy
 */
export function userAgentPolicy(prefix: string | undefined): PipelinePolicy {
  const value = prefix ? `${prefix} ${SDK_USER_AGENT}` : SDK_USER_AGENT;
  return {
    name: 'userAgentPolicy',
    sendRequest(request, next) {
      request.headers[HEADER.userAgent] = value;
      return next(request);
    },
  };
}
