/**
 * The client-side check of twin write content against twin-model's rules (key names, value types
 * and ranges, depth, nulls, section sizes; docs/internals/twin-semantics.md#limits). A Registry
 * runs it on every write, so a bad patch never leaves the process; a client of
 * `@twinkit/service/twins` leaves the rules to the hub (which applies the same ones, in the same
 * words) unless the caller runs {@link assertValidTwinUpdate}, which keeps these rules and their
 * texts out of bundles that do not ask for them.
 */
import { validateSection, type JsonObject, type TwinSectionName } from '@twinkit/twin-model';
import { TwinValidationError, type ValidationIssue } from '@twinkit/twin-model/errors';
import { buildTwinBody } from './twin-body.js';

/**
 * Checks the body of a twin write before it is sent.
 *
 * @param body - what {@link buildTwinBody} made: `tags` and/or `properties.desired`
 * @param mode - `patch` (`null` deletes) or `replace` (`null` is refused)
 * @param context - what and which twin, for the message, e.g. `Twin update for device 'dev-1'`
 * @throws {@link TwinValidationError} listing every rule the content breaks
 */
export type TwinBodyCheck = (body: JsonObject, mode: 'patch' | 'replace', context: string) => void;

function check(
  value: unknown,
  section: TwinSectionName,
  prefix: string,
  mode: 'patch' | 'replace',
  issues: ValidationIssue[],
): void {
  for (const issue of validateSection(value, section, { mode }).issues) {
    issues.push({ ...issue, path: issue.path === '' ? prefix : `${prefix}.${issue.path}` });
  }
}

/** The Registry's {@link TwinBodyCheck}. */
export const assertValidTwinBody: TwinBodyCheck = (body, mode, context) => {
  const issues: ValidationIssue[] = [];
  const desired = (body.properties as JsonObject | undefined)?.desired;
  if (body.tags !== undefined) check(body.tags, 'tags', 'tags', mode, issues);
  if (desired !== undefined) check(desired, 'desired', 'properties.desired', mode, issues);
  if (issues.length > 0) throw new TwinValidationError(issues, `${context} was not sent`);
};

/**
 * Checks a twin patch (or replacement) as a `Registry` does before it sends one: for clients of
 * `@twinkit/service/twins`, which leave that to the hub, to fail fast without a request.
 *
 * @param update - `{ tags?, properties?: { desired? } }`, as passed to `updateTwin`
 * @param mode - `patch` (default; `null` deletes a key) or `replace` (as for `replaceTwin`)
 * @throws {@link TypeError} when `update` is not an object or (for a patch) changes nothing
 * @throws {@link TwinValidationError} listing every rule the content breaks
 * @example
 * ```ts
 * assertValidTwinUpdate(patch); // throws TwinValidationError, as registry.updateTwin would
 * await updateTwin(client, 'dev-1', patch);
 * ```
 */
export function assertValidTwinUpdate(update: unknown, mode: 'patch' | 'replace' = 'patch'): void {
  const context = mode === 'patch' ? 'Twin update' : 'Twin replace';
  assertValidTwinBody(buildTwinBody(update, mode, context), mode, context);
}
