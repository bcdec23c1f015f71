import type { JsonValue } from '../types.js';
import { invalidQuery } from './query-error.js';

/** A value during query evaluation: any JSON value, or `undefined` for a missing path. */
export type QueryValue = JsonValue | undefined;

/**
 * Which queries accept a function: `twin` ones always (docs/internals/twin-semantics.md#query: IS_DEFINED is documented,
 * STARTSWITH/ENDSWITH are observed to work); `extended` ones unless the query options turn them
 * off (`extendedFunctions: false`).
 */
export type QueryFunctionTier = 'twin' | 'extended';

/** A scalar function twin queries can call. */
export interface QueryFunction {
  /** Upper-case name. */
  readonly name: string;
  readonly tier: QueryFunctionTier;
  readonly minArguments: number;
  readonly maxArguments: number;
  /** Never throws: arguments of the wrong type give `undefined` (docs/internals/twin-semantics.md#query). */
  readonly call: (args: readonly QueryValue[]) => QueryValue;
}

function finite(value: number): number | undefined {
  return Number.isFinite(value) ? value : undefined;
}

function unaryMath(fn: (x: number) => number): (args: readonly QueryValue[]) => QueryValue {
  return (args) => {
    const x = args[0];
    return typeof x === 'number' ? finite(fn(x)) : undefined;
  };
}

function typeTest(
  test: (value: QueryValue) => boolean,
): (args: readonly QueryValue[]) => QueryValue {
  return (args) => test(args[0]);
}

function isObject(value: QueryValue): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NUMBER_TEXT = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/u;

const definitions = /* @__PURE__ */ ((): QueryFunction[] => [
  {
    name: 'IS_DEFINED',
    tier: 'twin',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => v !== undefined),
  },
  {
    name: 'STARTSWITH',
    tier: 'twin',
    minArguments: 2,
    maxArguments: 2,
    call: ([text, prefix]) =>
      typeof text === 'string' && typeof prefix === 'string' ? text.startsWith(prefix) : undefined,
  },
  {
    name: 'ENDSWITH',
    tier: 'twin',
    minArguments: 2,
    maxArguments: 2,
    call: ([text, suffix]) =>
      typeof text === 'string' && typeof suffix === 'string' ? text.endsWith(suffix) : undefined,
  },
  {
    name: 'IS_NULL',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => v === null),
  },
  {
    name: 'IS_BOOL',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => typeof v === 'boolean'),
  },
  {
    name: 'IS_NUMBER',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => typeof v === 'number'),
  },
  {
    name: 'IS_STRING',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => typeof v === 'string'),
  },
  {
    name: 'IS_OBJECT',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest(isObject),
  },
  {
    name: 'IS_ARRAY',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest(Array.isArray),
  },
  {
    name: 'IS_PRIMITIVE',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: typeTest((v) => v === null || (v !== undefined && typeof v !== 'object')),
  },
  {
    name: 'AS_NUMBER',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: ([v]) => {
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && NUMBER_TEXT.test(v)) return finite(Number(v));
      return undefined;
    },
  },
  { name: 'ABS', tier: 'extended', minArguments: 1, maxArguments: 1, call: unaryMath(Math.abs) },
  {
    name: 'CEILING',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: unaryMath(Math.ceil),
  },
  {
    name: 'FLOOR',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: unaryMath(Math.floor),
  },
  { name: 'EXP', tier: 'extended', minArguments: 1, maxArguments: 1, call: unaryMath(Math.exp) },
  { name: 'SIGN', tier: 'extended', minArguments: 1, maxArguments: 1, call: unaryMath(Math.sign) },
  { name: 'SQRT', tier: 'extended', minArguments: 1, maxArguments: 1, call: unaryMath(Math.sqrt) },
  {
    name: 'SQUARE',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: unaryMath((x) => x * x),
  },
  {
    name: 'POWER',
    tier: 'extended',
    minArguments: 2,
    maxArguments: 2,
    call: ([x, y]) => (typeof x === 'number' && typeof y === 'number' ? finite(x ** y) : undefined),
  },
  {
    name: 'CONCAT',
    tier: 'extended',
    minArguments: 2,
    maxArguments: Number.POSITIVE_INFINITY,
    call: (args) => {
      let result = '';
      for (const arg of args) {
        if (typeof arg !== 'string') return undefined;
        result += arg;
      }
      return result;
    },
  },
  {
    name: 'LENGTH',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: ([v]) => (typeof v === 'string' ? v.length : undefined),
  },
  {
    name: 'LOWER',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: ([v]) => (typeof v === 'string' ? v.toLowerCase() : undefined),
  },
  {
    name: 'UPPER',
    tier: 'extended',
    minArguments: 1,
    maxArguments: 1,
    call: ([v]) => (typeof v === 'string' ? v.toUpperCase() : undefined),
  },
  {
    name: 'SUBSTRING',
    tier: 'extended',
    minArguments: 2,
    maxArguments: 3,
    // Zero-based start, optional length, as in the routing dialect; non-integers give undefined.
    call: ([text, start, length]) => {
      if (typeof text !== 'string' || typeof start !== 'number' || !Number.isInteger(start))
        return undefined;
      const from = Math.max(0, start);
      if (length === undefined) return text.slice(from);
      if (typeof length !== 'number' || !Number.isInteger(length)) return undefined;
      return text.slice(from, from + Math.max(0, length));
    },
  },
  {
    name: 'INDEX_OF',
    tier: 'extended',
    minArguments: 2,
    maxArguments: 2,
    call: ([text, search]) =>
      typeof text === 'string' && typeof search === 'string' ? text.indexOf(search) : undefined,
  },
])();

