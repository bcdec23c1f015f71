import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuerySyntaxError } from '../errors/index.js';
import type {
  BinaryExpression,
  Expression,
  InExpression,
  LiteralExpression,
  PathExpression,
  QueryAst,
} from './ast.js';
import { tokenize } from './lexer.js';
import { compileQuery } from './compile-query.js';
import { assertQueryShape, parseQuery } from './parse-query.js';
import { INVALID_QUERY_MESSAGE, MAX_QUERY_LENGTH } from './query-error.js';

function where(condition: string): Expression {
  const ast = parseQuery(`SELECT * FROM devices WHERE ${condition}`);
  if (ast.where === undefined) throw new Error('no WHERE');
  return ast.where;
}

function literal(condition: string): LiteralExpression['value'] {
  const expression = where(`x = ${condition}`) as BinaryExpression;
  return (expression.right as LiteralExpression).value;
}

function syntaxError(text: string): QuerySyntaxError {
  try {
    parseQuery(text);
  } catch (error) {
    expect(error).toBeInstanceOf(QuerySyntaxError);
    expect((error as Error).message.startsWith(INVALID_QUERY_MESSAGE)).toBe(true);
    return error as QuerySyntaxError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

/** Renders a WHERE tree back to fully parenthesised text, to check precedence. */
function show(node: Expression): string {
  switch (node.kind) {
    case 'path':
      return node.segments.map((s) => (s.escaped ? `[[${s.name}]]` : s.name)).join('.');
    case 'literal':
      return node.value === undefined ? 'undefined' : JSON.stringify(node.value);
    case 'array':
      return `[${node.elements.map(show).join(',')}]`;
    case 'object':
      return `{${node.members.map((m) => `${m.key}:${show(m.value)}`).join(',')}}`;
    case 'unary':
      return `(${node.operator} ${show(node.operand)})`;
    case 'binary':
      return `(${show(node.left)} ${node.operator} ${show(node.right)})`;
    case 'in':
      return `(${show(node.operand)} ${node.negated ? 'NIN' : 'IN'} ${show(node.list)})`;
    case 'call':
      return `${node.name}(${node.arguments.map(show).join(',')})`;
  }
}

describe('parseQuery', () => {
  describe('clauses', () => {
    it('parses SELECT * FROM devices with nothing else', () => {
      expect(parseQuery('SELECT * FROM devices')).toEqual({
        kind: 'query',
        select: { kind: 'all', position: 7 },
        from: 'devices',
      });
    });

    it('parses TOP, a projection list with aliases, WHERE and GROUP BY', () => {
      const ast = parseQuery(
        'SELECT TOP 10 tags.env AS env, COUNT() AS n, MAX(properties.reported.x) FROM devices WHERE tags.a = 1 GROUP BY tags.env',
      );
      expect(ast.top).toBe(10);
      expect(ast.select.kind).toBe('list');
      if (ast.select.kind !== 'list') return;
      expect(ast.select.items.map((item) => item.alias)).toEqual(['env', 'n', undefined]);
      expect(ast.select.items[1]?.expression).toEqual({
        kind: 'aggregate',
        name: 'COUNT',
        position: 31,
      });
      expect(ast.select.items[2]?.expression.kind).toBe('aggregate');
      expect(ast.groupBy?.map((path) => path.segments.map((s) => s.name))).toEqual([
        ['tags', 'env'],
      ]);
    });

    it('accepts several GROUP BY keys', () => {
      const ast = parseQuery(
        'SELECT tags.a, tags.b, COUNT() AS n FROM devices GROUP BY tags.a, tags.b',
      );
      expect(ast.groupBy).toHaveLength(2);
    });

    it.each([
      ['devices', 'devices'],
      ['devices.modules', 'devices.modules'],
      ['devices.jobs', 'devices.jobs'],
      ['DEVICES.Modules', 'devices.modules'],
    ])('reads the collection %s', (collection, expected) => {
      expect(parseQuery(`SELECT * FROM ${collection}`).from).toBe(expected);
    });

    it('treats keywords case-insensitively', () => {
      const ast = parseQuery(
        "sElEcT tOp 1 * FrOm devices wHeRe NoT tags.a = 'x' AnD tags.b In ['y'] oR tags.c nIn [1]",
      );
      expect(ast.top).toBe(1);
      expect(show(ast.where!)).toBe(
        '(((NOT (tags.a = "x")) AND (tags.b IN ["y"])) OR (tags.c NIN [1]))',
      );
    });

    it('accepts TOP 0 and hex TOP', () => {
      expect(parseQuery('SELECT TOP 0 * FROM devices').top).toBe(0);
      expect(parseQuery('SELECT TOP 0x10 * FROM devices').top).toBe(16);
    });
  });

  describe('expressions', () => {
    it.each([
      ['a = 1 OR b = 2 AND c = 3', '((a = 1) OR ((b = 2) AND (c = 3)))'],
      ['NOT a = 1 AND b = 2', '((NOT (a = 1)) AND (b = 2))'],
      ['NOT NOT a', '(NOT (NOT a))'],
      ['a + b * c - d / e % f > 0', '(((a + (b * c)) - ((d / e) % f)) > 0)'],
      ['(a + b) * c = 1', '(((a + b) * c) = 1)'],
      ['-a < -1', '((- a) < -1)'],
      ['- -1 = 1', '(1 = 1)'],
      ['a <> 1', '(a != 1)'],
      [
        'a != 1 AND a <= 2 AND a >= 0 AND a < 3 AND a > -3',
        '(((((a != 1) AND (a <= 2)) AND (a >= 0)) AND (a < 3)) AND (a > -3))',
      ],
      ['is_defined(a) AND StartsWith(a, "x")', '(IS_DEFINED(a) AND STARTSWITH(a,"x"))'],
      ['x IN []', '(x IN [])'],
      [
        "x IN [1, 'a', true, null, undefined, -2, [1], {k: 1, 'q r': [false]}]",
        '(x IN [1,"a",true,null,undefined,-2,[1],{k:1,q r:[false]}])',
      ],
      ['a = {}', '(a = {})'],
      ['a = [[1, 2], [3]]', '(a = [[1,2],[3]])'],
      ['tags.[[group]].name = 1', '(tags.[[group]].name = 1)'],
      ['tags.[[my key.with dots]] = 1', '(tags.[[my key.with dots]] = 1)'],
      ['tags.1st = 1', '(tags.1st = 1)'],
      [
        'properties.reported.$metadata.x.$lastUpdated = 1',
        '(properties.reported.$metadata.x.$lastUpdated = 1)',
      ],
      ['CONCAT(a, b, c) = "abc"', '(CONCAT(a,b,c) = "abc")'],
      ['tags.ünïcödé = 1', '(tags.ünïcödé = 1)'],
    ])('parses %s', (text, expected) => {
      expect(show(where(text))).toBe(expected);
    });

    it('records the positions of nodes and path segments', () => {
      const expression = where('tags.[[group]] IN [1]') as InExpression;
      const path = expression.operand as PathExpression;
      expect(path.position).toBe(28);
      expect(path.segments).toEqual([
        { name: 'tags', escaped: false, position: 28 },
        { name: 'group', escaped: true, position: 33 },
      ]);
      expect(expression.list.position).toBe(46);
    });
  });

  describe('literals', () => {
    it.each([
      ["'single'", 'single'],
      ['"double"', 'double'],
      ["''", ''],
      ["'O\\'Brien'", "O'Brien"],
      ['"say \\"hi\\""', 'say "hi"'],
      ["'back\\\\slash'", 'back\\slash'],
      ["'\\u00e9t\\u00C9'", 'étÉ'],
      ["'a\\/b\\n\\t\\r\\b\\f'", 'a/b\n\t\r\b\f'],
      ['"it\'s"', "it's"],
      ["'line\nbreak'", 'line\nbreak'],
    ])('reads the string %s', (text, expected) => {
      expect(literal(text)).toBe(expected);
    });

    it.each([
      ['0', 0],
      ['42', 42],
      ['1.5', 1.5],
      ['.25', 0.25],
      ['1e3', 1000],
      ['2.5E-1', 0.25],
      ['1e+2', 100],
      ['0x12C', 300],
      ['0XfF', 255],
      ['-7', -7],
    ])('reads the number %s', (text, expected) => {
      expect(literal(text)).toBe(expected);
    });

    it.each([
      ['true', true],
      ['false', false],
      ['null', null],
      ['undefined', undefined],
      ['TRUE', true],
      ['Null', null],
    ])('reads the constant %s', (text, expected) => {
      expect(literal(text)).toBe(expected);
    });
  });

  describe('errors', () => {
    it.each([
      ['', 0, 'empty'],
      ['   ', 0, 'empty'],
      ['FROM devices', 0, 'starts with SELECT'],
      ['SELECT', 6, "'*', a property path or an aggregate"],
      ['SELECT *', 8, 'Expected FROM'],
      ['SELECT deviceId FRM devices', 16, 'after the SELECT list'],
      ['SELECT * FROM', 13, 'collection'],
      ['SELECT * FROM twins', 14, 'collection'],
      ['SELECT * FROM devices.things', 22, 'collection'],
      ['SELECT * FROM devices.', 22, 'collection'],
      ['SELECT * FROM devices.[[jobs]]', 22, "'[[jobs]]'"],
      ['SELECT * FROM devices WHERE', 27, 'Expected a value'],
      ['SELECT * FROM devices WHERE a =', 31, 'Expected a value'],
      ['SELECT * FROM devices WHERE a = 1 b = 2', 34, "Unexpected 'b' after the end"],
      ['SELECT * FROM devices ORDER BY deviceId', 22, 'no ORDER BY'],
      ['SELECT * FROM devices WHERE (a = 1', 34, "Expected ')'"],
      ['SELECT * FROM devices WHERE a = 1)', 33, "Unexpected ')'"],
      ['SELECT * FROM devices WHERE a IN (1, 2)', 33, 'square brackets'],
      ['SELECT * FROM devices WHERE a IN 1', 33, "Expected '['"],
      ['SELECT * FROM devices WHERE a NOT IN [1]', 30, 'NIN'],
      ['SELECT * FROM devices WHERE a IN [b]', 34, 'only constants'],
      ['SELECT * FROM devices WHERE a IN [-b]', 34, 'only constants'],
      ["SELECT * FROM devices WHERE a IN [-'x']", 34, 'only constants'],
      ['SELECT * FROM devices WHERE a IN [(1)]', 34, 'only constants'],
      ['SELECT * FROM devices WHERE a IN [1,]', 36, 'only constants'],
      ['SELECT * FROM devices WHERE a IN [1', 35, "Expected ']'"],
      ['SELECT * FROM devices WHERE a = {1: 2}', 33, 'object key'],
      ["SELECT * FROM devices WHERE a = {'k' 2}", 37, "Expected ':'"],
      ["SELECT * FROM devices WHERE a = {'k': 2", 39, "Expected '}'"],
      ['SELECT * FROM devices WHERE a = {k: b}', 36, 'only constants'],
      ['SELECT * FROM devices WHERE tags.', 33, "property name after '.'"],
      ['SELECT * FROM devices WHERE tags.select = 1', 33, '[[select]]'],
      ['SELECT * FROM devices WHERE group = 1', 28, 'Expected a value'],
      ['SELECT * FROM devices WHERE tags.[[]] = 1', 33, 'must not be empty'],
      ['SELECT * FROM devices WHERE tags.[[group = 1', 33, 'not closed'],
      ["SELECT * FROM devices WHERE a = 'open", 32, 'not closed'],
      ['SELECT * FROM devices WHERE a = "open', 32, 'not closed'],
      ["SELECT * FROM devices WHERE a = 'bad\\q'", 36, 'Unknown escape'],
      ["SELECT * FROM devices WHERE a = 'end\\", 36, 'Unknown escape'],
      ["SELECT * FROM devices WHERE a = '\\u12'", 33, 'four hex digits'],
      ["SELECT * FROM devices WHERE a = '\\u12zz'", 33, 'four hex digits'],
      ['SELECT * FROM devices WHERE a = 0x', 32, 'hex digits'],
      ['SELECT * FROM devices WHERE a = 1e', 32, 'exponent'],
      ['SELECT * FROM devices WHERE a = 1e+', 32, 'exponent'],
      ['SELECT * FROM devices WHERE a = 12ab', 32, "Malformed number '12ab'"],
      ['SELECT * FROM devices WHERE a = 1e999', 32, 'too large'],
      [`SELECT * FROM devices WHERE a = 0x${'f'.repeat(300)}`, 32, 'too large'],
      ['SELECT * FROM devices WHERE a == 1', 31, 'Expected a value'],
      ['SELECT * FROM devices WHERE a ! b', 30, "'!'; use != or NOT"],
      ['SELECT * FROM devices WHERE a = 1 && b', 34, 'use AND'],
      ['SELECT * FROM devices WHERE a = 1 || b', 34, 'use OR'],
      ['SELECT * FROM devices; DROP', 21, 'single statement'],
      ['SELECT * FROM devices WHERE a = @x', 32, "'@'"],
      ['SELECT * FROM devices WHERE a = \u0001', 32, 'U+0001'],
      ['SELECT * FROM devices WHERE a = +1', 32, 'Expected a value'],
      ['SELECT * FROM devices WHERE FOO(a)', 28, "Unknown function 'FOO'"],
      ['SELECT * FROM devices WHERE starts_with(a, "x")', 28, 'twin queries use STARTSWITH'],
      ['SELECT * FROM devices WHERE ENDS_WITH(a, "x")', 28, 'twin queries use ENDSWITH'],
      ['SELECT * FROM devices WHERE CONTAINS(a, "x")', 28, 'message-routing function'],
      ['SELECT * FROM devices WHERE COUNT() > 1', 28, 'allowed only in the SELECT list'],
      ['SELECT * FROM devices WHERE IS_DEFINED()', 28, 'IS_DEFINED takes 1 argument but got 0'],
      ['SELECT * FROM devices WHERE STARTSWITH(a)', 28, 'STARTSWITH takes 2 arguments but got 1'],
      ['SELECT * FROM devices WHERE SUBSTRING(a)', 28, 'takes 2 to 3 arguments'],
      ['SELECT * FROM devices WHERE CONCAT(a)', 28, 'at least 2 arguments'],
      ['SELECT * FROM devices WHERE IS_DEFINED(a', 40, "Expected ')'"],
      ['SELECT TOP * FROM devices', 11, 'whole number'],
      ['SELECT TOP 1.5 * FROM devices', 11, 'whole number'],
      ['SELECT TOP -1 * FROM devices', 11, 'whole number'],
      ['SELECT deviceId AS FROM devices', 19, 'alias name after AS'],
      ['SELECT deviceId AS 1 FROM devices', 19, 'alias name after AS'],
      ['SELECT UPPER(deviceId) FROM devices', 7, 'Only property paths and the aggregates'],
      ['SELECT COUNT(deviceId) FROM devices', 13, 'COUNT takes no arguments'],
      ['SELECT AVG() FROM devices', 11, 'AVG() takes a property path'],
      ['SELECT SUM(a FROM devices', 13, 'to close SUM('],
      ["SELECT 'x' FROM devices", 7, "'*', a property path or an aggregate"],
      ['SELECT FROM devices', 7, "'*', a property path or an aggregate"],
      ['SELECT a, FROM devices', 10, "'*', a property path or an aggregate"],
      ['SELECT tags.a FROM devices GROUP tags.a', 27, 'GROUP must be followed by BY'],
      ['SELECT tags.a FROM devices GROUP BY', 35, 'GROUP BY takes property paths'],
      ['SELECT tags.a FROM devices GROUP BY LOWER(tags.a)', 36, 'GROUP BY takes property paths'],
      ['SELECT * FROM devices GROUP BY tags.a', 31, 'not SELECT *'],
      ['SELECT COUNT() AS n FROM devices.jobs', 7, 'devices.jobs queries support only SELECT *'],
      ['SELECT * FROM devices WHERE a = 1 /* comment */', 35, 'Expected a value'],
    ])('rejects %j at %i (%s)', (text, position, fragment) => {
      const error = syntaxError(text);
      expect(error.position).toBe(position);
      expect(error.message).toContain(fragment);
      expect(error.message).toContain(`(at position ${String(position)})`);
    });

    it('shortens long tokens in messages', () => {
      const error = syntaxError(`SELECT * FROM devices WHERE a = 1 '${'x'.repeat(100)}'`);
      expect(error.message).toContain('…');
      expect(error.message.length).toBeLessThan(INVALID_QUERY_MESSAGE.length + 160);
    });

    it('rejects text longer than the query limit before reading it', () => {
      const error = syntaxError('x'.repeat(MAX_QUERY_LENGTH + 1));
      expect(error.position).toBe(MAX_QUERY_LENGTH);
    });

    it('throws TypeError for a value that is not a string', () => {
      expect(() => parseQuery(42 as unknown as string)).toThrow(TypeError);
    });

    it('rejects nesting deeper than 100 levels but accepts 100', () => {
      const nested = (depth: number): string =>
        `SELECT * FROM devices WHERE ${'('.repeat(depth)}a = 1${')'.repeat(depth)}`;
      expect(() => parseQuery(nested(100))).not.toThrow();
      expect(syntaxError(nested(101)).message).toContain('nests more than 100 levels');
      expect(syntaxError(`SELECT * FROM devices WHERE ${'NOT '.repeat(101)}a`).message).toContain(
        'nests',
      );
      expect(syntaxError(`SELECT * FROM devices WHERE a = ${'-'.repeat(101)}1`).message).toContain(
        'nests',
      );
      expect(syntaxError(`SELECT * FROM devices WHERE a IN ${'['.repeat(101)}`).message).toContain(
        'nests',
      );
    });

    it('parses a maximal flat chain of operators without exhausting the stack', () => {
      const chain = `SELECT * FROM devices WHERE ${Array.from({ length: 2700 }, () => 'a').join('+')} > 1`;
      expect(chain.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
      expect(parseQuery(chain).where?.kind).toBe('binary');
    });
  });

  describe('assertQueryShape', () => {
    const base: QueryAst = { kind: 'query', select: { kind: 'all', position: 7 }, from: 'devices' };
    const path: PathExpression = {
      kind: 'path',
      segments: [{ name: 'a', escaped: false, position: 40 }],
      position: 40,
    };

    it('accepts a plain query', () => {
      expect(() => {
        assertQueryShape(base);
      }).not.toThrow();
    });

    it('rejects a TOP that is not a whole non-negative number', () => {
      expect(() => {
        assertQueryShape({ ...base, top: -1 });
      }).toThrow(QuerySyntaxError);
      expect(() => {
        assertQueryShape({ ...base, top: 1.5 });
      }).toThrow(QuerySyntaxError);
    });

    it('rejects GROUP BY on job queries', () => {
      expect(() => {
        assertQueryShape({ ...base, from: 'devices.jobs', groupBy: [path] });
      }).toThrow(/do not support GROUP BY/u);
    });
  });

  describe('fuzzing', () => {
    const tokens = [
      'SELECT',
      'TOP',
      '*',
      'FROM',
      'devices',
      'devices.modules',
      'devices.jobs',
      'WHERE',
      'GROUP',
      'BY',
      'AS',
      'AND',
      'OR',
      'NOT',
      'IN',
      'NIN',
      '(',
      ')',
      '[',
      ']',
      '[[',
      ']]',
      '{',
      '}',
      ':',
      ',',
      '.',
      '=',
      '!=',
      '<>',
      '<',
      '>',
      '<=',
      '>=',
      '+',
      '-',
      '/',
      '%',
      "'s'",
      '"d"',
      "'",
      '"',
      '\\',
      '1',
      '0x1F',
      '1.5e3',
      'true',
      'null',
      'undefined',
      'tags',
      'properties',
      'reported',
      '$metadata',
      'IS_DEFINED',
      'STARTSWITH',
      'COUNT',
      'AVG',
      'group',
      'x',
      '@',
      '#',
      '\u00e9',
      'constructor',
      '__proto__',
      'deviceId',
      'LOWER',
    ];
    const sample = {
      deviceId: 'd',
      tags: { x: 1, s: 's' },
      properties: { reported: { $metadata: {} } },
    };

    it('throws nothing but QuerySyntaxError for random text', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
          try {
            parseQuery(text);
          } catch (error) {
            if (!(error instanceof QuerySyntaxError)) throw error;
            expect(error.position).toBeGreaterThanOrEqual(0);
            expect(error.position).toBeLessThanOrEqual(text.length);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it('throws nothing but QuerySyntaxError for random token soup, quickly', () => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom(...tokens), { maxLength: 60 }),
          fc.constantFrom(' ', ''),
          (parts, separator) => {
            const text = `SELECT * FROM devices WHERE ${parts.join(separator)}`;
            const started = performance.now();
            try {
              compileQuery(parseQuery(text)).execute([sample]);
            } catch (error) {
              if (!(error instanceof QuerySyntaxError)) throw error;
            }
            // Generous bound: the point is that nothing backtracks or loops, not raw speed.
            expect(performance.now() - started).toBeLessThan(1000);
          },
        ),
        { numRuns: 3000 },
      );
    });
  });
});

describe('tokenize', () => {
  it('reads a word after a dot even when it starts with a digit', () => {
    expect(tokenize('a.5').map((t) => [t.kind, t.text])).toEqual([
      ['word', 'a'],
      ['punct', '.'],
      ['word', '5'],
      ['eof', ''],
    ]);
  });

  it('reads a leading-dot number outside paths', () => {
    expect(tokenize('= .5').map((t) => [t.kind, t.value])).toEqual([
      ['punct', 0],
      ['number', 0.5],
      ['eof', 0],
    ]);
  });

  it('reads [[ only after a dot as an escaped segment', () => {
    expect(tokenize('x [[1]]').map((t) => t.kind)).toEqual([
      'word',
      'punct',
      'punct',
      'number',
      'punct',
      'punct',
      'eof',
    ]);
  });

  it('skips Unicode whitespace', () => {
    expect(tokenize('a\u00a0\u2003b').map((t) => t.text)).toEqual(['a', 'b', '']);
  });
});
