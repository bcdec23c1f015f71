/**
 * The expression half of the query parser over a token cursor: paths, the WHERE grammar
 * (OR, AND, NOT, comparisons, IN/NIN, arithmetic), constants, arrays, objects and function calls
 * (docs/internals/twin-semantics.md#query). `parse-query.ts` adds the clauses on top.
 */
import type {
  ArrayExpression,
  ComparisonOperator,
  ConstantExpression,
  Expression,
  ObjectExpression,
  ObjectMember,
  PathExpression,
  PathSegment,
} from './ast.js';
import { lookupFunction } from './functions.js';
import { type Token } from './lexer.js';
import { invalidQuery } from './query-error.js';

/** Words that are never a bare property name; `tags.[[group]]` escapes one (docs/internals/twin-semantics.md#query, TV-65). */
export const RESERVED_WORDS = new Set([
  'SELECT',
  'TOP',
  'FROM',
  'WHERE',
  'GROUP',
  'BY',
  'AS',
  'AND',
  'OR',
  'NOT',
  'IN',
  'NIN',
  'TRUE',
  'FALSE',
  'NULL',
  'UNDEFINED',
]);

const LITERAL_WORDS: ReadonlyMap<string, boolean | null | undefined> = new Map([
  ['TRUE', true],
  ['FALSE', false],
  ['NULL', null],
  ['UNDEFINED', undefined],
]);

const COMPARISON_OPERATORS: ReadonlyMap<string, ComparisonOperator> = new Map([
  ['=', '='],
  ['!=', '!='],
  ['<>', '!='],
  ['<', '<'],
  ['>', '>'],
  ['<=', '<='],
  ['>=', '>='],
]);

/**
 * Parentheses, NOT, unary minus, constants and calls may nest this deep. Keeps random or hostile
 * text from exhausting the stack: the parser and the compiled closures recurse per level.
 */
const MAX_NESTING = 100;

export function describe(token: Token): string {
  const shorten = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text);
  switch (token.kind) {
    case 'eof':
      return 'the end of the query';
    case 'string':
      return `the string ${JSON.stringify(shorten(token.text))}`;
    case 'segment':
      return `'[[${shorten(token.text)}]]'`;
    case 'number':
    case 'punct':
    case 'word':
      return `'${shorten(token.text)}'`;
  }
}

export function upper(token: Token): string {
  return token.kind === 'word' ? token.text.toUpperCase() : '';
}

function arityText(min: number, max: number): string {
  const plural = (n: number): string => `${String(n)} argument${n === 1 ? '' : 's'}`;
  if (min === max) return `takes ${plural(min)}`;
  if (max === Number.POSITIVE_INFINITY) return `takes at least ${plural(min)}`;
  return `takes ${String(min)} to ${plural(max)}`;
}

/** Reads tokens and parses expressions; the query parser extends it with the clauses. */
export class ExpressionParser {
  readonly #tokens: Token[];
  readonly #eof: Token;
  #index = 0;
  #depth = 0;

  constructor(tokens: Token[], length: number) {
    this.#tokens = tokens;
    this.#eof = { kind: 'eof', text: '', value: 0, position: length, end: length };
  }

  protected peek(offset = 0): Token {
    return this.#tokens[this.#index + offset] ?? this.#eof;
  }

