/**
 * The internals every twinkit client shares: one logger (one level and one sink for all
 * packages), one exponential backoff, and one set of abort and deadline helpers.
 *
 * **Not public API.** This entry exists so that `@twinkit/service` and `@twinkit/device` hold no
 * copies of their own; its names and signatures change without notice and without a major
 * version. Applications use the logging functions re-exported by each client's own entry
 * (`setLogLevel`, `setLogSink`, `getLogLevel`). Why it lives here and not in a private
 * workspace package: docs/internals/architecture.md#shared-internals.
 *
 * @module @twinkit/twin-model/internal
 * @internal
 */
export {
  createLogger,
  getLogLevel,
  setLogLevel,
  setLogSink,
  type LogEntry,
  type Logger,
  type LogLevel,
  type LogSink,
} from './logger.js';
export {
  backoffDelay,
  parseRetryAfter,
  resolveRetryOptions,
  type ResolvedRetryOptions,
  type RetryOptions,
} from './backoff.js';
export {
  abortable,
  anySignal,
  createOperationScope,
  delay,
  onAbort,
  throwIfAborted,
  withDeadline,
  type OperationScope,
} from './abort.js';
export { findErrorCode, isTlsTrustCode } from '../errors/transport-failure.js';
