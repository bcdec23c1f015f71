/**
 * Query expressions compiled to evaluators: constants, comparisons with three-valued logic,
 * arithmetic, IN/NIN and function calls (docs/internals/twin-semantics.md#query).
 */
import type { JsonObject } from '../types.js';
import type { ConstantExpression, Expression } from './ast.js';
import { lookupFunction, type QueryValue } from './functions.js';
import { invalidQuery } from './query-error.js';
import {
  type Evaluate,
  type CompileContext,
  compileSteps,
  compileGetter,
} from './compile-paths.js';

function constantValue(node: ConstantExpression): QueryValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'array':
      // JSON arrays have no undefined; `[undefined]` holds null like JSON.stringify writes it.
      return node.elements.map((element) => constantValue(element) ?? null);
    case 'object': {
      const object: JsonObject = {};
      for (const member of node.members) {
        const value = constantValue(member.value);
        if (value !== undefined) object[member.key] = value;
      }
      return object;
    }
  }
}

export function finiteOrUndefined(value: number): number | undefined {
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Comparison of docs/internals/twin-semantics.md#query: defined only between two values of the same primitive type; `null = null`
 * is true; every other pair (undefined, objects, arrays, mixed types) is undefined.
 */
function compare(operator: string, a: QueryValue, b: QueryValue): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === null || b === null) {
    if (a !== b) return undefined;
    return operator === '=' ? true : operator === '!=' ? false : undefined;
  }
  const type = typeof a;
  if (type !== typeof b || type === 'object') return undefined;
  const x = a as string | number | boolean;
  const y = b as string | number | boolean;
  switch (operator) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    default:
      return x >= y;
  }
}

function arithmetic(operator: string, a: number, b: number): number | undefined {
  switch (operator) {
    case '+':
      return finiteOrUndefined(a + b);
    case '-':
      return finiteOrUndefined(a - b);
    case '*':
      return finiteOrUndefined(a * b);
    case '/':
      return finiteOrUndefined(a / b);
    default:
      return finiteOrUndefined(a % b);
  }
}

function compileComparison(
  operator: string,
  left: Evaluate,
  right: Expression,
  context: CompileContext,
): Evaluate {
  // The common `path = 'constant'` shape: one typeof check replaces the general rules, since a
  // value of the constant's (non-null primitive) type is the only comparable one.
  if (right.kind === 'literal' && right.value !== null && right.value !== undefined) {
    const constant = right.value;
    const type = typeof constant;
    switch (operator) {
      case '=':
        return (document) => {
          const value = left(document);
          return typeof value === type ? value === constant : undefined;
        };
      case '!=':
        return (document) => {
          const value = left(document);
          return typeof value === type ? value !== constant : undefined;
        };
      default:
        return (document) => compare(operator, left(document), constant);
    }
  }
  const rightEvaluate = compileExpression(right, context);
  return (document) => compare(operator, left(document), rightEvaluate(document));
}

export function compileExpression(node: Expression, context: CompileContext): Evaluate {
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'array':
    case 'object': {
      const value = constantValue(node);
      return () => value;
    }
    case 'path':
      return compileGetter(compileSteps(node, context));
    case 'unary': {
      const operand = compileExpression(node.operand, context);
      if (node.operator === 'NOT') {
        return (document) => {
          const value = operand(document);
          return value === true ? false : value === false ? true : undefined;
        };
      }
      return (document) => {
        const value = operand(document);
        return typeof value === 'number' ? finiteOrUndefined(-value) : undefined;
      };
    }
    case 'binary': {
      const left = compileExpression(node.left, context);
      const operator = node.operator;
      if (operator === 'AND') {
        const right = compileExpression(node.right, context);
        return (document) => {
          const a = left(document);
          if (a === false) return false;
          const b = right(document);
          if (b === false) return false;
          return a === true && b === true ? true : undefined;
        };
      }
      if (operator === 'OR') {
        const right = compileExpression(node.right, context);
        return (document) => {
          const a = left(document);
          if (a === true) return true;
          const b = right(document);
          if (b === true) return true;
          return a === false && b === false ? false : undefined;
        };
      }
      if (
        operator === '+' ||
        operator === '-' ||
        operator === '*' ||
        operator === '/' ||
        operator === '%'
      ) {
        const right = compileExpression(node.right, context);
        return (document) => {
          const a = left(document);
          if (typeof a !== 'number') return undefined;
          const b = right(document);
          return typeof b === 'number' ? arithmetic(operator, a, b) : undefined;
        };
      }
      return compileComparison(operator, left, node.right, context);
    }
    case 'in': {
      const operand = compileExpression(node.operand, context);
      // docs/internals/twin-semantics.md#query [I]: true when equal to a listed value; false when defined, primitive and equal to
      // none; undefined when undefined (or an object/array). NIN negates with the same rule.
      const members = new Set<QueryValue>();
      for (const element of node.list.elements) {
        const value = constantValue(element);
        if (value === null || (value !== undefined && typeof value !== 'object'))
          members.add(value);
      }
      const negated = node.negated;
      return (document) => {
        const value = operand(document);
        if (value === undefined || (typeof value === 'object' && value !== null)) return undefined;
        return members.has(value) !== negated;
      };
    }
    case 'call': {
      const definition = lookupFunction(node.name, node.position, context.extended);
      const count = node.arguments.length;
      if (count < definition.minArguments || count > definition.maxArguments) {
        throw invalidQuery(`${definition.name} got ${String(count)} arguments.`, node.position);
      }
      const args = node.arguments.map((argument) => compileExpression(argument, context));
      const call = definition.call;
      const [first, second] = args;
      if (count === 1 && first !== undefined) return (document) => call([first(document)]);
      if (count === 2 && first !== undefined && second !== undefined) {
        return (document) => call([first(document), second(document)]);
      }
      return (document) => call(args.map((argument) => argument(document)));
    }
  }
}
