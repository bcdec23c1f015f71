import { TransportError, isRetryableStatus, isTransportError } from '@twinkit/twin-model/errors';
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
 * Retries 408, 429 and 5xx answers and {@link TransportError}s with exponential backoff and
 * jitter, waiting exactly as long as a `Retry-After` header asks when there is one. Never retries
 * other 4xx answers. A transport failure is retried only when the request is idempotent: a create
 * or an unconditional PATCH whose answer was lost may have been applied, so the caller gets the
 * `TransportError` at once (its message says so) and decides. Errors that retrying cannot fix
 * (`TlsTrustError`, `ConnectionRefusedError` on an explicit port) are raised at once. Waiting stops
 * when the operation's signal aborts.
 *
 * @param options - limits and delays
 * @returns the policy
 */
export function retryPolicy(options: ResolvedRetryOptions): PipelinePolicy {
  return {
    name: 'retryPolicy',
    async sendRequest(request, next) {
      for (let retry = 1; ; retry++) {
        let waitInMs: number;
        try {
          const response = await next(request);
          if (!isRetryableStatus(response.status) || retry > options.maxRetries) return response;
          waitInMs =
            parseRetryAfter(response.headers) ??
            backoffDelay(retry, options.retryDelayInMs, options.maxRetryDelayInMs);
          log.info(
            `${request.operation}: ${response.status} from the hub, retry ${retry}/${options.maxRetries} in ${waitInMs} ms`,
          );
        } catch (error) {
          request.signal?.throwIfAborted();
          if (!isTransportError(error) || !error.retryable || retry > options.maxRetries)
            throw error;
          if (!request.idempotent) {
            throw new TransportError(
              `${error.message} Not retried: a ${request.method} ${request.operation} whose answer was lost may have been applied; read the current state before sending it again.`,
              { cause: error },
            );
          }
          waitInMs = backoffDelay(retry, options.retryDelayInMs, options.maxRetryDelayInMs);
          log.info(
            `${request.operation}: ${error.message}; retry ${retry}/${options.maxRetries} in ${waitInMs} ms`,
          );
        }
        await delay(waitInMs, request.signal);
      }
    },
  };
}
