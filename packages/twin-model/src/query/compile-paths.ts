/**
 * Query paths compiled to getters: the twin's and a job's root and system names, case-insensitive
 * user keys, and the lookups WHERE, SELECT and GROUP BY share
 * (docs/internals/twin-semantics.md#query).
 */
import type { JsonObject } from '../types.js';
import type { PathExpression, PathSegment, QueryCollection } from './ast.js';
import { type QueryValue } from './functions.js';
import { invalidQuery } from './query-error.js';

export type Evaluate = (document: JsonObject) => QueryValue;

/**
 * System names per collection, keyed by lower case: the value is the canonical spelling and the
 * names below it. `null` children mean "user keys below" (tags, desired, reported). A Map, so
 * that names like `constructor` never hit `Object.prototype`.
 */
type SystemNode = ReadonlyMap<string, SystemName>;

interface SystemName {
  readonly name: string;
  readonly children: SystemNode | null;
}

/* @__NO_SIDE_EFFECTS__ */
function systemNode(names: Readonly<Record<string, SystemNode | null>>): SystemNode {
  return new Map(
    Object.entries(names).map(([name, children]) => [name.toLowerCase(), { name, children }]),
  );
}

const LEAF = systemNode({});

const TWIN_ROOT = systemNode({
  deviceId: LEAF,
  moduleId: LEAF,
  etag: LEAF,
  deviceEtag: LEAF,
  version: LEAF,
  status: LEAF,
  statusReason: LEAF,
  statusUpdateTime: LEAF,
  connectionState: LEAF,
  lastActivityTime: LEAF,
  cloudToDeviceMessageCount: LEAF,
  authenticationType: LEAF,
  x509Thumbprint: systemNode({ primaryThumbprint: LEAF, secondaryThumbprint: LEAF }),
  modelId: LEAF,
  capabilities: systemNode({ iotEdge: LEAF }),
  deviceScope: LEAF,
  parentScopes: LEAF,
  configurations: null,
  tags: null,
  properties: systemNode({ desired: null, reported: null }),
});

const JOB_ROOT = systemNode({
  deviceId: LEAF,
  moduleId: LEAF,
  jobId: LEAF,
  jobType: LEAF,
  status: LEAF,
  startTimeUtc: LEAF,
  endTimeUtc: LEAF,
  createdDateTimeUtc: LEAF,
  lastUpdatedDateTimeUtc: LEAF,
  outcome: systemNode({ deviceMethodResponse: null }),
});

/** `$` names are system names wherever they appear (user keys cannot contain `$`, docs/internals/twin-semantics.md#limits). */
const DOLLAR_NAMES = systemNode({
  $metadata: null,
  $version: LEAF,
  $lastUpdated: LEAF,
  $lastUpdatedVersion: LEAF,
});

/** One compiled path step. */
interface Step {
  /** The key to try first: canonical for system names, as written for user keys. */
  readonly key: string;
  readonly lower: string;
  /** Whether a key differing only in case may match when `key` is absent. */
  readonly fallback: boolean;
  /** Whether `key` names an `Object.prototype` member, so a plain read needs an own-property check. */
  readonly inherited: boolean;
}

export interface CompileContext {
  readonly collection: QueryCollection;
  readonly caseSensitive: boolean;
  readonly extended: boolean;
}

function collectionPrefix(collection: QueryCollection): string[] {
  return collection.split('.');
}

/** A compiled path: never empty. */
export type Steps = readonly [Step, ...Step[]];

/** Turns path segments into lookup steps: strips an optional collection prefix, canonicalises system names. */
export function compileSteps(path: PathExpression, context: CompileContext): Steps {
  let segments = path.segments;
  const prefix = collectionPrefix(context.collection);
  // `devices.capabilities.iotEdge` and the documented `devices.jobs.deviceId` name the collection first (docs/internals/twin-semantics.md#query).
  if (
    segments.length > prefix.length &&
    prefix.every((name, i) => {
      const segment = segments[i];
      return segment !== undefined && !segment.escaped && segment.name.toLowerCase() === name;
    })
  ) {
    segments = segments.slice(prefix.length);
  }
  let node: SystemNode | null = context.collection === 'devices.jobs' ? JOB_ROOT : TWIN_ROOT;
  const toStep = (segment: PathSegment): Step => {
    const lower = segment.name.toLowerCase();
    const system: SystemName | undefined = segment.escaped
      ? undefined
      : (node?.get(lower) ?? DOLLAR_NAMES.get(lower));
    if (system !== undefined) {
      node = system.children;
      return {
        key: system.name,
        lower: system.name.toLowerCase(),
        fallback: false,
        inherited: false,
      };
    }
    node = null;
    return {
      key: segment.name,
      lower,
      fallback: !context.caseSensitive,
      inherited: segment.name in Object.prototype,
    };
  };
  const [head, ...tail] = segments;
  if (head === undefined)
    throw invalidQuery('A property path needs at least one segment.', path.position);
  const first = toStep(head);
  return [first, ...tail.map(toStep)];
}

function isPlainObject(value: QueryValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lookup(object: JsonObject, step: Step): QueryValue {
  const key = step.key;
  // A plain read is the hot path; JSON never stores undefined, so a defined value is a hit unless
  // the key is an Object.prototype member (`constructor`, `__proto__`), which must be own.
  const value = object[key];
  if (value !== undefined && (!step.inherited || Object.hasOwn(object, key))) return value;
  if (!step.fallback) return undefined;
  const lower = step.lower;
  const length = key.length;
  for (const candidate in object) {
    if (
      candidate.length === length &&
      candidate.toLowerCase() === lower &&
      Object.hasOwn(object, candidate)
    ) {
      return object[candidate];
    }
  }
  return undefined;
}

export function compileGetter(steps: Steps): Evaluate {
  // Unrolled for the usual depths (tags.a.b, properties.reported.a.b): no loop, no array reads.
  const [first, second, third, fourth] = steps;
  if (second === undefined) return (document) => lookup(document, first);
  if (third === undefined) {
    return (document) => {
      const a = lookup(document, first);
      return isPlainObject(a) ? lookup(a, second) : undefined;
    };
  }
  if (fourth === undefined) {
    return (document) => {
      const a = lookup(document, first);
      if (!isPlainObject(a)) return undefined;
      const b = lookup(a, second);
      return isPlainObject(b) ? lookup(b, third) : undefined;
    };
  }
  const rest = steps.slice(3);
  return (document) => {
    const a = lookup(document, first);
    if (!isPlainObject(a)) return undefined;
    const b = lookup(a, second);
    if (!isPlainObject(b)) return undefined;
    let value = lookup(b, third);
    for (const step of rest) {
      if (!isPlainObject(value)) return undefined;
      value = lookup(value, step);
    }
    return value;
  };
}

export function sameSteps(a: Steps, b: Steps, caseSensitive: boolean): boolean {
  const key = (step: Step): string => (caseSensitive ? step.key : step.lower);
  return JSON.stringify(a.map(key)) === JSON.stringify(b.map(key));
}
