import { invalidQuery } from './query-error.js';

/** Kinds of token the query lexer produces. */
export type TokenKind = 'word' | 'string' | 'number' | 'segment' | 'punct' | 'eof';

/** One token of query text. */
export interface Token {
  readonly kind: TokenKind;
  /**
   * `word`: the word as written; `string`: the decoded text; `segment`: the text inside
   * `[[ ]]`; `punct`: the operator or bracket; `eof`: empty.
   */
  readonly text: string;
  /** The numeric value of a `number` token (0 for others). */
  readonly value: number;
  /** Offset of the first character. */
  readonly position: number;
  /** Offset just past the last character. */
  readonly end: number;
}

const TWO_CHAR_PUNCT = new Set(['!=', '<>', '<=', '>=']);
const ONE_CHAR_PUNCT = new Set([
  '*',
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ':',
  '=',
  '+',
  '-',
  '/',
  '%',
  '.',
  '<',
  '>',
]);

const CHAR_HINTS: Readonly<Record<string, string>> = {
  '!': '; use != or NOT',
  '&': '; use AND',
  '|': '; use OR',
  ';': '; a query is a single statement',
};

const ESCAPES: Readonly<Record<string, string>> = {
  "'": "'",
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const WHITESPACE = /\s/u;
const HEX_DIGITS = /^[0-9a-fA-F]+$/u;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Identifier characters: ASCII letters, digits, `_`, `$` and anything beyond ASCII that is not
 * whitespace. Narrower than the routing lexer's "anything but separators" (docs/internals/twin-semantics.md#query) so that
 * `a-b` and `x*2` read as arithmetic; keys with other characters are written `[[key]]`.
 */
function isWordChar(char: string): boolean {
  const code = char.charCodeAt(0);
  if (code < 0x80) {
    return (
      isDigit(code) ||
      (code >= 65 && code <= 90) ||
      (code >= 97 && code <= 122) ||
      code === 95 ||
      code === 36
    );
  }
  return !WHITESPACE.test(char);
}

function describeChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 32 || code === 127) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${char}'`;
}

