/**
 * The pure twin engine: every IoT Hub rule for creating a twin, service PATCH and PUT, device
 * reported updates (the service and device views are in `twin-views.ts`). The hub stores {@link StoredTwin} values
 * and calls these functions; it adds no twin rules of its own.
 *
 * Stored twins are treated as immutable: every write returns a new `StoredTwin` (sections the
 * write does not touch are shared with the old one) and never modifies its inputs.
 *
 * @see docs/internals/twin-semantics.md#twin-document, docs/internals/twin-semantics.md#desired-notifications, docs/internals/twin-semantics.md#edge-cases
 */
import {
  TwinValidationError,
  createHubError,
  type HubError,
  type ValidationIssue,
} from './errors/index.js';
import { apiVersionSupportsArrays, sectionSizeLimit } from './limits.js';
import { createSectionMetadata, formatTimestamp, updateSectionMetadata } from './metadata.js';
import { applyPatch } from './patch/apply-patch.js';
import { cloneJson, isPlainObject, setOwn } from './patch/json.js';
import type { JsonObject, Twin, TwinMetadata, TwinSectionName } from './types.js';
import { TwinRuleMessage, computeSectionSize, validateSection } from './validate.js';
import { withVersion } from './twin-views.js';
import { formatEtag, ifMatchSatisfied, type IfMatchMode } from './version.js';

/** A twin as the hub stores it: section contents without `$` members, plus counters and metadata. */
export interface StoredTwin {
  deviceId: string;
  moduleId?: string;
  /** The ETag counter (docs/internals/twin-semantics.md#etags-and-concurrency): +1 on every service write of tags and/or desired. */
  etagCounter: number;
  /** Whole-twin version (docs/internals/twin-semantics.md#versions): +1 on every accepted write; equals `etagCounter + reportedVersion`. */
  version: number;
  tags: JsonObject;
  desired: JsonObject;
  desiredVersion: number;
  desiredMetadata: TwinMetadata;
  reported: JsonObject;
  reportedVersion: number;
  reportedMetadata: TwinMetadata;
}

/** Context of a service write (PATCH or PUT). */
export interface TwinWriteOptions {
  /** Server time of the write; stamps `$metadata`. */
  now: Date;
  /** The `If-Match` header, when sent. */
  ifMatch?: string | null | undefined;
  /** How unquoted `If-Match` values are treated (default `strict`; docs/internals/wire-contract.md#etags-and-if-match). */
  ifMatchMode?: IfMatchMode | undefined;
  /** The request's api-version; before 2019-10-01 arrays are rejected (docs/internals/twin-semantics.md#limits). Absent means current. */
  apiVersion?: string | undefined;
}

/** What a service write produced. */
export interface TwinWriteResult {
  twin: StoredTwin;
  /**
   * The body to publish to subscribed devices (docs/internals/twin-semantics.md#desired-notifications), present when desired changed: the desired
   * patch as sent (nulls kept) for PATCH, or the whole new desired for PUT, plus `"$version"`.
   */
  desiredNotification?: JsonObject;
}

/** Context of a device's reported-properties update. */
export interface ReportedWriteOptions {
  /** Server time of the write; stamps `$metadata`. */
  now: Date;
  /** The `$version` the device based its patch on (MQTT `&$version=`); 412 when it is not current (docs/internals/twin-semantics.md#etags-and-concurrency). */
  baseVersion?: number | undefined;
}

/** What a reported update produced. */
export interface ReportedWriteResult {
  twin: StoredTwin;
  /** The new reported `$version`, which the hub answers with (`res/204/?$rid=…&$version=`). */
  version: number;
}

/** Identity-registry fields a service twin view carries next to the twin's own data (docs/internals/twin-semantics.md#twin-document). */
export type TwinIdentityFields = Pick<
  Twin,
  | 'deviceEtag'
  | 'status'
  | 'statusReason'
  | 'statusUpdateTime'
  | 'connectionState'
  | 'lastActivityTime'
  | 'cloudToDeviceMessageCount'
  | 'authenticationType'
  | 'x509Thumbprint'
  | 'modelId'
  | 'capabilities'
  | 'deviceScope'
  | 'parentScopes'
  | 'configurations'
>;

const CREATION_VERSION = 1;

/**
 * Creates the twin of a new device or module (docs/internals/twin-semantics.md#twin-document): ETag counter 1, twin version 2, both
 * section versions 1, empty sections, and `$metadata` holding only the root `$lastUpdated`.
 *
 * @param ids - the device id and, for a module twin, the module id
 * @param now - the creation time
 * @returns the new stored twin
 * @throws {@link TypeError} when an id is empty
 * @example
 * ```ts
 * const twin = createStoredTwin({ deviceId: 'dev1' }, new Date());
 * toServiceTwin(twin).etag; // → 'AAAAAAAAAAE='
 * ```
 */
