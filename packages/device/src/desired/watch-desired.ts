/**
 * The subscriptions behind `DeviceClient.onDesired` (a handler whose throws and rejections are
 * reported, never lost) and `DeviceClient.watchDesired` (a bounded queue read with `for await`).
 */
import type { Unsubscribe } from '../internal/emitter.js';
import { DEFAULT_MAX_QUEUED_CHANGES, DesiredQueue } from './desired-queue.js';
import type { DesiredChange, DesiredRouter } from './desired-router.js';

/**
 * Subscribes a handler to the changes at or under a path.
 *
 * @param router - the client's router
 * @param path - dotted path, `''` for every change
 * @param handler - the app's handler
 * @param reportError - reports what the handler threw or rejected with
 * @returns removes the subscription
 */
export function subscribeHandler(
  router: DesiredRouter,
  path: string,
  handler: (change: DesiredChange) => void | Promise<void>,
  reportError: (error: unknown) => void,
): Unsubscribe {
  return router.subscribe(path, (change) => {
    try {
      const result = handler(change);
      if (result instanceof Promise) result.catch(reportError);
    } catch (error) {
      reportError(error);
    }
  });
}

/**
 * A queue of the changes at or under a path, which leaves `watchers` when it ends (consumer
 * `return()`, abort, or the client ending every watcher on close).
 *
 * @param router - the client's router
 * @param watchers - the client's live queues
 * @param path - dotted path, `''` for every change
 * @param options - cancellation and queue bound
 * @returns the queue, as an async iterator
 * @throws {@link RangeError} when `maxQueuedChanges` is below 1
 */
export function watchChanges(
  router: DesiredRouter,
  watchers: Set<DesiredQueue>,
  path: string,
  options: { abortSignal?: AbortSignal | undefined; maxQueuedChanges?: number | undefined },
): DesiredQueue {
  const signal = options.abortSignal;
  let unsubscribe: Unsubscribe = () => undefined;
  const onAbort = (): void => {
    queue.end({ error: signal?.reason });
  };
  const queue = new DesiredQueue(options.maxQueuedChanges ?? DEFAULT_MAX_QUEUED_CHANGES, () => {
    unsubscribe();
    watchers.delete(queue);
    signal?.removeEventListener('abort', onAbort);
  });
  if (signal?.aborted === true) {
    queue.end({ error: signal.reason });
  } else {
    unsubscribe = router.subscribe(path, (change, routed) => {
      queue.push(change, routed);
    });
    watchers.add(queue);
    signal?.addEventListener('abort', onAbort, { once: true });
  }
  return queue;
}
