import { hubFailure } from './hub-failure.js';

/**
 * Reads a JSON request body; malformed JSON is a 400 ArgumentInvalid like the hub's.
 *
 * @param request - the request
 * @returns the parsed body (`undefined` for an empty body)
 */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `The request body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}.`,
    );
  }
}
