/**
 * The validation rules IoT Hub applies to tags, desired and reported properties: key names, value
 * types and ranges, nesting depth, nulls and section size. Every issue is reported with its path,
 * in the hub's words where the hub's words are known.
 *
 * @see docs/internals/twin-semantics.md#limits
 */
import { TwinValidationError, type ValidationIssue } from './errors/index.js';
import {
  BOOLEAN_SIZE,
  MAX_DEPTH,
  MAX_KEY_LENGTH_BYTES,
  MAX_SAFE_TWIN_INTEGER,
  MAX_STRING_LENGTH_BYTES,
  MIN_SAFE_TWIN_INTEGER,
  NUMBER_SIZE,
  sectionSizeLimit,
} from './limits.js';
import { isPlainObject } from './patch/json.js';
import type { JsonObject, JsonValue, TwinSectionName } from './types.js';

/** The outcome of {@link validateSection}. */
export interface ValidationResult {
  /** `true` when `issues` is empty. */
  valid: boolean;
  /** Every rule broken, in document order. */
  issues: ValidationIssue[];
}

/** How {@link validateSection} reads its input. */
export interface ValidateSectionOptions {
  /**
   * `patch` (default): `null` members are delete markers and allowed. `replace` (a PUT): `null`
   * members are rejected with the hub's message (docs/internals/twin-semantics.md#replace).
   */
  mode?: 'patch' | 'replace';
  /** Whether arrays are accepted; `false` emulates api-versions before 2019-10-01 (docs/internals/twin-semantics.md#limits). Default `true`. */
  allowArrays?: boolean;
  /**
   * Whether to check the section size limit against the value itself. Default `true`. The twin
   * engine turns it off and applies the "reject only if it grows beyond the limit" rule (docs/internals/twin-semantics.md#limits) to
   * the merged section instead.
   */
  checkSize?: boolean;
}

/** The hub's message texts (docs/internals/twin-semantics.md#validation-errors). Where the hub's own text is unknown, edgeHub's is used. */
export const TwinRuleMessage = /* @__PURE__ */ Object.freeze({
  keyCharacters: (name: string) =>
    `Property or Tag name has invalid characters. Error in Property/Tag ${name}. Must not contain Control Characters, '.', '$', '#', or ' '.`,
  keyEmpty: (parent: string) =>
    `Property or Tag name cannot be empty. Error in Property/Tag ${parent === '' ? '(root)' : parent}.`,
  keyLength: (name: string) =>
    `Length of property name ${name.slice(0, 10)}.. exceeds maximum length of ${String(MAX_KEY_LENGTH_BYTES)}`,
  stringLength: (name: string, length: number) =>
    `Value associated with property name ${name} has length ${String(length)} that exceeds maximum length of ${String(MAX_STRING_LENGTH_BYTES)}`,
  integerRange: (name: string) =>
    `Property ${name} has an out of bound value. Valid values are between ${String(MIN_SAFE_TWIN_INTEGER)} and ${String(MAX_SAFE_TWIN_INTEGER)}`,
  numberFinite: (name: string) =>
    `Property ${name} has a value that is not a finite number; JSON has no NaN or Infinity`,
  depth: () => `Nested depth of twin property exceeds ${String(MAX_DEPTH)}`,
  sectionSize: (section: TwinSectionName, size: number, limit: number) =>
    `Twin ${section === 'tags' ? 'tags' : 'properties'} size ${String(size)} exceeds maximum ${String(limit)}`,
  nullInArray: () => `Arrays cannot contain 'null' as value`,
  nullInArrayObject: (name: string) => `Property ${name} of an object in an array cannot be 'null'`,
  nullInReplace: (name: string) =>
    `Value of Property or Tag cannot be null. Error in Property/Tag ${name}`,
  arraysNotSupported: () =>
    `Provided json is not a valid 'tags' or 'properties' object: arrays are not supported.`,
  notAnObject: (section: TwinSectionName, what: string) =>
    `Provided json is not a valid '${section === 'tags' ? 'tags' : 'properties'}' object: the ${section} section must be a JSON object, not ${what}.`,
  valueType: (name: string, what: string) =>
    `Property ${name} has a value of type ${what}, which JSON cannot carry. Use a string, number, boolean, object or array (or null to delete).`,
});

interface WalkContext {
  readonly replace: boolean;
  readonly allowArrays: boolean;
  readonly issues: ValidationIssue[];
}