/** Every scalar function twin queries know, by upper-case name. */
export const QUERY_FUNCTIONS: ReadonlyMap<string, QueryFunction> = /* @__PURE__ */ (() =>
  new Map(definitions.map((definition) => [definition.name, definition])))();

/**
 * Functions of the routing dialect that twin queries reject, with the twin-query spelling to
 * suggest when there is one (docs/internals/twin-semantics.md#query: `STARTS_WITH(...)` returns "The query is invalid…").
 */
export const ROUTING_ONLY_FUNCTIONS: ReadonlyMap<string, string | undefined> = new Map([
  ['STARTS_WITH', 'STARTSWITH'],
  ['ENDS_WITH', 'ENDSWITH'],
  ['CONTAINS', undefined],
]);

/** The aggregate names, valid only in a SELECT list. */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  'COUNT',
  'AVG',
  'SUM',
  'MIN',
  'MAX',
]);

/**
 * Finds the scalar function a call names, or throws the error the hub would answer with.
 *
 * @param name - the name as written (any case)
 * @param position - where the call starts, for the error
 * @param extended - whether `extended` functions are allowed
 * @returns the function
 * @throws {@link QuerySyntaxError} for aggregates outside SELECT, routing-only, unknown or
 *   disabled functions
 */
export function lookupFunction(name: string, position: number, extended: boolean): QueryFunction {
  const upper = name.toUpperCase();
  if (AGGREGATE_FUNCTIONS.has(upper)) {
    throw invalidQuery(
      `${upper}() is an aggregate; aggregates are allowed only in the SELECT list.`,
      position,
    );
  }
  if (ROUTING_ONLY_FUNCTIONS.has(upper)) {
    const suggestion = ROUTING_ONLY_FUNCTIONS.get(upper);
    const hint = suggestion === undefined ? '' : `; twin queries use ${suggestion}`;
    throw invalidQuery(
      `${upper} is a message-routing function, not available in twin queries${hint}.`,
      position,
    );
  }
  const definition = QUERY_FUNCTIONS.get(upper);
  if (definition === undefined) throw invalidQuery(`Unknown function '${name}'.`, position);
  if (definition.tier === 'extended' && !extended) {
    throw invalidQuery(
      `${upper} is not available: this hub accepts only IS_DEFINED, STARTSWITH and ENDSWITH in twin queries.`,
      position,
    );
  }
  return definition;
}