  protected next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.#index += 1;
    return token;
  }

  protected isWord(word: string, offset = 0): boolean {
    return upper(this.peek(offset)) === word;
  }

  protected isPunct(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'punct' && token.text === text;
  }

  protected expectPunct(text: string, context: string): Token {
    const token = this.peek();
    if (token.kind !== 'punct' || token.text !== text) {
      throw invalidQuery(
        `Expected '${text}' ${context} but found ${describe(token)}.`,
        token.position,
      );
    }
    return this.next();
  }

  protected enter(position: number): void {
    this.#depth += 1;
    if (this.#depth > MAX_NESTING) {
      throw invalidQuery(`The query nests more than ${String(MAX_NESTING)} levels deep.`, position);
    }
  }

  protected leave(): void {
    this.#depth -= 1;
  }

  protected parsePath(): PathExpression {
    const first = this.next();
    const segments: PathSegment[] = [
      { name: first.text, escaped: false, position: first.position },
    ];
    while (this.isPunct('.')) {
      this.next();
      const token = this.next();
      if (token.kind === 'segment') {
        segments.push({ name: token.text, escaped: true, position: token.position });
      } else if (token.kind === 'word' && !RESERVED_WORDS.has(upper(token))) {
        segments.push({ name: token.text, escaped: false, position: token.position });
      } else if (token.kind === 'word') {
        throw invalidQuery(
          `'${token.text}' is a reserved word; to use it as a property name write [[${token.text}]].`,
          token.position,
        );
      } else {
        throw invalidQuery(
          `Expected a property name after '.' but found ${describe(token)}.`,
          token.position,
        );
      }
    }
    return { kind: 'path', segments, position: first.position };
  }

  protected parseExpression(): Expression {
    let left = this.#parseAnd();
    while (this.isWord('OR')) {
      this.next();
      const right = this.#parseAnd();
      left = { kind: 'binary', operator: 'OR', left, right, position: left.position };
    }
    return left;
  }

  #parseAnd(): Expression {
    let left = this.#parseNot();
    while (this.isWord('AND')) {
      this.next();
      const right = this.#parseNot();
      left = { kind: 'binary', operator: 'AND', left, right, position: left.position };
    }
    return left;
  }

  // NOT binds looser than comparisons, as in SQL (docs/internals/twin-semantics.md#query): NOT a = b is NOT (a = b).
  #parseNot(): Expression {
    if (!this.isWord('NOT')) return this.#parseComparison();
    const token = this.next();
    this.enter(token.position);
    const operand = this.#parseNot();
    this.leave();
    return { kind: 'unary', operator: 'NOT', operand, position: token.position };
  }

  #parseComparison(): Expression {
    const left = this.#parseAdditive();
    const token = this.peek();
    const operator = token.kind === 'punct' ? COMPARISON_OPERATORS.get(token.text) : undefined;
    if (operator !== undefined) {
      this.next();
      const right = this.#parseAdditive();
      return { kind: 'binary', operator, left, right, position: left.position };
    }
    const word = upper(token);
    if (word === 'IN' || word === 'NIN') {
      this.next();
      if (this.isPunct('(')) {
        throw invalidQuery(
          `${word} takes a list in square brackets, as in ${word} ['a', 'b'].`,
          this.peek().position,
        );
      }
      if (!this.isPunct('[')) {
        throw invalidQuery(
          `Expected '[' after ${word} but found ${describe(this.peek())}.`,
          this.peek().position,
        );
      }
      const list = this.#parseArray();
      return { kind: 'in', negated: word === 'NIN', operand: left, list, position: left.position };
    }
    if (word === 'NOT' && this.isWord('IN', 1)) {
      throw invalidQuery('Write NIN instead of NOT IN.', token.position);
    }
    return left;
  }

  #parseAdditive(): Expression {
    let left = this.#parseMultiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const operator = this.next().text as '+' | '-';
      const right = this.#parseMultiplicative();
      left = { kind: 'binary', operator, left, right, position: left.position };
    }
    return left;
  }

  #parseMultiplicative(): Expression {
    let left = this.#parseUnary();
    while (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) {
      const operator = this.next().text as '*' | '/' | '%';
      const right = this.#parseUnary();
      left = { kind: 'binary', operator, left, right, position: left.position };
    }
    return left;
  }

  #parseUnary(): Expression {
    if (!this.isPunct('-')) return this.#parsePrimary();
    const token = this.next();
    this.enter(token.position);
    const operand = this.#parseUnary();
    this.leave();
    if (operand.kind === 'literal' && typeof operand.value === 'number') {
      return { kind: 'literal', value: -operand.value, position: token.position };
    }
    return { kind: 'unary', operator: '-', operand, position: token.position };
  }

  #parsePrimary(): Expression {
    const token = this.peek();
    switch (token.kind) {
      case 'number':
        this.next();
        return { kind: 'literal', value: token.value, position: token.position };
      case 'string':
        this.next();
        return { kind: 'literal', value: token.text, position: token.position };
      case 'punct':
        if (token.text === '(') {
          this.next();
          this.enter(token.position);
          const inner = this.parseExpression();
          this.expectPunct(')', "to close the '(' opened earlier");
          this.leave();
          return inner;
        }
        if (token.text === '[') return this.#parseArray();
        if (token.text === '{') return this.#parseObject();
        break;
      case 'word': {
        const word = upper(token);
        if (LITERAL_WORDS.has(word)) {
          this.next();
          return { kind: 'literal', value: LITERAL_WORDS.get(word), position: token.position };
        }
        if (this.isPunct('(', 1)) return this.#parseCall();
        if (RESERVED_WORDS.has(word)) break;
        return this.parsePath();
      }
      case 'segment':
      case 'eof':
        break;
    }
    throw invalidQuery(
      `Expected a value, a property path or a function call but found ${describe(token)}.`,
      token.position,
    );
  }

  #parseCall(): Expression {
    const nameToken = this.next();
    const definition = lookupFunction(nameToken.text, nameToken.position, true);
    const name = definition.name;
    const open = this.next();
    this.enter(open.position);
    const args: Expression[] = [];
    if (!this.isPunct(')')) {
      args.push(this.parseExpression());
      while (this.isPunct(',')) {
        this.next();
        args.push(this.parseExpression());
      }
    }
    this.expectPunct(')', `to close the arguments of ${name}`);
    this.leave();
    if (args.length < definition.minArguments || args.length > definition.maxArguments) {
      throw invalidQuery(
        `${name} ${arityText(definition.minArguments, definition.maxArguments)} but got ${String(args.length)}.`,
        nameToken.position,
      );
    }
    return { kind: 'call', name, arguments: args, position: nameToken.position };
  }

  #parseArray(): ArrayExpression {
    const open = this.next();
    this.enter(open.position);
    const elements: ConstantExpression[] = [];
    if (!this.isPunct(']')) {
      elements.push(this.#parseConstant());
      while (this.isPunct(',')) {
        this.next();
        elements.push(this.#parseConstant());
      }
    }
    this.expectPunct(']', 'to close the array');
    this.leave();
    return { kind: 'array', elements, position: open.position };
  }

  #parseObject(): ObjectExpression {
    const open = this.next();
    this.enter(open.position);
    const members: ObjectMember[] = [];
    if (!this.isPunct('}')) {
      members.push(this.#parseMember());
      while (this.isPunct(',')) {
        this.next();
        members.push(this.#parseMember());
      }
    }
    this.expectPunct('}', 'to close the object');
    this.leave();
    return { kind: 'object', members, position: open.position };
  }

  #parseMember(): ObjectMember {
    const key = this.next();
    if (key.kind !== 'string' && key.kind !== 'word') {
      throw invalidQuery(`Expected an object key but found ${describe(key)}.`, key.position);
    }
    this.expectPunct(':', `after the object key ${describe(key)}`);
    return { key: key.text, value: this.#parseConstant() };
  }

  #parseConstant(): ConstantExpression {
    const token = this.peek();
    const expression =
      token.kind === 'word' && !LITERAL_WORDS.has(upper(token))
        ? undefined
        : this.#parseUnaryConstant();
    if (expression === undefined) {
      throw invalidQuery(
        `Arrays and objects may hold only constants (strings, numbers, true, false, null, arrays, objects) but found ${describe(token)}.`,
        token.position,
      );
    }
    return expression;
  }

  #parseUnaryConstant(): ConstantExpression | undefined {
    const token = this.peek();
    if (token.kind === 'punct' && !['-', '[', '{'].includes(token.text)) return undefined;
    if (token.kind === 'segment' || token.kind === 'eof') return undefined;
    const expression = this.#parseUnary();
    return expression.kind === 'literal' ||
      expression.kind === 'array' ||
      expression.kind === 'object'
      ? expression
      : undefined;
  }
}