export function createStoredTwin(
  ids: { deviceId: string; moduleId?: string },
  now: Date,
): StoredTwin {
  if (typeof ids.deviceId !== 'string' || ids.deviceId === '') {
    throw new TypeError('A twin needs a non-empty deviceId.');
  }
  if (ids.moduleId !== undefined && (typeof ids.moduleId !== 'string' || ids.moduleId === '')) {
    throw new TypeError('A module twin needs a non-empty moduleId.');
  }
  const stamp = { timestamp: formatTimestamp(now) };
  const twin: StoredTwin = {
    deviceId: ids.deviceId,
    etagCounter: 1,
    version: 2 * CREATION_VERSION,
    tags: {},
    desired: {},
    desiredVersion: CREATION_VERSION,
    desiredMetadata: createSectionMetadata({}, stamp),
    reported: {},
    reportedVersion: CREATION_VERSION,
    reportedMetadata: createSectionMetadata({}, stamp),
  };
  if (ids.moduleId !== undefined) twin.moduleId = ids.moduleId;
  return twin;
}

/**
 * Applies a service PATCH (docs/internals/twin-semantics.md#operations, docs/internals/twin-semantics.md#merge-patch, docs/internals/twin-semantics.md#edge-cases): `tags` and `properties.desired` are merge patches;
 * every other member (identity fields, `properties.reported`, `$metadata`/`$version` at the
 * desired root) is ignored, as SDKs send whole `Twin` objects. One accepted write bumps the ETag
 * counter and twin version once, and the desired `$version` when desired is present (docs/internals/twin-semantics.md#versions). A body
 * with neither section changes nothing.
 *
 * @param twin - the stored twin
 * @param body - the parsed request body
 * @param options - time, `If-Match`, api-version
 * @returns the new twin and, when desired was patched, the device notification body
 * @throws `BadRequestError` (400 `ArgumentInvalid`) for a body that breaks a rule of docs/internals/twin-semantics.md#limits,
 *   `tags: null` or `properties.desired: null`, arrays before api-version 2019-10-01, or a section
 *   that would grow beyond its size limit; the twin is unchanged
 * @throws `PreconditionFailedError` (412 `PreconditionFailed`) when `If-Match` does not match
 * @example
 * ```ts
 * const { twin: next, desiredNotification } = updateTwin(twin, { properties: { desired: { fw: null } } }, { now: new Date() });
 * desiredNotification; // → { fw: null, $version: 2 }
 * ```
 */
export function updateTwin(
  twin: StoredTwin,
  body: unknown,
  options: TwinWriteOptions,
): TwinWriteResult {
  const operation = 'Twin update';
  const { tags, desired } = readServiceBody(twin, body, 'patch', operation, options);
  checkIfMatch(twin, options, operation);
  if (tags === undefined && desired === undefined) return { twin };
  const next: StoredTwin = {
    ...twin,
    etagCounter: twin.etagCounter + 1,
    version: twin.version + 1,
  };
  const issues: ValidationIssue[] = [];
  if (tags !== undefined) {
    next.tags = applyPatch(twin.tags, tags);
    checkGrowth('tags', twin.tags, next.tags, issues);
  }
  let desiredNotification: JsonObject | undefined;
  if (desired !== undefined) {
    next.desired = applyPatch(twin.desired, desired);
    checkGrowth('desired', twin.desired, next.desired, issues);
    next.desiredVersion = twin.desiredVersion + 1;
    next.desiredMetadata = updateSectionMetadata(twin.desiredMetadata, desired, {
      timestamp: formatTimestamp(options.now),
      version: next.desiredVersion,
    });
    desiredNotification = withVersion(desired, next.desiredVersion);
  }
  throwIfInvalid(twin, operation, issues);
  return desiredNotification === undefined ? { twin: next } : { twin: next, desiredNotification };
}

/**
 * Applies a service PUT (docs/internals/twin-semantics.md#replace): `tags` and `properties.desired` replace their sections wholesale;
 * an omitted section is replaced with `{}` (docs/internals/twin-semantics.md#edge-cases default). `null` values are rejected. The ETag
 * counter, twin version and desired `$version` each go up by one, the desired `$metadata` is
 * rebuilt, and devices are sent the whole new desired section.
 *
 * @param twin - the stored twin
 * @param body - the parsed request body
 * @param options - time, `If-Match`, api-version
 * @returns the new twin and the device notification body
 * @throws `BadRequestError` (400 `ArgumentInvalid`) for a `null` anywhere
 *   (`Value of Property or Tag cannot be null. Error in Property/Tag …`), any other rule of docs/internals/twin-semantics.md#limits,
 *   or a section that would grow beyond its size limit; the twin is unchanged
 * @throws `PreconditionFailedError` (412 `PreconditionFailed`) when `If-Match` does not match
 */
