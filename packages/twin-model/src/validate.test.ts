import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TwinValidationError } from './errors/index.js';
import type { JsonObject } from './types.js';
import {
  assertValidSection,
  computeSectionSize,
  hasForbiddenKeyCharacter,
  utf8Length,
  validateSection,
} from './validate.js';

const rules = (value: unknown, options?: Parameters<typeof validateSection>[2]) =>
  validateSection(value, 'desired', options).issues.map((issue) => `${issue.rule}@${issue.path}`);

/** `{k1:{k2:{…{k<levels>: leaf}}}}`: keys k1 … k<levels>, the last one holding `leaf`. */
function nested(levels: number, leaf: unknown): JsonObject {
  let value: unknown = leaf;
  for (let level = levels; level >= 1; level--) value = { [`k${String(level)}`]: value };
  return value as JsonObject;
}

describe('validateSection', () => {
  it('accepts a well-formed section with every JSON type', () => {
    const result = validateSection(
      { s: 'x', n: 1.5, i: -3, b: false, o: { p: {} }, a: [1, 'two', false, { Id: 123 }] },
      'tags',
    );
    expect(result).toEqual({ valid: true, issues: [] });
  });

  it('TV-29: rejects a key with "." in the hub\'s words', () => {
    const result = validateSection({ 'a.b': 1 }, 'desired');
    expect(result.valid).toBe(false);
    expect(result.issues).toEqual([
      {
        path: 'a.b',
        rule: 'key-characters',
        message:
          "Property or Tag name has invalid characters. Error in Property/Tag a.b. Must not contain Control Characters, '.', '$', '#', or ' '.",
      },
    ]);
  });

  it('TV-30: rejects keys with #, space, $, U+0001, DEL and C1 in every section', () => {
    for (const section of ['tags', 'desired', 'reported'] as const) {
      for (const key of ['a#b', 'a b', '$x', 'a\u0001b', 'a\u007fb', 'a\u0085b']) {
        const result = validateSection({ [key]: 1 }, section);
        expect(
          result.issues.map((issue) => issue.rule),
          `${section} ${JSON.stringify(key)}`,
        ).toEqual(['key-characters']);
      }
    }
  });

  it('rejects an empty key and invalid keys at any depth, reporting each with its path', () => {
    expect(rules({ '': 1, a: { 'b c': { '': 2 } } })).toEqual([
      'key-empty@',
      'key-characters@a.b c',
      'key-empty@a.b c.',
    ]);
    expect(validateSection({ a: { '': 1 } }, 'tags').issues[0]?.message).toContain(
      'Error in Property/Tag a.',
    );
    expect(validateSection({ '': 1 }, 'tags').issues[0]?.message).toContain('(root)');
  });

  it('TV-31: limits keys to 1024 UTF-8 bytes', () => {
    expect(rules({ ['k'.repeat(1024)]: 1 })).toEqual([]);
    expect(rules({ ['k'.repeat(1025)]: 1 })).toEqual([`key-length@${'k'.repeat(1025)}`]);
    expect(rules({ ['é'.repeat(512)]: 1 })).toEqual([]);
    expect(rules({ ['é'.repeat(513)]: 1 })).toHaveLength(1);
    expect(validateSection({ ['k'.repeat(1025)]: 1 }, 'tags').issues[0]?.message).toBe(
      'Length of property name kkkkkkkkkk.. exceeds maximum length of 1024',
    );
  });

  it('TV-32: limits strings to 4096 UTF-8 bytes', () => {
    expect(rules({ s: 'a'.repeat(4096) })).toEqual([]);
    expect(rules({ s: 'a'.repeat(4097) })).toEqual(['string-length@s']);
    expect(
      validateSection({ s: 'é'.repeat(2049) }, 'desired', { checkSize: false }).issues[0]?.message,
    ).toBe(
      'Value associated with property name s has length 4098 that exceeds maximum length of 4096',
    );
  });

  it('TV-33: bounds integers to ±2^52 but not fractions', () => {
    expect(
      rules({ max: 4503599627370495, min: -4503599627370496, pi: 3.14, big: 1.5e300 + 0.5 }),
    ).toEqual(['integer-range@big']);
    expect(rules({ over: 4503599627370496, under: -4503599627370497 })).toEqual([
      'integer-range@over',
      'integer-range@under',
    ]);
    expect(validateSection({ over: 4503599627370496 }, 'tags').issues[0]?.message).toBe(
      'Property over has an out of bound value. Valid values are between -4503599627370496 and 4503599627370495',
    );
  });

  it('rejects NaN and Infinity', () => {
    expect(rules({ a: Number.NaN, b: Number.POSITIVE_INFINITY })).toEqual([
      'number-finite@a',
      'number-finite@b',
    ]);
  });

  it('TV-34: allows ten nested objects below the root and rejects an eleventh', () => {
    for (const section of ['tags', 'desired', 'reported'] as const) {
      // k1 … k10 hold objects; the 10th object holds the property.
      expect(validateSection(nested(10, { property: 'value' }), section).valid).toBe(true);
      expect(validateSection(nested(11, { property: 'value' }), section).valid).toBe(false);
    }
    expect(validateSection(nested(11, { property: 'value' }), 'tags').issues).toEqual([
      {
        path: 'k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11',
        rule: 'depth',
        message: 'Nested depth of twin property exceeds 10',
      },
    ]);
  });

  it('counts an array as a nesting level', () => {
    expect(validateSection(nested(10, [1, 2]), 'tags').valid).toBe(true);
    expect(validateSection(nested(9, [{ a: 1 }]), 'tags').valid).toBe(true);
    expect(
      validateSection(nested(10, [{ a: 1 }]), 'tags').issues.map((issue) => issue.path),
    ).toEqual(['k1.k2.k3.k4.k5.k6.k7.k8.k9.k10[0]']);
    expect(
      validateSection(nested(11, [1]), 'tags').issues.map((issue) => `${issue.rule}@${issue.path}`),
    ).toEqual(['depth@k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11']);
  });

  it('TV-35: rejects null inside arrays and null members of objects in arrays, accepts []', () => {
    expect(validateSection({ arr: ['a', null] }, 'reported').issues).toEqual([
      { path: 'arr[1]', rule: 'null-in-array', message: "Arrays cannot contain 'null' as value" },
    ]);
    expect(validateSection({ arr: [{ f: null }] }, 'reported').issues).toEqual([
      {
        path: 'arr[0].f',
        rule: 'null-in-array',
        message: "Property f of an object in an array cannot be 'null'",
      },
    ]);
    expect(validateSection({ arr: [] }, 'reported').valid).toBe(true);
    expect(rules({ arr: [[null]] })).toEqual(['null-in-array@arr[0][0]']);
  });

  it('allows null members in patch mode and rejects them in replace mode with the hub message', () => {
    expect(validateSection({ a: null, b: { c: null } }, 'tags').valid).toBe(true);
    expect(validateSection({ 'my-tag': null }, 'tags', { mode: 'replace' }).issues).toEqual([
      {
        path: 'my-tag',
        rule: 'null-in-replace',
        message: 'Value of Property or Tag cannot be null. Error in Property/Tag my-tag',
      },
    ]);
  });

  it('rejects arrays when allowArrays is false, with the old api-version message', () => {
    expect(validateSection({ a: [1] }, 'desired', { allowArrays: false }).issues).toEqual([
      {
        path: 'a',
        rule: 'value-type',
        message:
          "Provided json is not a valid 'tags' or 'properties' object: arrays are not supported.",
      },
    ]);
  });

  it('rejects values JSON cannot carry', () => {
    const sparse: unknown[] = new Array<unknown>(3);
    sparse[0] = 1;
    sparse[2] = 2;
    const result = validateSection(
      { u: undefined, f: () => 1, d: new Date(0), big: 1n, sym: Symbol('s'), hole: sparse },
      'tags',
    );
    expect(result.issues.map((issue) => `${issue.rule}@${issue.path}`)).toEqual([
      'value-type@u',
      'value-type@f',
      'value-type@d',
      'value-type@big',
      'value-type@sym',
      'value-type@hole[1]',
    ]);
    expect(result.issues[2]?.message).toContain('a Date');
    expect(result.issues[0]?.message).toContain('undefined');
  });

  it('reports a non-object section without throwing', () => {
    for (const value of [
      null,
      undefined,
      1,
      'x',
      [1],
      new Map(),
      Object.create({ inherited: 1 }) as object,
    ]) {
      const result = validateSection(value, 'tags');
      expect(result.valid).toBe(false);
      expect(result.issues).toHaveLength(1);
      expect(result.issues[0]?.rule).toBe('not-an-object');
    }
    expect(validateSection([1], 'desired').issues[0]?.message).toContain("'properties' object");
    expect(validateSection(Object.create(null) as object, 'tags').valid).toBe(true);
    expect(
      validateSection(
        new (class Settings {
          readonly value = 1;
        })(),
        'tags',
      ).issues[0]?.message,
    ).toContain('a Settings');
    expect(
      validateSection(Object.create(Object.create(null) as object) as object, 'tags').issues[0]
        ?.message,
    ).toContain('not a non-plain object.');
  });

  it('checks the section size limit unless told not to', () => {
    const big = { a: 'x'.repeat(4000), b: 'x'.repeat(4000), c: 'x'.repeat(200) };
    expect(validateSection(big, 'tags').issues).toEqual([
      { path: '', rule: 'section-size', message: 'Twin tags size 8203 exceeds maximum 8192' },
    ]);
    expect(validateSection(big, 'tags', { checkSize: false }).valid).toBe(true);
    expect(validateSection(big, 'desired').valid).toBe(true);
    const huge = Object.fromEntries(
      Array.from({ length: 9 }, (_, index) => [`r${String(index)}`, 'x'.repeat(4000)]),
    );
    expect(validateSection(huge, 'reported').issues[0]?.message).toBe(
      'Twin properties size 36018 exceeds maximum 32768',
    );
  });

  it('stops at the depth limit on cyclic input instead of overflowing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const result = validateSection(cyclic, 'tags');
    expect(result.issues.map((issue) => issue.rule)).toEqual(['depth']);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withSparseArray: true,
          withBoxedValues: true,
          withTypedArray: true,
        }),
        fc.constantFrom('tags', 'desired', 'reported'),
        (value, section) => {
          const result = validateSection(value, section);
          expect(result.valid).toBe(result.issues.length === 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary JSON and accepts what the rules allow', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validateSection(value, 'desired', { mode: 'replace' });
        expect(result.valid).toBe(result.issues.length === 0);
        for (const issue of result.issues) expect(issue.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('assertValidSection', () => {
  it('passes valid sections through', () => {
    expect(() => {
      assertValidSection({ ok: 1 }, 'reported');
    }).not.toThrow();
  });

  it('throws a TwinValidationError with every issue', () => {
    let caught: unknown;
    try {
      assertValidSection({ $a: 1, 'b c': 2 }, 'reported');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TwinValidationError);
    const error = caught as TwinValidationError;
    expect(error.issues.map((issue) => issue.path)).toEqual(['$a', 'b c']);
    expect(error.message).toMatch(
      /^Invalid reported: Property or Tag name has invalid characters\. Error in Property\/Tag \$a\..*\(and 1 more\)$/,
    );
  });
});

describe('computeSectionSize', () => {
  it('TV-38: gives 22 for the documented example', () => {
    expect(computeSectionSize({ ab: 'xyz', n: 1, b: true, o: { k: 'v' } })).toBe(22);
  });

  it('sums array elements, skips control characters, nulls and the read-only root members', () => {
    expect(computeSectionSize({ a: [1, 'xy', true, { k: 'v' }, null] })).toBe(1 + 8 + 2 + 4 + 2);
    expect(computeSectionSize({ 'a\u0001': 'b\u0085c', gone: null })).toBe(1 + 2);
    expect(computeSectionSize({ x: 1, $version: 4, $metadata: { $lastUpdated: 'x' } })).toBe(9);
  });

  it('agrees with the size validateSection measures', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 })),
        (value) => {
          const section = value as JsonObject;
          const size = computeSectionSize(section);
          const tooBig = validateSection(section, 'tags').issues.some(
            (issue) => issue.rule === 'section-size',
          );
          expect(tooBig).toBe(size > 8192);
        },
      ),
    );
  });
});

describe('key and byte helpers', () => {
  it('hasForbiddenKeyCharacter accepts ordinary names', () => {
    expect(hasForbiddenKeyCharacter('temperature_°C-1')).toBe(false);
    expect(hasForbiddenKeyCharacter('a\tb')).toBe(true);
  });

  it('utf8Length matches TextEncoder, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
      }),
    );
    for (const text of ['\ud800', '\ud800x', '\udc00', 'a\ud83d\ude00b', 'é', '€']) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});
