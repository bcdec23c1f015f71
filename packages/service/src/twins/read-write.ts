/**
 * Twin reads and writes of the Registry: GET, PATCH and PUT of device and module twins, and the
 * read-modify-write loop of `updateTwinWithRetry`. The Registry class documents them; the rules
 * behind them are in docs/internals/twin-semantics.md#etags-and-concurrency.
 */
import type { Twin } from '@twinkit/twin-model';
import { isPreconditionFailedError } from '@twinkit/twin-model/errors';
import { abortable, createLogger, delay } from '@twinkit/twin-model/internal';
import { HEADER, TWIN_REST_OPERATIONS, quoteEtag } from '@twinkit/twin-model/protocol';
import { callRest, type RestClient } from '../http/rest-client.js';
import { expectIdentified } from '../response-shape.js';
import { buildTwinBody, describeTwin, type TwinTarget } from '../twin-body.js';

/** Base of the short, jittered pause between read-modify-write rounds after a 412. */
const CONFLICT_BACKOFF_IN_MS = 20;

const log = createLogger('twin:service:registry');

/**
 * Reads a device or module twin.
 *
 * @param client - the registry's client
 * @param target - which twin
 * @param signal - the operation's signal
 * @returns the twin, checked to be one
 */
export async function readTwin<T extends Twin<object, object, object>>(
  client: RestClient,
  target: TwinTarget,
  signal: AbortSignal | undefined,
): Promise<T> {
  const operation =
    target.moduleId === undefined
      ? TWIN_REST_OPERATIONS.getTwin
      : TWIN_REST_OPERATIONS.getModuleTwin;
  const result = await callRest(client, operation, { ids: target }, signal);
  return expectIdentified<T>(
    operation.description,
    result,
    'a twin',
    target.moduleId !== undefined,
  );
}

/**
 * Merges (`PATCH`) or replaces (`PUT`) a twin's tags and desired properties.
 *
 * @param client - the registry's client
 * @param mode - `patch` or `replace`
 * @param target - which twin
 * @param update - the caller's patch or replacement, checked (by the client's check, if any) before anything is sent
 * @param ifMatch - the quoted ETag to require, or `undefined` for an unconditional write
 * @param signal - the operation's signal
 * @returns the whole twin after the write
 */
export async function writeTwin<T extends Twin<object, object, object>>(
  client: RestClient,
  mode: 'patch' | 'replace',
  target: TwinTarget,
  update: unknown,
  ifMatch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<T> {
  const module = target.moduleId !== undefined;
  const operation =
    mode === 'patch'
      ? module
        ? TWIN_REST_OPERATIONS.updateModuleTwin
        : TWIN_REST_OPERATIONS.updateTwin
      : module
        ? TWIN_REST_OPERATIONS.replaceModuleTwin
        : TWIN_REST_OPERATIONS.replaceTwin;
  const context = `${operation.description} for ${describeTwin(target)}`;
  const body = buildTwinBody(update, mode, context);
  client.checkTwinBody?.(body, mode, context);
  const result = await callRest(
    client,
    operation,
    {
      ids: target,
      body,
      // With If-Match a repeated PATCH fails with 412 instead of applying twice.
      ...(ifMatch === undefined
        ? {}
        : { headers: { [HEADER.ifMatch]: ifMatch }, idempotent: true }),
    },
    signal,
  );
  return expectIdentified<T>(operation.description, result, 'the updated twin', module);
}

/**
 * Reads, computes and writes with the ETag read, again while another writer wins (412).
 *
 * @param client - the registry's client
 * @param target - which twin
 * @param compute - the caller's function from the current twin to a patch (or `undefined`)
 * @param maxAttempts - rounds before the last 412 is thrown
 * @param signal - the operation's signal
 * @returns the twin after the write, or as read when `compute` returned `undefined`
 */
export async function updateTwinWithRetry<T extends Twin<object, object, object>>(
  client: RestClient,
  target: TwinTarget,
  compute: (current: T) => unknown,
  maxAttempts: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const current = await readTwin<T>(client, target, signal);
    const patch = await abortable(Promise.resolve(compute(current)), signal);
    if (patch === undefined) return current;
    try {
      return await writeTwin<T>(client, 'patch', target, patch, quoteEtag(current.etag), signal);
    } catch (error) {
      if (!isPreconditionFailedError(error) || attempt >= maxAttempts) throw error;
      log.info(
        `updateTwinWithRetry: ${describeTwin(target)} changed concurrently, attempt ${attempt + 1}/${maxAttempts}`,
      );
      // Jitter spreads competing writers apart so they stop colliding.
      await delay(Math.round(Math.random() * CONFLICT_BACKOFF_IN_MS * attempt), signal);
    }
  }
}
