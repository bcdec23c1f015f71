import { QuerySyntaxError } from '../errors/index.js';

/**
 * The text IoT Hub sends (HTTP 400) for every query it cannot run: syntax errors, unknown
 * functions, an unescaped reserved word.
 *
 * @see docs/internals/twin-semantics.md#query-errors
 */
export const INVALID_QUERY_MESSAGE =
  'The query is invalid. Please check the format of the query and try again.';

/**
 * The longest query text IoT Hub accepts, in characters (UTF-16 code units).
 *
 * @see docs/internals/twin-semantics.md#query-errors, TV-69
 */
export const MAX_QUERY_LENGTH = 8192;

/**
 * Builds the error every query stage throws: the hub's own sentence, so a hub can pass the
 * message through unchanged, followed by a pointer at what is wrong.
 *
 * @param detail - what is wrong, as a sentence
 * @param position - zero-based offset of the problem in the query text
 * @returns the error to throw
 */
export function invalidQuery(detail: string, position: number): QuerySyntaxError {
  return new QuerySyntaxError(`${INVALID_QUERY_MESSAGE} ${detail}`, position);
}
