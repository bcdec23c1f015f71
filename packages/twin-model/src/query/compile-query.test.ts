import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuerySyntaxError } from '../errors/index.js';
import type { JsonObject, JsonValue } from '../types.js';
import type { Expression, QueryAst } from './ast.js';
import { compileQuery, evaluateQuery } from './compile-query.js';
import { QUERY_FUNCTIONS } from './functions.js';
import { parseQuery } from './parse-query.js';

/**
 * Evaluates `expression` against one twin and reports `true`, `false` or `undefined` (anything
 * not boolean), read through WHERE: `x` is true iff WHERE x keeps it, false iff WHERE NOT (x)
 * keeps it.
 */
function truth(expression: string, twin: JsonObject = {}): boolean | undefined {
  const kept = compileQuery(`SELECT * FROM devices WHERE ${expression}`).matches(twin);
  if (kept) return true;
  return compileQuery(`SELECT * FROM devices WHERE NOT (${expression})`).matches(twin)
    ? false
    : undefined;
}

const twin: JsonObject = {
  deviceId: 'dev-1',
  status: 'enabled',
  version: 7,
  capabilities: { iotEdge: false },
  tags: {
    s: 'hello',
    n: 3,
    z: 0,
    neg: -4,
    f: 2.5,
    t: true,
    b: false,
    nul: null,
    obj: { k: 1 },
    arr: [1, 2],
    Mixed: 'upper',
    mixed: 'lower',
    OnlyUpper: 'yes',
    'my key': 'spaced',
    group: 'G',
  },
  properties: {
    desired: { $version: 3, $metadata: { $lastUpdated: '2024-01-01T00:00:00Z' } },
    reported: {
      $version: 9,
      $metadata: {
        $lastUpdated: '2024-02-01T00:00:00Z',
        x: { $lastUpdated: '2024-02-02T00:00:00Z' },
      },
      x: 1,
    },
  },
};