export function replaceTwin(
  twin: StoredTwin,
  body: unknown,
  options: TwinWriteOptions,
): TwinWriteResult {
  const operation = 'Twin replace';
  const read = readServiceBody(twin, body, 'replace', operation, options);
  checkIfMatch(twin, options, operation);
  const tags = read.tags === undefined ? {} : cloneJson(read.tags);
  const desired = read.desired === undefined ? {} : cloneJson(read.desired);
  const issues: ValidationIssue[] = [];
  checkGrowth('tags', twin.tags, tags, issues);
  checkGrowth('desired', twin.desired, desired, issues);
  throwIfInvalid(twin, operation, issues);
  const desiredVersion = twin.desiredVersion + 1;
  const next: StoredTwin = {
    ...twin,
    etagCounter: twin.etagCounter + 1,
    version: twin.version + 1,
    tags,
    desired,
    desiredVersion,
    desiredMetadata: createSectionMetadata(desired, {
      timestamp: formatTimestamp(options.now),
      version: desiredVersion,
    }),
  };
  return { twin: next, desiredNotification: withVersion(desired, desiredVersion) };
}

/**
 * Applies a device's reported-properties PATCH (docs/internals/twin-semantics.md#operations, docs/internals/twin-semantics.md#merge-patch, docs/internals/twin-semantics.md#etags-and-concurrency). The body *is* the reported
 * section's merge patch, so a key named `tags` is an ordinary reported key. The whole patch is
 * rejected when any part breaks a rule. Bumps reported `$version` and the twin version, never the
 * ETag; reported `$metadata` carries no versions.
 *
 * @param twin - the stored twin
 * @param patch - the parsed message body
 * @param options - time and the optional base version
 * @returns the new twin and its new reported `$version`
 * @throws `BadRequestError` (400 `ArgumentInvalid`) when the patch breaks a rule of docs/internals/twin-semantics.md#limits
 *   (for example a `$`-prefixed key) or the section would grow beyond 32 KB; nothing is applied
 * @throws `PreconditionFailedError` (412 `PreconditionFailed`) when `baseVersion` is given
 *   and is not the current reported `$version`
 */
export function updateReported(
  twin: StoredTwin,
  patch: unknown,
  options: ReportedWriteOptions,
): ReportedWriteResult {
  const operation = 'Reported properties update';
  const result = validateSection(patch, 'reported', { mode: 'patch', checkSize: false });
  throwIfInvalid(twin, operation, result.issues);
  const validPatch = patch as JsonObject;
  if (options.baseVersion !== undefined && options.baseVersion !== twin.reportedVersion) {
    throw preconditionFailed(
      twin,
      operation,
      `The reported properties version ${String(options.baseVersion)} does not match the current version ${String(twin.reportedVersion)}.`,
    );
  }
  const reported = applyPatch(twin.reported, validPatch);
  const issues: ValidationIssue[] = [];
  checkGrowth('reported', twin.reported, reported, issues);
  throwIfInvalid(twin, operation, issues);
  const reportedVersion = twin.reportedVersion + 1;
  const next: StoredTwin = {
    ...twin,
    version: twin.version + 1,
    reported,
    reportedVersion,
    reportedMetadata: updateSectionMetadata(twin.reportedMetadata, validPatch, {
      timestamp: formatTimestamp(options.now),
    }),
  };
  return { twin: next, version: reportedVersion };
}

interface ServiceSections {
  tags?: JsonObject;
  desired?: JsonObject;
}

/**
 * Picks `tags` and `properties.desired` out of a service body and validates them; everything
 * else in the body is ignored (docs/internals/twin-semantics.md#edge-cases, docs/internals/wire-contract.md#rest-operations).
 */