/**
 * Checks a section (or a patch for one) against every rule of docs/internals/twin-semantics.md#limits and collects every issue.
 * Never throws, whatever it is given: non-JSON values, class instances and even cyclic objects
 * (descent stops at the depth limit) come back as issues.
 *
 * @param value - the candidate section content or merge patch; anything
 * @param section - which section it is for (selects the size limit)
 * @param options - patch or replace mode, arrays, size check
 * @returns whether it is valid, and every issue with its path
 * @example
 * ```ts
 * const result = validateSection({ 'a.b': 1, fan: { speed: 'x'.repeat(5000) } }, 'desired');
 * result.issues.map((issue) => issue.path); // → ['a.b', 'fan.speed']
 * ```
 * @see docs/internals/twin-semantics.md#limits
 */
export function validateSection(
  value: unknown,
  section: TwinSectionName,
  options: ValidateSectionOptions = {},
): ValidationResult {
  const context: WalkContext = {
    replace: options.mode === 'replace',
    allowArrays: options.allowArrays ?? true,
    issues: [],
  };
  if (!isPlainObject(value)) {
    context.issues.push({
      path: '',
      rule: 'not-an-object',
      message: TwinRuleMessage.notAnObject(section, describe(value)),
    });
    return { valid: false, issues: context.issues };
  }
  const size = walkObject(value, '', 0, false, context);
  if (options.checkSize ?? true) {
    const limit = sectionSizeLimit(section);
    if (size > limit) {
      context.issues.push({
        path: '',
        rule: 'section-size',
        message: TwinRuleMessage.sectionSize(section, size, limit),
      });
    }
  }
  return { valid: context.issues.length === 0, issues: context.issues };
}

/**
 * Like {@link validateSection}, but throws when anything is wrong; useful before sending a patch.
 *
 * @param value - the candidate section content or merge patch
 * @param section - which section it is for
 * @param options - patch or replace mode, arrays, size check
 * @throws {@link TwinValidationError} listing every issue, when the value breaks any rule
 * @example
 * ```ts
 * assertValidSection(patch, 'reported'); // throws TwinValidationError for { "$x": 1 }
 * ```
 */
export function assertValidSection(
  value: unknown,
  section: TwinSectionName,
  options?: ValidateSectionOptions,
): asserts value is JsonObject {
  const result = validateSection(value, section, options);
  if (!result.valid) throw new TwinValidationError(result.issues, `Invalid ${section}`);
}

/**
 * The size of a section by the documented formula (docs/internals/twin-semantics.md#limits): for every property, the length of its
 * key plus the size of its value; strings count their characters except control characters,
 * numbers 8, booleans 4, objects the sum of their members, arrays the sum of their elements.
 * `$metadata` and `$version` at the root are not counted, nor are `null` members (a patch's
 * delete markers are never stored).
 *
 * @param section - the section content, or a whole service-view section
 * @returns the size; compare it with {@link sectionSizeLimit}
 * @example
 * ```ts
 * computeSectionSize({ ab: 'xyz', n: 1, b: true, o: { k: 'v' } }); // → 22
 * ```
 */
export function computeSectionSize(section: JsonObject): number {
  let size = 0;
  for (const key of Object.keys(section)) {
    if (key === '$metadata' || key === '$version') continue;
    size += memberSize(key, section[key] as JsonValue);
  }
  return size;
}

function memberSize(key: string, value: JsonValue): number {
  return value === null ? 0 : countCharacters(key) + valueSize(value);
}

function valueSize(value: JsonValue): number {
  if (typeof value === 'string') return countCharacters(value);
  if (typeof value === 'number') return NUMBER_SIZE;
  if (typeof value === 'boolean') return BOOLEAN_SIZE;
  if (value === null) return 0;
  let size = 0;
  if (Array.isArray(value)) {
    for (const item of value) size += valueSize(item);
  } else {
    for (const key of Object.keys(value)) size += memberSize(key, value[key] as JsonValue);
  }
  return size;
}

/** Walks an object at `level` (0 = section root); returns its size by the docs/internals/twin-semantics.md#limits formula. */
function walkObject(
  object: Record<string, unknown>,
  path: string,
  level: number,
  inArray: boolean,
  context: WalkContext,
): number {
  let size = 0;
  for (const key of Object.keys(object)) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    checkKey(key, path, keyPath, context);
    const value = object[key];
    if (value === null) {
      if (inArray) {
        context.issues.push({
          path: keyPath,
          rule: 'null-in-array',
          message: TwinRuleMessage.nullInArrayObject(key),
        });
      } else if (context.replace) {
        context.issues.push({
          path: keyPath,
          rule: 'null-in-replace',
          message: TwinRuleMessage.nullInReplace(key),
        });
      }
      continue;
    }
    size += countCharacters(key) + walkValue(value, keyPath, key, level + 1, inArray, context);
  }
  return size;
}

