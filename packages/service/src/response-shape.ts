/**
 * Checks that an answer is what the operation promises before it reaches the caller typed as a
 * twin, an identity or a page: a server that is not a hub (or a hub that misbehaves) answering
 * `[]`, `null` or a string gets an {@link UnexpectedResponseError}, never a value typed as
 * something it is not.
 */
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import type { JsonValue } from '@twinkit/twin-model';
import type { RestResult } from './http/rest-client.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'an empty body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a JSON array';
  return typeof value === 'object' ? 'an object of another shape' : `a ${typeof value}`;
}

function unexpected(
  operation: string,
  result: RestResult,
  expected: string,
): UnexpectedResponseError {
  return new UnexpectedResponseError(
    `${operation} expected ${expected} but the server answered ${result.status} with ${describeValue(result.body)}; it is not behaving as an IoT Hub.`,
    result.status,
    expected,
  );
}

/**
 * Whether a value looks like a twin or an identity: an object with a string `deviceId` (and a
 * string `moduleId` when one is expected).
 *
 * @param value - a parsed JSON value
 * @param withModule - whether `moduleId` must be present
 */
export function isIdentified(value: unknown, withModule = false): value is { deviceId: string } {
  return (
    isRecord(value) &&
    typeof value.deviceId === 'string' &&
    (!withModule || typeof value.moduleId === 'string')
  );
}

/**
 * The body of a twin or identity answer.
 *
 * @param operation - what was done, for the message (e.g. `Twin read`)
 * @param result - the answer
 * @param expected - what it should be, e.g. `a twin`
 * @param withModule - whether it must name a module
 * @returns the body, checked
 * @throws {@link UnexpectedResponseError} when it is not an object with the ids
 */
// T is what the caller knows the checked body to be (a twin, a device, a module).
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function expectIdentified<T>(
  operation: string,
  result: RestResult,
  expected: string,
  withModule = false,
): T {
  if (!isIdentified(result.body, withModule)) throw unexpected(operation, result, expected);
  return result.body as T;
}

/**
 * The body of a list or query answer.
 *
 * @param operation - what was done, for the message
 * @param result - the answer
 * @param expected - what it should be, e.g. `a JSON array of modules`
 * @param item - a check each item must pass, when the items have a known shape
 * @returns the items, checked
 * @throws {@link UnexpectedResponseError} when it is not an array, or an item fails `item`
 */
export function expectArray(
  operation: string,
  result: RestResult,
  expected: string,
  item?: (value: unknown) => boolean,
): JsonValue[] {
  const body = result.body;
  if (!Array.isArray(body) || (item !== undefined && !body.every(item)))
    throw unexpected(operation, result, expected);
  return body as JsonValue[];
}
