/**
 * The query parser: `SELECT [TOP n] … FROM … [WHERE …] [GROUP BY …]` into a syntax tree, with
 * IoT Hub's rules for what each clause may hold (docs/internals/twin-semantics.md#query). The
 * expression grammar is in `expression-parser.ts`.
 */
import type {
  AggregateExpression,
  Expression,
  PathExpression,
  QueryAst,
  QueryCollection,
  SelectClause,
  SelectItem,
} from './ast.js';
import { AGGREGATE_FUNCTIONS } from './functions.js';
import { tokenize, type Token } from './lexer.js';
import { MAX_QUERY_LENGTH, invalidQuery } from './query-error.js';
import { describe, ExpressionParser, RESERVED_WORDS, upper } from './expression-parser.js';

class Parser extends ExpressionParser {
  parseQuery(): QueryAst {
    const first = this.peek();
    if (!this.isWord('SELECT')) {
      throw invalidQuery(
        `A query starts with SELECT but this one starts with ${describe(first)}.`,
        first.position,
      );
    }
    this.next();
    let top: number | undefined;
    if (this.isWord('TOP')) {
      this.next();
      const count = this.next();
      if (count.kind !== 'number' || !Number.isSafeInteger(count.value)) {
        throw invalidQuery(
          `TOP must be followed by a whole number but found ${describe(count)}.`,
          count.position,
        );
      }
      top = count.value;
    }
    const select = this.#parseSelect();
    const fromToken = this.peek();
    if (!this.isWord('FROM')) {
      const what = select.kind === 'all' ? "'*'" : 'the SELECT list';
      throw invalidQuery(
        `Expected FROM after ${what} but found ${describe(fromToken)}.`,
        fromToken.position,
      );
    }
    this.next();
    const from = this.#parseCollection();
    let where: Expression | undefined;
    if (this.isWord('WHERE')) {
      this.next();
      where = this.parseExpression();
    }
    let groupBy: PathExpression[] | undefined;
    if (this.isWord('GROUP')) {
      const groupToken = this.next();
      if (!this.isWord('BY')) {
        throw invalidQuery(
          `GROUP must be followed by BY but found ${describe(this.peek())}.`,
          groupToken.position,
        );
      }
      this.next();
      groupBy = [this.#parseGroupKey()];
      while (this.isPunct(',')) {
        this.next();
        groupBy.push(this.#parseGroupKey());
      }
    }
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      const hint = upper(rest) === 'ORDER' ? ' Twin queries have no ORDER BY.' : '';
      throw invalidQuery(
        `Unexpected ${describe(rest)} after the end of the query.${hint}`,
        rest.position,
      );
    }
    const ast: QueryAst = {
      kind: 'query',
      ...(top === undefined ? {} : { top }),
      select,
      from,
      ...(where === undefined ? {} : { where }),
      ...(groupBy === undefined ? {} : { groupBy }),
    };
    assertQueryShape(ast);
    return ast;
  }

  #parseSelect(): SelectClause {
    const start = this.peek();
    if (this.isPunct('*')) {
      this.next();
      return { kind: 'all', position: start.position };
    }
    const items: SelectItem[] = [this.#parseSelectItem()];
    while (this.isPunct(',')) {
      this.next();
      items.push(this.#parseSelectItem());
    }
    return { kind: 'list', items, position: start.position };
  }

  #parseSelectItem(): SelectItem {
    const token = this.peek();
    let expression: PathExpression | AggregateExpression;
    if (token.kind === 'word' && this.isPunct('(', 1)) {
      expression = this.#parseAggregate();
    } else if (token.kind === 'word' && !RESERVED_WORDS.has(upper(token))) {
      expression = this.parsePath();
    } else {
      throw invalidQuery(
        `Expected '*', a property path or an aggregate in the SELECT list but found ${describe(token)}.`,
        token.position,
      );
    }
    if (!this.isWord('AS')) return { expression, position: token.position };
    this.next();
    const alias = this.peek();
    if (alias.kind !== 'word' || RESERVED_WORDS.has(upper(alias))) {
      throw invalidQuery(
        `Expected an alias name after AS but found ${describe(alias)}.`,
        alias.position,
      );
    }
    this.next();
    return { expression, alias: alias.text, position: token.position };
  }

  #parseAggregate(): AggregateExpression {
    const nameToken = this.next();
    const name = upper(nameToken);
    if (!AGGREGATE_FUNCTIONS.has(name)) {
      throw invalidQuery(
        `Only property paths and the aggregates COUNT(), AVG(), SUM(), MIN() and MAX() can be selected; found ${describe(nameToken)}.`,
        nameToken.position,
      );
    }
    this.next();
    if (name === 'COUNT') {
      this.expectPunct(')', 'to close COUNT( (COUNT takes no arguments)');
      return { kind: 'aggregate', name: 'COUNT', position: nameToken.position };
    }
    const argumentToken = this.peek();
    if (argumentToken.kind !== 'word' || RESERVED_WORDS.has(upper(argumentToken))) {
      throw invalidQuery(
        `${name}() takes a property path but found ${describe(argumentToken)}.`,
        argumentToken.position,
      );
    }
    const argument = this.parsePath();
    this.expectPunct(')', `to close ${name}(`);
    return {
      kind: 'aggregate',
      name: name as AggregateExpression['name'],
      argument,
      position: nameToken.position,
    };
  }