/**
 * Splits query text into tokens. A `[[…]]` escaped segment is recognised right after a `.`,
 * and a word there may start with a digit (twin keys may), so `tags.[[group]]` and `tags.1st`
 * are paths while `[[1]]` elsewhere is a nested array.
 *
 * @param text - the query text (length already checked)
 * @returns the tokens, ending with one `eof` token
 * @throws {@link QuerySyntaxError} on a character or literal that cannot start a token
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const length = text.length;
  let index = 0;
  let previous: Token | undefined;

  const push = (
    kind: TokenKind,
    tokenText: string,
    position: number,
    end: number,
    value = 0,
  ): void => {
    previous = { kind, text: tokenText, value, position, end };
    tokens.push(previous);
  };

  while (index < length) {
    const char = text.charAt(index);
    const code = char.charCodeAt(0);
    if (WHITESPACE.test(char)) {
      index += 1;
      continue;
    }
    const afterDot = previous?.kind === 'punct' && previous.text === '.';
    const pathEnd =
      previous !== undefined && (previous.kind === 'word' || previous.kind === 'segment');

    if (char === '[' && afterDot && text.charAt(index + 1) === '[') {
      const close = text.indexOf(']]', index + 2);
      if (close < 0) throw invalidQuery('The escaped segment [[ is not closed with ]].', index);
      const name = text.slice(index + 2, close);
      if (name === '') throw invalidQuery('An escaped segment [[ ]] must not be empty.', index);
      push('segment', name, index, close + 2);
      index = close + 2;
      continue;
    }
    if (char === "'" || char === '"') {
      index = readString(text, index, push);
      continue;
    }
    if (isDigit(code) && !afterDot) {
      index = readNumber(text, index, push);
      continue;
    }
    if (char === '.' && !pathEnd && !afterDot && isDigit(text.charCodeAt(index + 1))) {
      index = readNumber(text, index, push);
      continue;
    }
    if (isWordChar(char)) {
      let end = index + 1;
      while (end < length && isWordChar(text.charAt(end))) end += 1;
      push('word', text.slice(index, end), index, end);
      index = end;
      continue;
    }
    const pair = text.slice(index, index + 2);
    if (TWO_CHAR_PUNCT.has(pair)) {
      push('punct', pair, index, index + 2);
      index += 2;
      continue;
    }
    if (ONE_CHAR_PUNCT.has(char)) {
      push('punct', char, index, index + 1);
      index += 1;
      continue;
    }
    throw invalidQuery(
      `Unexpected character ${describeChar(char)}${CHAR_HINTS[char] ?? ''}.`,
      index,
    );
  }
  tokens.push({ kind: 'eof', text: '', value: 0, position: length, end: length });
  return tokens;
}

type Push = (kind: TokenKind, text: string, position: number, end: number, value?: number) => void;

function readString(text: string, start: number, push: Push): number {
  const quote = text.charAt(start);
  let index = start + 1;
  let value = '';
  let chunkStart = index;
  while (index < text.length) {
    const char = text.charAt(index);
    if (char === quote) {
      value += text.slice(chunkStart, index);
      push('string', value, start, index + 1);
      return index + 1;
    }
    if (char === '\\') {
      value += text.slice(chunkStart, index);
      const escape = text.charAt(index + 1);
      if (escape === 'u') {
        const hex = text.slice(index + 2, index + 6);
        if (hex.length !== 4 || !HEX_DIGITS.test(hex)) {
          throw invalidQuery('A \\u escape needs exactly four hex digits, as in \\u00e9.', index);
        }
        value += String.fromCharCode(Number.parseInt(hex, 16));
        index += 6;
      } else {
        const decoded = ESCAPES[escape];
        if (decoded === undefined) {
          const shown = escape === '' ? 'at the end of the text' : `\\${escape}`;
          throw invalidQuery(
            `Unknown escape sequence ${shown} in a string; use \\' \\" \\\\ or \\uXXXX.`,
            index,
          );
        }
        value += decoded;
        index += 2;
      }
      chunkStart = index;
      continue;
    }
    index += 1;
  }
  throw invalidQuery(`The string starting here is not closed with ${quote}.`, start);
}

function readNumber(text: string, start: number, push: Push): number {
  let index = start;
  let value: number;
  if (
    text.charAt(index) === '0' &&
    (text.charAt(index + 1) === 'x' || text.charAt(index + 1) === 'X')
  ) {
    index += 2;
    const digitsStart = index;
    while (index < text.length && HEX_DIGITS.test(text.charAt(index))) index += 1;
    if (index === digitsStart) throw invalidQuery('0x must be followed by hex digits.', start);
    value = Number.parseInt(text.slice(digitsStart, index), 16);
  } else {
    while (isDigit(text.charCodeAt(index))) index += 1;
    if (text.charAt(index) === '.' && isDigit(text.charCodeAt(index + 1))) {
      index += 1;
      while (isDigit(text.charCodeAt(index))) index += 1;
    }
    const e = text.charAt(index);
    if (e === 'e' || e === 'E') {
      let exponent = index + 1;
      const sign = text.charAt(exponent);
      if (sign === '+' || sign === '-') exponent += 1;
      if (!isDigit(text.charCodeAt(exponent))) {
        throw invalidQuery(
          `Malformed number '${text.slice(start, exponent)}': the exponent has no digits.`,
          start,
        );
      }
      index = exponent;
      while (isDigit(text.charCodeAt(index))) index += 1;
    }
    value = Number(text.slice(start, index));
  }
  if (index < text.length && isWordChar(text.charAt(index))) {
    let end = index;
    while (end < text.length && isWordChar(text.charAt(end))) end += 1;
    throw invalidQuery(`Malformed number '${text.slice(start, end)}'.`, start);
  }
  if (!Number.isFinite(value)) {
    throw invalidQuery(`The number '${text.slice(start, index)}' is too large.`, start);
  }
  push('number', text.slice(start, index), start, index, value);
  return index;
}
