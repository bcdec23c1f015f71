/**
 * The SELECT side of a compiled query: projections, aggregates and GROUP BY rows
 * (docs/internals/twin-semantics.md#query).
 */
import type { JsonObject } from '../types.js';
import type { AggregateFunction, QueryAst } from './ast.js';
import { type QueryValue } from './functions.js';
import { invalidQuery } from './query-error.js';
import {
  type Evaluate,
  type CompileContext,
  type Steps,
  compileSteps,
  compileGetter,
} from './compile-paths.js';
import { finiteOrUndefined } from './compile-expression.js';

export interface OutputPath {
  readonly kind: 'path';
  readonly key: string;
  readonly get: Evaluate;
  readonly steps: Steps;
  readonly position: number;
  /** Index of the GROUP BY key this item repeats, in grouped queries. */
  groupIndex: number;
}

export interface OutputAggregate {
  readonly kind: 'aggregate';
  readonly key: string;
  readonly name: AggregateFunction;
  readonly get: Evaluate | undefined;
  /** Position among the aggregates of the SELECT list, which is also its accumulator's. */
  readonly index: number;
}

type OutputItem = OutputPath | OutputAggregate;

/** Running state of one aggregate: the count of documents (COUNT) or of numeric values. */
interface Accumulator {
  readonly name: AggregateFunction;
  readonly get: Evaluate | undefined;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export function newAccumulators(aggregates: readonly OutputAggregate[]): Accumulator[] {
  return aggregates.map(({ name, get }) => ({
    name,
    get,
    count: 0,
    sum: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  }));
}

export function accumulate(accumulators: readonly Accumulator[], document: JsonObject): void {
  for (const accumulator of accumulators) {
    if (accumulator.get === undefined) {
      accumulator.count += 1;
      continue;
    }
    // docs/internals/twin-semantics.md#query [I]: non-numbers and missing values are ignored.
    const value = accumulator.get(document);
    if (typeof value !== 'number') continue;
    accumulator.count += 1;
    accumulator.sum += value;
    if (value < accumulator.min) accumulator.min = value;
    if (value > accumulator.max) accumulator.max = value;
  }
}

function finish(accumulator: Accumulator): number | undefined {
  switch (accumulator.name) {
    case 'COUNT':
      return accumulator.count;
    case 'SUM':
      return finiteOrUndefined(accumulator.sum);
    case 'AVG':
      return accumulator.count === 0
        ? undefined
        : finiteOrUndefined(accumulator.sum / accumulator.count);
    case 'MIN':
      return accumulator.count === 0 ? undefined : accumulator.min;
    case 'MAX':
      return accumulator.count === 0 ? undefined : accumulator.max;
  }
}

interface Group {
  readonly keys: readonly QueryValue[];
  readonly accumulators: Accumulator[];
}

/** A group key that tells every JSON value and undefined apart; JSON text never holds U+0001. */
function encodeGroupKey(values: readonly QueryValue[]): string {
  let key = '';
  for (const value of values)
    key += value === undefined ? 'u\u0001' : `j${JSON.stringify(value)}\u0001`;
  return key;
}

export function buildRow(
  items: readonly OutputItem[],
  keys: readonly QueryValue[],
  accumulators: readonly Accumulator[],
): JsonObject {
  const results = accumulators.map(finish);
  const row: JsonObject = {};
  for (const item of items) {
    const value = item.kind === 'path' ? keys[item.groupIndex] : results[item.index];
    // docs/internals/twin-semantics.md#query [I]: an undefined value leaves its key out.
    if (value !== undefined) row[item.key] = value;
  }
  return row;
}

export function compileOutputItems(ast: QueryAst, context: CompileContext): OutputItem[] {
  if (ast.select.kind === 'all') return [];
  const items: OutputItem[] = [];
  const seen = new Map<string, number>();
  let unnamed = 0;
  let aggregateCount = 0;
  for (const item of ast.select.items) {
    const expression = item.expression;
    let output: OutputItem;
    if (expression.kind === 'path') {
      const steps = compileSteps(expression, context);
      const key = item.alias ?? steps.reduce((_previous, step) => step).key;
      output = {
        kind: 'path',
        key,
        get: compileGetter(steps),
        steps,
        position: item.position,
        groupIndex: -1,
      };
    } else {
      let key = item.alias;
      if (key === undefined) {
        // Unaliased aggregates get Cosmos-style `$1`, `$2`, … names (docs/internals/twin-semantics.md#query [I]).
        unnamed += 1;
        key = `$${String(unnamed)}`;
      }
      const get =
        expression.argument === undefined
          ? undefined
          : compileGetter(compileSteps(expression.argument, context));
      output = { kind: 'aggregate', key, name: expression.name, get, index: aggregateCount };
      aggregateCount += 1;
    }
    if (seen.has(output.key)) {
      throw invalidQuery(
        `The SELECT list names '${output.key}' twice; give one of them a different alias with AS.`,
        item.position,
      );
    }
    seen.set(output.key, item.position);
    items.push(output);
  }
  return items;
}

export function projector(
  fields: readonly { key: string; get: Evaluate }[],
): (document: JsonObject) => JsonObject {
  return (document) => {
    const row: JsonObject = {};
    for (const field of fields) {
      const value = field.get(document);
      if (value !== undefined) row[field.key] = value;
    }
    return row;
  };
}

export function executeGrouped(
  documents: Iterable<JsonObject>,
  where: (document: JsonObject) => boolean,
  groupGetters: readonly Evaluate[],
  items: readonly OutputItem[],
  aggregates: readonly OutputAggregate[],
  top: number,
): JsonObject[] {
  // One key, primitive value: the value itself keys the map (SameValueZero tells types apart).
  const simple = new Map<QueryValue, Group>();
  const encoded = new Map<string, Group>();
  const groups: Group[] = [];
  const single = groupGetters.length === 1 ? groupGetters[0] : undefined;
  for (const document of documents) {
    if (!where(document)) continue;
    let group: Group | undefined;
    if (single !== undefined) {
      const value = single(document);
      const primitive = value === null || typeof value !== 'object';
      group = primitive ? simple.get(value) : encoded.get(encodeGroupKey([value]));
      if (group === undefined) {
        group = { keys: [value], accumulators: newAccumulators(aggregates) };
        if (primitive) simple.set(value, group);
        else encoded.set(encodeGroupKey([value]), group);
        groups.push(group);
      }
    } else {
      const keys = groupGetters.map((get) => get(document));
      const key = encodeGroupKey(keys);
      group = encoded.get(key);
      if (group === undefined) {
        group = { keys, accumulators: newAccumulators(aggregates) };
        encoded.set(key, group);
        groups.push(group);
      }
    }
    accumulate(group.accumulators, document);
  }
  const rows: JsonObject[] = [];
  for (const group of groups) {
    if (rows.length >= top) break;
    rows.push(buildRow(items, group.keys, group.accumulators));
  }
  return rows;
}