  #parseCollection(): QueryCollection {
    const token = this.peek();
    const fail = (found: Token): never => {
      throw invalidQuery(
        `Expected the collection devices, devices.modules or devices.jobs after FROM but found ${describe(found)}.`,
        found.position,
      );
    };
    if (upper(token) !== 'DEVICES') fail(token);
    this.next();
    if (!this.isPunct('.')) return 'devices';
    this.next();
    const child = this.next();
    const name = upper(child);
    if (name === 'MODULES') return 'devices.modules';
    if (name === 'JOBS') return 'devices.jobs';
    return fail(child);
  }

  #parseGroupKey(): PathExpression {
    const token = this.peek();
    if (token.kind !== 'word' || RESERVED_WORDS.has(upper(token)) || this.isPunct('(', 1)) {
      throw invalidQuery(
        `GROUP BY takes property paths but found ${describe(token)}.`,
        token.position,
      );
    }
    return this.parsePath();
  }
}

/**
 * Checks the rules that depend only on the query's clauses (docs/internals/twin-semantics.md#query): job queries are
 * `SELECT *` only, and GROUP BY needs a SELECT list.
 *
 * @param ast - a parsed or hand-built query
 * @throws {@link QuerySyntaxError} when a rule is broken
 */
export function assertQueryShape(ast: QueryAst): void {
  if (ast.top !== undefined && (!Number.isSafeInteger(ast.top) || ast.top < 0)) {
    throw invalidQuery('TOP must be followed by a whole number.', 0);
  }
  const groupPosition = ast.groupBy?.[0]?.position;
  if (ast.from === 'devices.jobs') {
    if (ast.select.kind !== 'all') {
      throw invalidQuery(
        'devices.jobs queries support only SELECT *: no projections and no aggregates.',
        ast.select.position,
      );
    }
    if (groupPosition !== undefined) {
      throw invalidQuery('devices.jobs queries do not support GROUP BY.', groupPosition);
    }
  }
  if (ast.select.kind === 'all' && groupPosition !== undefined) {
    throw invalidQuery(
      'GROUP BY needs a SELECT list of grouped paths and aggregates, not SELECT *.',
      groupPosition,
    );
  }
}

/**
 * Parses IoT Hub query text (twin, module and job queries) into a syntax tree.
 *
 * Keywords, function names and the literals `true`/`false`/`null`/`undefined` are
 * case-insensitive; strings take single or double quotes with `\'`, `\"`, `\\` and `\uXXXX`
 * escapes; numbers may be decimal or `0x` hex; a property literally named like a keyword is
 * written `tags.[[group]]`.
 *
 * @param text - the query, at most {@link MAX_QUERY_LENGTH} characters
 * @returns the syntax tree
 * @throws {@link QuerySyntaxError} when the text is not a valid query; the message starts with the
 *   hub's "The query is invalid…" sentence and `position` points at the problem
 * @see docs/internals/twin-semantics.md#query
 * @example
 * ```ts
 * const ast = parseQuery("SELECT * FROM devices WHERE tags.location.region = 'US'");
 * ast.from; // 'devices'
 * ```
 */
export function parseQuery(text: string): QueryAst {
  if (typeof text !== 'string') throw new TypeError('The query must be a string.');
  if (text.length > MAX_QUERY_LENGTH) {
    throw invalidQuery(
      `The query is ${String(text.length)} characters long; the limit is ${String(MAX_QUERY_LENGTH)}.`,
      MAX_QUERY_LENGTH,
    );
  }
  if (text.trim() === '') throw invalidQuery('The query is empty.', 0);
  return new Parser(tokenize(text), text.length).parseQuery();
}
