/**
 * Rollouts: "did my desired change take effect?" answered from the twins themselves.
 * `waitForReported` polls one twin with the shared backoff until the device's reported
 * properties satisfy a predicate; `getRolloutStatus` reads a whole fleet's Plug and Play
 * acknowledgements of one writable property (docs/internals/wire-contract.md#writable-property-acknowledgements)
 * in one projection query, never one GET per device.
 */
import type { JsonObject, PagedAsyncIterableIterator, Twin } from '@twinkit/twin-model';
import { OperationTimeoutError } from '@twinkit/twin-model/errors';
import { backoffDelay, delay, throwIfAborted } from '@twinkit/twin-model/internal';
import {
  KnownAckCode,
  isWritablePropertyAck,
  type WritablePropertyAck,
} from '@twinkit/twin-model/protocol';
import type { OperationOptions } from './options.js';

/** Options of `Registry.waitForReported`. */
export interface WaitForReportedOptions extends OperationOptions {
  /** How long to keep polling before giving up with {@link ReportedTimeoutError}. Required. */
  timeoutInMs: number;
  /** The wait before the second read; later waits double up to {@link maxPollIntervalInMs}. Default 500. */
  pollIntervalInMs?: number;
  /** The longest wait between reads. Default 10 000. */
  maxPollIntervalInMs?: number;
}

/**
 * `waitForReported` gave up: the device's twin never satisfied the predicate in time.
 * `twin` is the last twin read, to show how far the device got. It is a kind of
 * {@link OperationTimeoutError} and keeps that `name`, so code that handles timeouts by name
 * handles this one too; tell it apart with `instanceof ReportedTimeoutError`.
 */
export class ReportedTimeoutError extends OperationTimeoutError {
  /** The device that did not answer in time. */
  readonly deviceId: string;
  /** The last twin read before giving up. */
  readonly twin: Twin | undefined;

  /**
   * @param deviceId - the device
   * @param timeoutInMs - how long it waited
   * @param twin - the last twin read
   */
  constructor(deviceId: string, timeoutInMs: number, twin: Twin | undefined) {
    super(`waitForReported('${deviceId}')`, timeoutInMs);
    this.message = `The reported properties of '${deviceId}' did not match within ${String(timeoutInMs)} ms (the last twin read had reported $version ${String(twin?.properties.reported.$version ?? 'none')}).`;
    this.deviceId = deviceId;
    this.twin = twin;
  }
}

/**
 * Polls a twin until `predicate` holds (see `Registry.waitForReported`).
 *
 * @param deviceId - the device
 * @param read - reads the twin
 * @param predicate - what the twin must satisfy
 * @param options - deadline, poll intervals, abort signal
 * @returns the first twin that satisfies the predicate
 */
export async function waitForReported<TTwin extends object>(
  deviceId: string,
  read: (options: OperationOptions) => Promise<TTwin>,
  predicate: (twin: TTwin) => boolean,
  options: WaitForReportedOptions,
): Promise<TTwin> {
  if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
  const { timeoutInMs, abortSignal } = options;
  if (typeof timeoutInMs !== 'number' || !(timeoutInMs >= 0) || !Number.isFinite(timeoutInMs))
    throw new RangeError('timeoutInMs must be a finite number of 0 or more');
  const first = options.pollIntervalInMs ?? 500;
  const max = options.maxPollIntervalInMs ?? 10_000;
  if (!(first > 0) || !(max >= first))
    throw new RangeError('pollIntervalInMs must be > 0 and maxPollIntervalInMs at least as large');
  const deadline = Date.now() + timeoutInMs;
  let last: TTwin | undefined;
  for (let attempt = 1; ; attempt += 1) {
    throwIfAborted(abortSignal);
    last = await read({ abortSignal });
    if (predicate(last)) return last;
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new ReportedTimeoutError(deviceId, timeoutInMs, last as unknown as Twin);
    await delay(Math.min(remaining, backoffDelay(attempt, first, max)), abortSignal);
  }
}

/** Options of `Registry.getRolloutStatus`. */
export interface GetRolloutStatusOptions extends OperationOptions {
  /**
   * A condition of the query language selecting the devices of the rollout, as after `WHERE`
   * (e.g. `tags.site = 'lyon'`). Default: every device whose desired properties set the property.
   */
  query?: string;
  /** Rows per page of the one query the status is read from (the hub allows at most 100). */
  maxPageSize?: number;
}

/** One device's place in a rollout. */
export interface RolloutDevice {
  deviceId: string;
  /** The desired `$version` at which the property was last set: what an acknowledgement must reach. */
  desiredVersion: number;
  /** The desired value. */
  desiredValue: unknown;
  /** The device's acknowledgement, when it reported one (for any version). */
  ack?: WritablePropertyAck;
}

