import { isRetryableStatus, isTransportError } from '@twinkit/twin-model/errors';
import {
  backoffDelay,
  createLogger,
  delay,
  parseRetryAfter,
  type ResolvedRetryOptions,
} from '@twinkit/twin-model/internal';
import type { PipelinePolicy } from '../pipeline.js';

const log = createLogger('twin:service:retry');

/**
 * Retries on 408, 429 and 5xx responses and on {@link TransportError}s, with exponential backoff
 * and jitter, waiting exactly as long as a `Retry-After` header asks when there is one. Never
 * retries other 4xx answers. Waiting stops at once when the operation's signal aborts.
 *
 * @param options - limits and delays
 * @returns the policy
 */
export function retryPolicy(options: ResolvedRetryOptions): PipelinePolicy {
  return async (request, next) => {
    for (let attempt = 1; ; attempt++) {
      let waitInMs: number;
      try {
        const response = await next(request);
        if (!isRetryableStatus(response.status) || attempt > options.maxRetries) return response;
        waitInMs =
          parseRetryAfter(response.headers) ??
          backoffDelay(attempt, options.retryDelayInMs, options.maxRetryDelayInMs);
        // Free the connection; the body of a response we will not use is never read.
        await response.body?.cancel().catch(() => undefined);
        log.info(
          `${request.operation}: ${response.status} from the hub, retry ${attempt}/${options.maxRetries} in ${waitInMs} ms`,
        );
      } catch (error) {
        request.signal?.throwIfAborted();
        if (!isTransportError(error) || !error.retryable || attempt > options.maxRetries)
          throw error;
        waitInMs = backoffDelay(attempt, options.retryDelayInMs, options.maxRetryDelayInMs);
        log.info(
          `${request.operation}: ${error.message}; retry ${attempt}/${options.maxRetries} in ${waitInMs} ms`,
        );
      }
      await delay(waitInMs, request.signal);
    }
  };
}