function readServiceBody(
  twin: StoredTwin,
  body: unknown,
  mode: 'patch' | 'replace',
  operation: string,
  options: TwinWriteOptions,
): ServiceSections {
  if (!isPlainObject(body)) {
    throw badRequest(twin, operation, {
      path: '',
      rule: 'not-an-object',
      message: `The twin ${mode === 'patch' ? 'patch' : 'document'} must be a JSON object.`,
    });
  }
  const validation = {
    mode,
    allowArrays: apiVersionSupportsArrays(options.apiVersion),
    checkSize: false,
  } as const;
  const issues: ValidationIssue[] = [];
  const sections: ServiceSections = {};

  const tags = Object.hasOwn(body, 'tags') ? body.tags : undefined;
  if (tags === null) {
    issues.push(sectionNullIssue('tags', mode));
  } else if (tags !== undefined) {
    const result = validateSection(tags, 'tags', validation);
    issues.push(...prefixed('tags', result.issues));
    if (result.valid) sections.tags = tags as JsonObject;
  }

  const properties = Object.hasOwn(body, 'properties') ? body.properties : undefined;
  if (properties !== undefined && !isPlainObject(properties)) {
    issues.push({
      path: 'properties',
      rule: 'not-an-object',
      message: `Provided json is not a valid 'properties' object: properties must be a JSON object with a 'desired' member.`,
    });
  } else if (properties !== undefined && Object.hasOwn(properties, 'desired')) {
    const desired = properties.desired;
    if (desired === null) {
      issues.push(sectionNullIssue('properties.desired', mode));
    } else if (desired !== undefined) {
      // SDK Twin objects from a GET carry $metadata/$version in desired; they are read-only, not keys.
      const content = isPlainObject(desired) ? withoutReadOnlyMembers(desired) : desired;
      const result = validateSection(content, 'desired', validation);
      issues.push(...prefixed('properties.desired', result.issues));
      if (result.valid) sections.desired = content as JsonObject;
    }
  }

  throwIfInvalid(twin, operation, issues);
  return sections;
}

function sectionNullIssue(
  path: 'tags' | 'properties.desired',
  mode: 'patch' | 'replace',
): ValidationIssue {
  if (mode === 'replace')
    return { path, rule: 'null-in-replace', message: TwinRuleMessage.nullInReplace(path) };
  // docs/internals/twin-semantics.md#edge-cases `sectionNullMode`: the hub does not delete a whole section through PATCH.
  const [kind, member] = path === 'tags' ? ['tags', 'tags'] : ['properties', 'desired'];
  return {
    path,
    rule: 'not-an-object',
    message: `Provided json is not a valid '${kind}' object: ${path} cannot be null. To remove all of them, replace the twin (PUT) with "${member}": {}.`,
  };
}

function withoutReadOnlyMembers(section: Record<string, unknown>): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const key of Object.keys(section)) {
    if (key !== '$metadata' && key !== '$version') setOwn(content, key, section[key]);
  }
  return content;
}

function prefixed(prefix: string, issues: readonly ValidationIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    ...issue,
    path: issue.path === '' ? prefix : `${prefix}.${issue.path}`,
  }));
}

/** docs/internals/twin-semantics.md#limits: reject a write only if the section ends up beyond its limit *and* larger than before. */
function checkGrowth(
  section: TwinSectionName,
  before: JsonObject,
  after: JsonObject,
  issues: ValidationIssue[],
): void {
  const limit = sectionSizeLimit(section);
  const size = computeSectionSize(after);
  if (size > limit && size > computeSectionSize(before)) {
    const path = section === 'tags' ? 'tags' : `properties.${section}`;
    issues.push({
      path,
      rule: 'section-size',
      message: TwinRuleMessage.sectionSize(section, size, limit),
    });
  }
}

function checkIfMatch(twin: StoredTwin, options: TwinWriteOptions, operation: string): void {
  const current = formatEtag(twin.etagCounter);
  if (!ifMatchSatisfied(options.ifMatch, current, options.ifMatchMode ?? 'strict')) {
    throw preconditionFailed(
      twin,
      operation,
      `The If-Match ETag ${String(options.ifMatch)} does not match the twin's current ETag "${current}".`,
    );
  }
}

function throwIfInvalid(
  twin: StoredTwin,
  operation: string,
  issues: readonly ValidationIssue[],
): void {
  const [first] = issues;
  if (first !== undefined) throw badRequest(twin, operation, first, issues);
}

/** A 400 `ArgumentInvalid` whose hub text is the first issue's message; the cause lists them all. */
function badRequest(
  twin: StoredTwin,
  operation: string,
  first: ValidationIssue,
  issues: readonly ValidationIssue[] = [first],
): HubError {
  return createHubError({
    statusCode: 400,
    code: 'ArgumentInvalid',
    message: first.message,
    operation,
    deviceId: twin.deviceId,
    moduleId: twin.moduleId,
    cause: new TwinValidationError(issues, operation),
  });
}

function preconditionFailed(twin: StoredTwin, operation: string, text: string): HubError {
  return createHubError({
    statusCode: 412,
    code: 'PreconditionFailed',
    message: text,
    operation,
    deviceId: twin.deviceId,
    moduleId: twin.moduleId,
  });
}