/** Where a rollout of one writable property stands across the selected devices. */
export interface RolloutStatus {
  /** The property, as passed (`name` or `component.name`). */
  propertyPath: string;
  /** How many devices are in each state; `total` counts devices whose desired properties set it. */
  counts: {
    total: number;
    acknowledged: number;
    inProgress: number;
    failed: number;
    pending: number;
  };
  /** Answered the current version with a 2xx other than 202. */
  acknowledged: RolloutDevice[];
  /** Answered the current version with 202: still applying it. */
  inProgress: RolloutDevice[];
  /** Answered the current version with 400 or more. */
  failed: RolloutDevice[];
  /** No answer to the current version yet (offline, older answer, or no acknowledgement). */
  pending: RolloutDevice[];
}

// A property path of the query language: identifiers separated by dots.
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

/**
 * The one projection query a rollout status is read from: only the device id, the desired value
 * and the version it was set at, and the reported acknowledgement.
 *
 * @param propertyPath - `name` or `component.name`
 * @param condition - the caller's selection, if any
 * @returns the query text
 * @throws {@link TypeError} when the path or the condition is malformed
 */
export function rolloutQuery(propertyPath: string, condition: string | undefined): string {
  if (typeof propertyPath !== 'string' || !PATH.test(propertyPath))
    throw new TypeError(
      `propertyPath must be a property name or component.name of letters, digits, '_' and '-' (got ${JSON.stringify(propertyPath)})`,
    );
  if (condition !== undefined && (typeof condition !== 'string' || condition.trim() === ''))
    throw new TypeError('query must be a non-empty condition such as "tags.site = \'lyon\'"');
  if (condition !== undefined && /^\s*select\b/i.test(condition))
    throw new TypeError(
      'query is the condition after WHERE (e.g. "tags.site = \'lyon\'"), not a whole SELECT',
    );
  const desired = `properties.desired.${propertyPath}`;
  const selection = `is_defined(${desired})`;
  const where = condition === undefined ? selection : `(${condition}) AND ${selection}`;
  return (
    `SELECT deviceId, ${desired} AS desiredValue, ` +
    `properties.desired.$metadata.${propertyPath}.$lastUpdatedVersion AS desiredVersion, ` +
    `properties.reported.${propertyPath} AS ack FROM devices WHERE ${where}`
  );
}

interface RolloutRow {
  deviceId?: unknown;
  desiredValue?: unknown;
  desiredVersion?: unknown;
  ack?: unknown;
}

/**
 * Reads where a rollout stands (see `Registry.getRolloutStatus`).
 *
 * @param propertyPath - `name` or `component.name`
 * @param runQuery - runs a projection query
 * @param options - selection, page size, abort signal
 * @returns the counts and the devices in each state
 */
export async function getRolloutStatus(
  propertyPath: string,
  runQuery: (sql: string) => PagedAsyncIterableIterator<JsonObject>,
  options: GetRolloutStatusOptions = {},
): Promise<RolloutStatus> {
  const sql = rolloutQuery(propertyPath, options.query);
  const status: RolloutStatus = {
    propertyPath,
    counts: { total: 0, acknowledged: 0, inProgress: 0, failed: 0, pending: 0 },
    acknowledged: [],
    inProgress: [],
    failed: [],
    pending: [],
  };
  const pages = runQuery(sql).byPage(
    options.maxPageSize === undefined ? {} : { maxPageSize: options.maxPageSize },
  );
  for await (const page of pages) {
    for (const row of page.items as RolloutRow[]) {
      if (typeof row.deviceId !== 'string' || typeof row.desiredVersion !== 'number') continue;
      const device: RolloutDevice = {
        deviceId: row.deviceId,
        desiredVersion: row.desiredVersion,
        desiredValue: row.desiredValue,
      };
      if (isWritablePropertyAck(row.ack)) device.ack = row.ack;
      const state = classify(device);
      status[state].push(device);
      status.counts[state] += 1;
      status.counts.total += 1;
    }
  }
  return status;
}

function classify(device: RolloutDevice): 'acknowledged' | 'inProgress' | 'failed' | 'pending' {
  const { ack } = device;
  if (ack === undefined || ack.av < device.desiredVersion) return 'pending';
  if (ack.ac === KnownAckCode.inProgress) return 'inProgress';
  if (ack.ac >= 200 && ack.ac < 300) return 'acknowledged';
  if (ack.ac >= 400) return 'failed';
  return 'pending';
}
