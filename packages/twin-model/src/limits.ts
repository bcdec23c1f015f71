/**
 * IoT Hub's twin limits as named constants (current values; older documents show smaller ones).
 *
 * @see docs/internals/twin-semantics.md#limits
 */
import type { TwinSectionName } from './types.js';

/** Longest property or tag name, in UTF-8 bytes (docs/internals/twin-semantics.md#limits). */
export const MAX_KEY_LENGTH_BYTES = 1024;

/** Longest string value, in UTF-8 bytes (docs/internals/twin-semantics.md#limits). */
export const MAX_STRING_LENGTH_BYTES = 4096;

/**
 * Deepest nesting of objects (and arrays) below a section root (docs/internals/twin-semantics.md#limits): `one.two…ten.property` is
 * fine, an object inside `ten` is not.
 */
export const MAX_DEPTH = 10;

/** Smallest integer a twin may hold: −2^52 (docs/internals/twin-semantics.md#limits). */
export const MIN_SAFE_TWIN_INTEGER = -4503599627370496;

/** Largest integer a twin may hold: 2^52 − 1 (docs/internals/twin-semantics.md#limits). */
export const MAX_SAFE_TWIN_INTEGER = 4503599627370495;

/** Largest `tags` section, by the size formula of docs/internals/twin-semantics.md#limits. */
export const MAX_TAGS_SIZE = 8192;

/** Largest `properties.desired` section, by the size formula of docs/internals/twin-semantics.md#limits. */
export const MAX_DESIRED_SIZE = 32768;

/** Largest `properties.reported` section, by the size formula of docs/internals/twin-semantics.md#limits. */
export const MAX_REPORTED_SIZE = 32768;

/** Size the docs/internals/twin-semantics.md#limits formula gives a number. */
export const NUMBER_SIZE = 8;

/** Size the docs/internals/twin-semantics.md#limits formula gives a boolean. */
export const BOOLEAN_SIZE = 4;

/** The first service api-version that accepts arrays in tags and properties (docs/internals/twin-semantics.md#limits). */
export const ARRAYS_MIN_API_VERSION = '2019-10-01';

/**
 * The size limit of a twin section.
 *
 * @param section - `tags`, `desired` or `reported`
 * @returns the largest size the section may reach (inclusive)
 * @throws {@link RangeError} for an unknown section name
 */
export function sectionSizeLimit(section: TwinSectionName): number {
  switch (section) {
    case 'tags':
      return MAX_TAGS_SIZE;
    case 'desired':
      return MAX_DESIRED_SIZE;
    case 'reported':
      return MAX_REPORTED_SIZE;
    default:
      throw new RangeError(
        `Unknown twin section '${String(section)}'; expected tags, desired or reported.`,
      );
  }
}

/**
 * Whether a service api-version accepts arrays in tags and properties (docs/internals/twin-semantics.md#limits).
 *
 * @param apiVersion - an api-version such as `2021-04-12` (a `-preview` suffix is fine); absent means the current one
 * @returns `false` only for versions before 2019-10-01
 */
export function apiVersionSupportsArrays(apiVersion: string | undefined): boolean {
  if (apiVersion === undefined || apiVersion === '') return true;
  return apiVersion.slice(0, ARRAYS_MIN_API_VERSION.length) >= ARRAYS_MIN_API_VERSION;
}