describe('compileQuery', () => {
  describe('comparison (docs/internals/twin-semantics.md#query)', () => {
    it.each([
      ['tags.n = 3', true],
      ['tags.n = 4', false],
      ['tags.n != 4', true],
      ['tags.n <> 3', false],
      ['tags.n < 4', true],
      ['tags.n > 4', false],
      ['tags.n <= 3', true],
      ['tags.n >= 3.5', false],
      ["tags.s = 'hello'", true],
      ["tags.s < 'help'", true],
      ["tags.s > 'Hello'", true],
      ["tags.s <= 'hello'", true],
      ["tags.s >= 'hellp'", false],
      ['tags.t = true', true],
      ['tags.t != false', true],
      ['tags.t > tags.b', true],
      ['tags.b < false', false],
      ['tags.nul = null', true],
      ['tags.nul != null', false],
      ['null = null', true],
      ['tags.nul < null', undefined],
      ['tags.nul = 1', undefined],
      ['1 = tags.nul', undefined],
      ["tags.n = '3'", undefined],
      ["'3' != tags.n", undefined],
      ['tags.n < true', undefined],
      ['tags.missing = 1', undefined],
      ['tags.missing != 1', undefined],
      ['tags.missing = tags.missing', undefined],
      ['tags.missing = null', undefined],
      ['undefined = undefined', undefined],
      ['tags.obj = tags.obj', undefined],
      ['tags.arr = tags.arr', undefined],
      ['tags.obj = {k: 1}', undefined],
      ['tags.arr != [1, 2]', undefined],
      ['tags.n = tags.z + 3', true],
      ['tags.s = tags.s', true],
      ['tags.n != tags.z', true],
      ['tags.n < tags.f', false],
    ])('%s is %s', (expression, expected) => {
      expect(truth(expression, twin)).toBe(expected);
    });
  });

  describe('logic (docs/internals/twin-semantics.md#query three-valued)', () => {
    const T = 'tags.t = true';
    const F = 'tags.t = false';
    const U = 'tags.missing = 1';
    it.each([
      [`${T} AND ${T}`, true],
      [`${T} AND ${F}`, false],
      [`${F} AND ${U}`, false],
      [`${U} AND ${F}`, false],
      [`${T} AND ${U}`, undefined],
      [`${U} AND ${T}`, undefined],
      [`${U} AND ${U}`, undefined],
      [`${F} OR ${F}`, false],
      [`${T} OR ${U}`, true],
      [`${U} OR ${T}`, true],
      [`${F} OR ${U}`, undefined],
      [`${U} OR ${F}`, undefined],
      [`NOT ${T}`, false],
      [`NOT ${F}`, true],
      [`NOT ${U}`, undefined],
      ['NOT tags.s', undefined],
      ['tags.s AND true', undefined],
      ['tags.n OR false', undefined],
      ['true', true],
      ['tags.t', true],
      ['tags.s', undefined],
      ['tags.obj', undefined],
      ['1', undefined],
    ])('%s is %s', (expression, expected) => {
      expect(truth(expression, twin)).toBe(expected);
    });

    it('short-circuits AND on a false left side and OR on a true left side', () => {
      // The right sides would be undefined; the result is still decided by the left.
      expect(truth('tags.b AND tags.missing', twin)).toBe(false);
      expect(truth('tags.t OR tags.missing', twin)).toBe(true);
    });
  });

  describe('IN and NIN (docs/internals/twin-semantics.md#query)', () => {
    it.each([
      ['tags.n IN [1, 3]', true],
      ['tags.n IN [1, 2]', false],
      ["tags.n IN ['3']", false],
      ['tags.n IN []', false],
      ['tags.n NIN [1, 2]', true],
      ['tags.n NIN [3]', false],
      ['tags.nul IN [null]', true],
      ['tags.nul IN [1]', false],
      ['tags.t IN [true]', true],
      ["tags.s IN ['hello', 'x']", true],
      ['tags.missing IN [1]', undefined],
      ['tags.missing NIN [1]', undefined],
      ['tags.missing IN [undefined]', undefined],
      ['tags.obj IN [{k: 1}]', undefined],
      ['tags.arr NIN [[1, 2]]', undefined],
      ['tags.n IN [[3], {a: 3}, undefined]', false],
      ['tags.n + 1 IN [4]', true],
    ])('%s is %s', (expression, expected) => {
      expect(truth(expression, twin)).toBe(expected);
    });
  });

  describe('arithmetic (docs/internals/twin-semantics.md#query)', () => {
    it.each([
      ['tags.n + 2 = 5', true],
      ['tags.n - 5 = -2', true],
      ['tags.n * tags.f = 7.5', true],
      ['tags.n / 2 = 1.5', true],
      ['tags.n % 2 = 1', true],
      ['-tags.n = -3', true],
      ['-(tags.n) < 0', true],
      ['1 + 2 * 3 = 7', true],
      ['(1 + 2) * 3 = 9', true],
      ['tags.n / tags.z = 1', undefined],
      ['tags.n % tags.z = 1', undefined],
      ['1e308 * 10 = 1', undefined],
      ['1e308 + 1e308 > 0', undefined],
      ['-1e308 - 1e308 < 0', undefined],
      ["tags.s + 'x' = 'hellox'", undefined],
      ['tags.missing + 1 = 1', undefined],
      ['1 + tags.missing = 1', undefined],
      ['-tags.s = 1', undefined],
      ['tags.t * 1 = 1', undefined],
    ])('%s is %s', (expression, expected) => {
      expect(truth(expression, twin)).toBe(expected);
    });
  });

  describe('functions (docs/internals/twin-semantics.md#query)', () => {
    it.each([
      ['IS_DEFINED(tags.s)', true],
      ['IS_DEFINED(tags.obj)', true],
      ['IS_DEFINED(tags.nul)', true],
      ['IS_DEFINED(tags.missing)', false],
      ['is_defined(TAGS.S)', true],
      ["STARTSWITH(tags.s, 'he')", true],
      ["STARTSWITH(tags.s, 'lo')", false],
      ["startswith(tags.n, '3')", undefined],
      ['STARTSWITH(tags.s, 1)', undefined],
      ["ENDSWITH(tags.s, 'lo')", true],
      ["ENDSWITH(tags.s, 'he')", false],
      ["ENDSWITH(tags.missing, 'x')", undefined],
      ["EndsWith(deviceId, '-1')", true],
      ['IS_NULL(tags.nul)', true],
      ['IS_NULL(tags.missing)', false],
      ['IS_NULL(tags.s)', false],
      ['IS_BOOL(tags.b)', true],
      ['IS_BOOL(tags.s)', false],
      ['IS_NUMBER(tags.f)', true],
      ['IS_NUMBER(tags.s)', false],
      ['IS_STRING(tags.s)', true],
      ['IS_STRING(tags.missing)', false],
      ['IS_OBJECT(tags.obj)', true],
      ['IS_OBJECT(tags.arr)', false],
      ['IS_OBJECT(tags.nul)', false],
      ['IS_ARRAY(tags.arr)', true],
      ['IS_ARRAY(tags.obj)', false],
      ['IS_PRIMITIVE(tags.s)', true],
      ['IS_PRIMITIVE(tags.nul)', true],
      ['IS_PRIMITIVE(tags.obj)', false],
      ['IS_PRIMITIVE(tags.missing)', false],
      ["AS_NUMBER('12') = 12", true],
      ["AS_NUMBER(' -1.5e1 ') = -15", true],
      ['AS_NUMBER(tags.n) = 3', true],
      ["AS_NUMBER('12abc') = 12", undefined],
      ["AS_NUMBER('1e999') > 0", undefined],
      ['AS_NUMBER(tags.t) = 1', undefined],
      ['ABS(tags.neg) = 4', true],
      ['CEILING(tags.f) = 3', true],
      ['FLOOR(tags.f) = 2', true],
      ['EXP(0) = 1', true],
      ['EXP(1000) > 0', undefined],
      ['SIGN(tags.neg) = -1', true],
      ['SQRT(16) = 4', true],
      ['SQRT(-1) >= 0', undefined],
      ['SQUARE(tags.n) = 9', true],
      ['POWER(tags.n, 3) = 27', true],
      ['POWER(10, 400) > 0', undefined],
      ["POWER('2', 2) = 4", undefined],
      ['ABS(tags.s) = 1', undefined],
      ["CONCAT(tags.s, ' ', 'world') = 'hello world'", true],
      ["CONCAT(tags.s, tags.n) = 'hello3'", undefined],
      ['LENGTH(tags.s) = 5', true],
      ['LENGTH(tags.arr) = 2', undefined],
      ["LOWER('ABC') = 'abc'", true],
      ["UPPER(tags.s) = 'HELLO'", true],
      ['LOWER(tags.n) = 3', undefined],
      ['UPPER(tags.n) = 3', undefined],
      ["SUBSTRING(tags.s, 1, 3) = 'ell'", true],
      ["SUBSTRING(tags.s, 3) = 'lo'", true],
      ["SUBSTRING(tags.s, -2, 2) = 'he'", true],
      ["SUBSTRING(tags.s, 1, -1) = ''", true],
      ["SUBSTRING(tags.s, 1.5) = 'ello'", undefined],
      ["SUBSTRING(tags.s, 1, 'x') = 'ello'", undefined],
      ["SUBSTRING(tags.n, 1) = ''", undefined],
      ["INDEX_OF(tags.s, 'll') = 2", true],
      ["INDEX_OF(tags.s, 'z') = -1", true],
      ['INDEX_OF(tags.s, 1) = -1', undefined],
    ])('%s is %s', (expression, expected) => {
      expect(truth(expression, twin)).toBe(expected);
    });

    it('knows every function it documents', () => {
      expect([...QUERY_FUNCTIONS.keys()].sort()).toEqual(
        [
          'ABS',
          'AS_NUMBER',
          'CEILING',
          'CONCAT',
          'ENDSWITH',
          'EXP',
          'FLOOR',
          'INDEX_OF',
          'IS_ARRAY',
          'IS_BOOL',
          'IS_DEFINED',
          'IS_NULL',
          'IS_NUMBER',
          'IS_OBJECT',
          'IS_PRIMITIVE',
          'IS_STRING',
          'LENGTH',
          'LOWER',
          'POWER',
          'SIGN',
          'SQRT',
          'SQUARE',
          'STARTSWITH',
          'SUBSTRING',
          'UPPER',
        ].sort(),
      );
    });

    it('rejects extended functions when extendedFunctions is false', () => {
      const options = { extendedFunctions: false };
      expect(() => compileQuery('SELECT * FROM devices WHERE IS_NULL(tags.a)', options)).toThrow(
        /accepts only IS_DEFINED, STARTSWITH and ENDSWITH/u,
      );
      expect(
        compileQuery(
          "SELECT * FROM devices WHERE IS_DEFINED(tags.s) AND STARTSWITH(tags.s, 'h') AND ENDSWITH(tags.s, 'o')",
          options,
        ).matches(twin),
      ).toBe(true);
    });
  });

  describe('paths (docs/internals/twin-semantics.md#query)', () => {
    it('matches root and system names case-insensitively', () => {
      expect(
        truth("DEVICEID = 'dev-1' AND Status = 'enabled' AND Capabilities.IOTEDGE = false", twin),
      ).toBe(true);
      expect(
        truth(
          "Properties.Reported.$VERSION = 9 AND properties.DESIRED.$Metadata.$LASTUPDATED > '2023'",
          twin,
        ),
      ).toBe(true);
    });

    it('matches user keys case-insensitively, preferring the exact case', () => {
      expect(truth("tags.S = 'hello'", twin)).toBe(true);
      expect(truth("tags.Mixed = 'upper'", twin)).toBe(true);
      expect(truth("tags.mixed = 'lower'", twin)).toBe(true);
      expect(truth("tags.MIXED = 'upper'", twin)).toBe(true);
      expect(truth("tags.onlyupper = 'yes'", twin)).toBe(true);
    });

    it('matches user keys exactly when caseSensitivePaths is set, root names still case-insensitive', () => {
      const where = (condition: string) =>
        compileQuery(`SELECT * FROM devices WHERE ${condition}`, {
          caseSensitivePaths: true,
        }).matches(twin);
      expect(where("tags.onlyupper = 'yes'")).toBe(false);
      expect(where("tags.OnlyUpper = 'yes'")).toBe(true);
      expect(where("TAGS.s = 'hello' AND DeviceId = 'dev-1'")).toBe(true);
    });

    it('reads escaped segments, and keys with spaces through [[ ]]', () => {
      expect(truth("tags.[[group]] = 'G'", twin)).toBe(true);
      expect(truth("tags.[[my key]] = 'spaced'", twin)).toBe(true);
      expect(truth("tags.[[MY KEY]] = 'spaced'", twin)).toBe(true);
    });

    it('addresses $metadata below user keys', () => {
      expect(
        truth("properties.reported.$metadata.x.$lastUpdated = '2024-02-02T00:00:00Z'", twin),
      ).toBe(true);
    });

    it('accepts the collection name as a path prefix', () => {
      expect(truth("devices.deviceId = 'dev-1' AND devices.tags.n = 3", twin)).toBe(true);
      const module = { deviceId: 'd', moduleId: 'm1' };
      expect(
        evaluateQuery("SELECT * FROM devices.modules WHERE devices.modules.moduleId = 'm1'", [
          module,
        ]),
      ).toEqual([module]);
    });

    it('gives undefined through primitives, arrays, null and missing keys', () => {
      expect(truth('IS_DEFINED(tags.s.length)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.arr.0)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.nul.x)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.obj.k.deeper.still)', twin)).toBe(false);
      expect(truth('IS_DEFINED(nothing.here)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.obj.k)', twin)).toBe(true);
    });

    it('never reads inherited properties', () => {
      expect(truth('IS_DEFINED(tags.constructor)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.toString)', twin)).toBe(false);
      expect(truth('IS_DEFINED(tags.__proto__)', twin)).toBe(false);
      const withProto = JSON.parse('{"tags":{"__proto__":{"x":1}}}') as JsonObject;
      expect(truth('tags.__proto__.x = 1', withProto)).toBe(true);
    });
  });

  describe('SELECT (docs/internals/twin-semantics.md#query)', () => {
    const docs: JsonObject[] = [
      { deviceId: 'a', tags: { env: 'prod', n: 1, x: { y: 1 } } },
      { deviceId: 'b', tags: { env: 'dev', n: 2 } },
      { deviceId: 'c', tags: { env: 'prod', n: 'three' } },
      { deviceId: 'd' },
      { deviceId: 'e', tags: { env: 'prod', n: 5 } },
    ];

    it('projects nested paths under their last segment and omits undefined values', () => {
      expect(
        evaluateQuery('SELECT deviceId, tags.env, tags.x.y AS deep FROM devices', docs),
      ).toEqual([
        { deviceId: 'a', env: 'prod', deep: 1 },
        { deviceId: 'b', env: 'dev' },
        { deviceId: 'c', env: 'prod' },
        { deviceId: 'd' },
        { deviceId: 'e', env: 'prod' },
      ]);
    });

    it('keeps the alias casing and uses canonical names for system paths', () => {
      expect(
        evaluateQuery(
          "SELECT DEVICEID AS TheId, Properties.Reported.$Version FROM devices WHERE deviceId = 'x'",
          [{ deviceId: 'x', properties: { reported: { $version: 4 } } }],
        ),
      ).toEqual([{ TheId: 'x', $version: 4 }]);
    });

    it('rejects two outputs with the same name', () => {
      expect(() => compileQuery('SELECT tags.a, properties.reported.a FROM devices')).toThrow(
        /names 'a' twice/u,
      );
      expect(() => compileQuery('SELECT COUNT() AS n, MAX(tags.n) AS n FROM devices')).toThrow(
        QuerySyntaxError,
      );
    });

    it('computes COUNT, SUM, AVG, MIN and MAX over numbers only', () => {
      expect(
        evaluateQuery(
          'SELECT COUNT() AS c, SUM(tags.n) AS s, AVG(tags.n) AS a, MIN(tags.n) AS lo, MAX(tags.n) AS hi FROM devices',
          docs,
        ),
      ).toEqual([{ c: 5, s: 8, a: 8 / 3, lo: 1, hi: 5 }]);
    });

    it('names unaliased aggregates $1, $2, …', () => {
      expect(
        evaluateQuery('SELECT COUNT(), MAX(tags.n), MIN(tags.n) AS m FROM devices', docs),
      ).toEqual([{ $1: 5, $2: 5, m: 1 }]);
    });

    it('aggregates over no documents: COUNT and SUM are 0, the others are left out', () => {
      expect(
        evaluateQuery(
          'SELECT COUNT() AS c, SUM(tags.n) AS s, AVG(tags.n) AS a, MIN(tags.n) AS lo, MAX(tags.n) AS hi FROM devices',
          [],
        ),
      ).toEqual([{ c: 0, s: 0 }]);
    });

    it('leaves out a SUM or AVG that overflows', () => {
      const big = [{ tags: { n: 1e308 } }, { tags: { n: 1e308 } }];
      expect(
        evaluateQuery('SELECT SUM(tags.n) AS s, AVG(tags.n) AS a, COUNT() AS c FROM devices', big),
      ).toEqual([{ c: 2 }]);
    });

    it('groups in first-appearance order, with a group for a missing key', () => {
      expect(
        evaluateQuery(
          'SELECT tags.env AS env, COUNT() AS n, SUM(tags.n) AS total FROM devices GROUP BY tags.env',
          docs,
        ),
      ).toEqual([
        { env: 'prod', n: 3, total: 6 },
        { env: 'dev', n: 1, total: 2 },
        { n: 1, total: 0 },
      ]);
    });

    it('groups distinct values of different types apart', () => {
      const mixed = [
        { tags: { v: 1 } },
        { tags: { v: '1' } },
        { tags: { v: true } },
        { tags: { v: null } },
        { tags: { v: 1 } },
      ];
      expect(
        evaluateQuery('SELECT tags.v, COUNT() AS n FROM devices GROUP BY tags.v', mixed),
      ).toEqual([
        { v: 1, n: 2 },
        { v: '1', n: 1 },
        { v: true, n: 1 },
        { v: null, n: 1 },
      ]);
    });

    it('groups by object and array values by content', () => {
      const objects = [
        { tags: { v: { a: 1 } } },
        { tags: { v: [1] } },
        { tags: { v: { a: 1 } } },
        { tags: { v: '{"a":1}' } },
      ];
      expect(
        evaluateQuery('SELECT tags.v, COUNT() AS n FROM devices GROUP BY tags.v', objects),
      ).toEqual([
        { v: { a: 1 }, n: 2 },
        { v: [1], n: 1 },
        { v: '{"a":1}', n: 1 },
      ]);
    });

    it('groups by several keys and selects them in any order', () => {
      const rows = [
        { tags: { a: 1, b: 'x' } },
        { tags: { a: 1, b: 'y' } },
        { tags: { a: 1, b: 'x' } },
        { tags: { b: 'x' } },
      ];
      expect(
        evaluateQuery(
          'SELECT tags.b, COUNT() AS n, tags.a FROM devices GROUP BY tags.a, tags.b',
          rows,
        ),
      ).toEqual([
        { b: 'x', n: 2, a: 1 },
        { b: 'y', n: 1, a: 1 },
        { b: 'x', n: 1 },
      ]);
    });

    it('groups without aggregates, giving the distinct values', () => {
      expect(
        evaluateQuery(
          'SELECT tags.env FROM devices WHERE IS_DEFINED(tags.env) GROUP BY tags.env',
          docs,
        ),
      ).toEqual([{ env: 'prod' }, { env: 'dev' }]);
    });

    it('matches GROUP BY paths with the same case rule as lookups', () => {
      expect(
        evaluateQuery('SELECT TAGS.ENV AS e, COUNT() AS n FROM devices GROUP BY tags.env', docs),
      ).toHaveLength(3);
      expect(() =>
        compileQuery('SELECT tags.ENV AS e FROM devices GROUP BY tags.env', {
          caseSensitivePaths: true,
        }),
      ).toThrow(/only its GROUP BY paths/u);
    });

    it('rejects selected paths that are not grouped', () => {
      expect(() =>
        compileQuery('SELECT tags.x, COUNT() AS n FROM devices GROUP BY tags.env'),
      ).toThrow(/only its GROUP BY paths/u);
      expect(() => compileQuery('SELECT deviceId, COUNT() AS n FROM devices')).toThrow(
        /only when they are in GROUP BY/u,
      );
    });

    it('applies TOP to projections, groups and aggregates', () => {
      expect(evaluateQuery('SELECT TOP 2 deviceId FROM devices', docs)).toEqual([
        { deviceId: 'a' },
        { deviceId: 'b' },
      ]);
      expect(
        evaluateQuery('SELECT TOP 1 tags.env, COUNT() AS n FROM devices GROUP BY tags.env', docs),
      ).toEqual([{ env: 'prod', n: 3 }]);
      expect(evaluateQuery('SELECT TOP 0 * FROM devices', docs)).toEqual([]);
      expect(evaluateQuery('SELECT TOP 0 COUNT() AS n FROM devices', docs)).toEqual([]);
      expect(evaluateQuery('SELECT TOP 9 * FROM devices', docs)).toHaveLength(5);
    });

    it('stops reading documents once TOP items were found', () => {
      let read = 0;
      function* counted(): Generator<JsonObject> {
        for (const doc of docs) {
          read += 1;
          yield doc;
        }
      }
      expect(evaluateQuery('SELECT TOP 1 * FROM devices', counted())).toHaveLength(1);
      expect(read).toBe(1);
    });

    it('returns the input objects for SELECT *, in input order', () => {
      const result = evaluateQuery("SELECT * FROM devices WHERE tags.env = 'prod'", docs);
      expect(result).toHaveLength(3);
      expect(result[0]).toBe(docs[0]);
      expect(result[2]).toBe(docs[4]);
    });
  });

  describe('compiled query object', () => {
    it('reports collection, item type and the AST', () => {
      const query = compileQuery('SELECT deviceId FROM devices.modules');
      expect(query.collection).toBe('devices.modules');
      expect(query.itemType).toBe('Raw');
      expect(query.ast.from).toBe('devices.modules');
    });

    it('matches everything without a WHERE', () => {
      expect(compileQuery('SELECT * FROM devices').matches({})).toBe(true);
    });

    it('resolves job fields case-insensitively with the devices.jobs prefix', () => {
      const job = {
        deviceId: 'd1',
        jobId: 'j',
        status: 'completed',
        outcome: { deviceMethodResponse: { status: 200 } },
      };
      const query = compileQuery(
        "SELECT * FROM devices.jobs WHERE devices.jobs.Status = 'completed' AND Outcome.DeviceMethodResponse.status = 200 AND JOBID = 'j'",
      );
      expect(query.execute([job])).toEqual([job]);
      // Job statuses are case-sensitive values: no match rather than an error (docs/internals/twin-semantics.md#query-errors).
      expect(
        compileQuery("SELECT * FROM devices.jobs WHERE status = 'Completed'").execute([job]),
      ).toEqual([]);
    });
  });

  describe('hand-built syntax trees', () => {
    const path = (name: string) => ({
      kind: 'path' as const,
      segments: [{ name, escaped: false, position: 30 }],
      position: 30,
    });
    const withWhere = (where: Expression): QueryAst => ({
      kind: 'query',
      select: { kind: 'all', position: 7 },
      from: 'devices',
      where,
    });

    it('compiles a tree built by hand', () => {
      const ast = withWhere({
        kind: 'binary',
        operator: '=',
        left: path('deviceId'),
        right: { kind: 'literal', value: 'x', position: 40 },
        position: 30,
      });
      expect(compileQuery(ast).execute([{ deviceId: 'x' }, { deviceId: 'y' }])).toEqual([
        { deviceId: 'x' },
      ]);
    });

    it('checks function names and argument counts', () => {
      expect(() =>
        compileQuery(withWhere({ kind: 'call', name: 'NOPE', arguments: [], position: 28 })),
      ).toThrow(QuerySyntaxError);
      expect(() =>
        compileQuery(withWhere({ kind: 'call', name: 'IS_DEFINED', arguments: [], position: 28 })),
      ).toThrow(/IS_DEFINED got 0 arguments/u);
    });

    it('rejects an empty path', () => {
      expect(() => compileQuery(withWhere({ kind: 'path', segments: [], position: 28 }))).toThrow(
        /at least one segment/u,
      );
    });

    it('checks the query shape', () => {
      expect(() =>
        compileQuery({
          kind: 'query',
          select: {
            kind: 'list',
            items: [{ expression: path('jobId'), position: 7 }],
            position: 7,
          },
          from: 'devices.jobs',
        }),
      ).toThrow(/only SELECT \*/u);
    });

    it('passes call arguments of any count', () => {
      const concat = (count: number): Expression => ({
        kind: 'binary',
        operator: '=',
        left: {
          kind: 'call',
          name: 'CONCAT',
          arguments: Array.from({ length: count }, () => ({
            kind: 'literal' as const,
            value: 'a',
            position: 0,
          })),
          position: 0,
        },
        right: { kind: 'literal', value: 'a'.repeat(count), position: 0 },
        position: 0,
      });
      expect(compileQuery(withWhere(concat(2))).matches({})).toBe(true);
      expect(compileQuery(withWhere(concat(5))).matches({})).toBe(true);
    });
  });

  describe('limits', () => {
    it('evaluates a maximal flat chain of operators', () => {
      const doc = { a: 1, t: true };
      const chain = `SELECT * FROM devices WHERE ${Array.from({ length: 4000 }, () => 'a').join('+')} > 1`;
      expect(chain.length).toBeLessThanOrEqual(8192);
      expect(compileQuery(chain).matches(doc)).toBe(true);
      const ands = `SELECT * FROM devices WHERE ${Array.from({ length: 1300 }, () => 't').join(' AND ')}`;
      expect(compileQuery(ands).matches(doc)).toBe(true);
    });
  });

  describe('fuzzing', () => {
    const queries = [
      'SELECT * FROM devices',
      "SELECT * FROM devices WHERE tags.a = 'x' OR tags.a.b > 1 OR NOT (tags.c != null)",
      'SELECT * FROM devices WHERE tags.a IN [1, "a", null, true] AND tags.b NIN [[1], {}]',
      'SELECT * FROM devices WHERE tags.a + tags.b * 2 - tags.c / tags.d % 3 > -1',
      "SELECT * FROM devices WHERE STARTSWITH(tags.a, 'x') OR ENDSWITH(deviceId, tags.b) OR IS_DEFINED(properties.reported.$metadata)",
      'SELECT * FROM devices WHERE IS_NULL(tags.a) OR IS_BOOL(tags.a) OR IS_NUMBER(tags.a) OR IS_STRING(tags.a) OR IS_OBJECT(tags.a) OR IS_ARRAY(tags.a) OR IS_PRIMITIVE(tags.a)',
      'SELECT * FROM devices WHERE AS_NUMBER(tags.a) > ABS(tags.b) + CEILING(tags.c) + FLOOR(tags.d) + EXP(tags.a) + SIGN(tags.b) + SQRT(tags.c) + SQUARE(tags.d) + POWER(tags.a, tags.b)',
      'SELECT * FROM devices WHERE CONCAT(tags.a, tags.b) = LOWER(tags.c) OR UPPER(tags.a) = SUBSTRING(tags.b, tags.c, tags.d) OR INDEX_OF(tags.a, tags.b) = LENGTH(tags.c)',
      'SELECT tags.a, tags.b.c AS bc, deviceId FROM devices',
      'SELECT COUNT() AS n, SUM(tags.a) AS s, AVG(tags.b) AS a, MIN(tags.c) AS lo, MAX(tags.d) AS hi FROM devices',
      'SELECT tags.a, COUNT() AS n, AVG(tags.b) AS avg FROM devices GROUP BY tags.a',
      'SELECT tags.a, tags.b, MAX(tags.c) AS m FROM devices GROUP BY tags.a, tags.b',
      'SELECT TOP 3 * FROM devices WHERE tags.a = tags.b',
      'SELECT * FROM devices WHERE tags.constructor = 1 OR IS_DEFINED(tags.__proto__.a) OR tags.toString = 1 OR Constructor.x = 1',
    ].map((text) => compileQuery(text));

    const keys = fc.constantFrom(
      'a',
      'b',
      'c',
      'd',
      'A',
      '__proto__',
      'constructor',
      'toString',
      '$metadata',
    );
    const leaf = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 5 }),
      fc.boolean(),
      fc.constant(null),
    );
    const value: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(keys, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const document = fc.record(
      {
        deviceId: fc.oneof(fc.string({ maxLength: 5 }), leaf),
        tags: value,
        properties: fc.oneof(value, fc.record({ reported: value, desired: value })),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<JsonObject>;

    it('never throws for random twins', () => {
      fc.assert(
        fc.property(fc.array(document, { maxLength: 8 }), (documents) => {
          for (const query of queries) {
            const rows = query.execute(documents);
            expect(Array.isArray(rows)).toBe(true);
            for (const doc of documents) expect(typeof query.matches(doc)).toBe('boolean');
          }
        }),
        { numRuns: 200 },
      );
    });

    it('never throws for random parsed queries over random twins', () => {
      const parts = [
        'tags.a',
        'tags.b',
        '1',
        "'x'",
        'null',
        'true',
        '[1]',
        '{}',
        'deviceId',
        'tags.A.b',
      ];
      const operators = ['=', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', 'AND', 'OR'];
      const expression = fc
        .array(fc.tuple(fc.constantFrom(...parts), fc.constantFrom(...operators)), {
          minLength: 1,
          maxLength: 6,
        })
        .map((pairs) => pairs.map(([p, o]) => `${p} ${o}`).join(' ') + ' tags.c');
      fc.assert(
        fc.property(expression, fc.array(document, { maxLength: 4 }), (text, documents) => {
          let query;
          try {
            query = compileQuery(parseQuery(`SELECT * FROM devices WHERE ${text}`));
          } catch (error) {
            expect(error).toBeInstanceOf(QuerySyntaxError);
            return;
          }
          for (const doc of documents) expect(typeof query.matches(doc)).toBe('boolean');
        }),
        { numRuns: 400 },
      );
    });
  });
});