/** Walks a non-null member value or array element that sits at `level`. */
function walkValue(
  value: unknown,
  path: string,
  name: string,
  level: number,
  inArray: boolean,
  context: WalkContext,
): number {
  if (typeof value === 'string') {
    const bytes = exceedsBytes(value, MAX_STRING_LENGTH_BYTES);
    if (bytes !== undefined) {
      context.issues.push({
        path,
        rule: 'string-length',
        message: TwinRuleMessage.stringLength(name, bytes),
      });
    }
    return countCharacters(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      context.issues.push({
        path,
        rule: 'number-finite',
        message: TwinRuleMessage.numberFinite(name),
      });
    } else if (
      Number.isInteger(value) &&
      (value < MIN_SAFE_TWIN_INTEGER || value > MAX_SAFE_TWIN_INTEGER)
    ) {
      // docs/internals/twin-semantics.md#limits: the bound applies to integers only; 3.14 or 1.5e300 are not range-checked.
      context.issues.push({
        path,
        rule: 'integer-range',
        message: TwinRuleMessage.integerRange(name),
      });
    }
    return NUMBER_SIZE;
  }
  if (typeof value === 'boolean') return BOOLEAN_SIZE;
  if (Array.isArray(value)) {
    if (!context.allowArrays) {
      context.issues.push({
        path,
        rule: 'value-type',
        message: TwinRuleMessage.arraysNotSupported(),
      });
      return 0;
    }
    if (level > MAX_DEPTH) {
      context.issues.push({ path, rule: 'depth', message: TwinRuleMessage.depth() });
      return 0;
    }
    let size = 0;
    // An index loop, not forEach: holes in a sparse array must be seen (as undefined).
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const itemPath = `${path}[${String(index)}]`;
      if (item === null) {
        context.issues.push({
          path: itemPath,
          rule: 'null-in-array',
          message: TwinRuleMessage.nullInArray(),
        });
        continue;
      }
      size += walkValue(item, itemPath, name, level + 1, true, context);
    }
    return size;
  }
  if (isPlainObject(value)) {
    if (level > MAX_DEPTH) {
      context.issues.push({ path, rule: 'depth', message: TwinRuleMessage.depth() });
      return 0;
    }
    return walkObject(value, path, level, inArray, context);
  }
  context.issues.push({
    path,
    rule: 'value-type',
    message: TwinRuleMessage.valueType(name, describe(value)),
  });
  return 0;
}

function checkKey(key: string, parentPath: string, keyPath: string, context: WalkContext): void {
  if (key === '') {
    context.issues.push({
      path: keyPath,
      rule: 'key-empty',
      message: TwinRuleMessage.keyEmpty(parentPath),
    });
    return;
  }
  if (hasForbiddenKeyCharacter(key)) {
    context.issues.push({
      path: keyPath,
      rule: 'key-characters',
      message: TwinRuleMessage.keyCharacters(key),
    });
  }
  if (exceedsBytes(key, MAX_KEY_LENGTH_BYTES) !== undefined) {
    context.issues.push({
      path: keyPath,
      rule: 'key-length',
      message: TwinRuleMessage.keyLength(key),
    });
  }
}

/**
 * Whether a property or tag name contains a character IoT Hub forbids (docs/internals/twin-semantics.md#limits): control characters
 * (C0, DEL, C1), `.`, `$`, `#` or a space.
 *
 * @param key - a property or tag name
 * @returns `true` when the hub would reject the name for its characters
 */
export function hasForbiddenKeyCharacter(key: string): boolean {
  return FORBIDDEN_KEY_CHARACTER.test(key);
}

// Control characters are C0, DEL and C1: .NET's `char.IsControl`, which the hub and edgeHub use
// (docs/internals/twin-semantics.md#limits). Regular expressions scan much faster than a charCodeAt loop.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARACTER = /[\u0000-\u0020\u007f-\u009f.$#]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Characters a string counts for in the docs/internals/twin-semantics.md#limits size formula: UTF-16 code units (what .NET's
 * `string.Length` counts), minus control characters.
 */
function countCharacters(text: string): number {
  return CONTROL_CHARACTER.test(text) ? text.replace(CONTROL_CHARACTERS, '').length : text.length;
}

/**
 * Whether a string is longer than `limit` UTF-8 bytes. A UTF-16 code unit takes at most 3 bytes,
 * so short strings are settled without counting.
 */
function exceedsBytes(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = utf8Length(text);
  return bytes > limit ? bytes : undefined;
}

/**
 * The UTF-8 byte length of a string, as `TextEncoder` would encode it (a lone surrogate becomes
 * U+FFFD, 3 bytes), without allocating.
 *
 * @param text - any string
 * @returns its length in UTF-8 bytes
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    const name =
      typeof proto === 'object' &&
      proto !== null &&
      typeof (proto as { constructor?: unknown }).constructor === 'function'
        ? (proto as { constructor: { name: string } }).constructor.name
        : '';
    return name === '' ? 'a non-plain object' : `a ${name}`;
  }
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}
