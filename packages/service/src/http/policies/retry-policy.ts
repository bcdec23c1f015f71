import { isTransportError } from '@twinkit/twin-model/errors';
import { isRetryableStatus } from '@twinkit/twin-model/errors';
import { delay } from '../../internal/abort.js';
import { backoffDelay, parseRetryAfter } from '../../internal/backoff.js';
import { createLogger } from '../../internal/logger.js';
import type { PipelinePolicy } from '../pipeline.js';

/** How the registry retries throttled, failed and unanswered requests. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3; 0 disables retries. */
  maxRetries?: number;
  /** Base delay of the exponential backoff. Default 800 ms. */
  retryDelayInMs?: number;
  /** Cap on the backoff delay (not on a hub's `Retry-After`). Default 60 000 ms. */
  maxRetryDelayInMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

const log = createLogger('retry');

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
