/**
 * What every command gets: its parsed flags and positionals, the output format, the I/O and a
 * way to open the Registry.
 */
import type { JsonObject } from '@twinkit/twin-model';
import type { CliIo } from './cli-io.js';
import type { OpenRegistry } from './open-registry.js';
import type { OutputFormat } from './output/format.js';
import { UsageError } from './usage-error.js';

/** The parsed command line of one command. */
export interface CommandContext {
  /** Positional arguments after the command words (`device show <id>` → `[id]`). */
  args: readonly string[];
  /** String flags by long name (`--etag`), when given. */
  flags: Readonly<Record<string, string | undefined>>;
  output: OutputFormat;
  io: CliIo;
  /** Opens the Registry named by `--hub`/`IOTHUB_CONNECTION_STRING` (and `--ca`). */
  openRegistry: () => Promise<OpenRegistry>;
}

/** One command: its usage line and what it does. */
export interface Command {
  /** The words that select it, such as `['device', 'list']`. */
  words: readonly string[];
  /** `twinkit <words> <usage>` in help and usage errors. */
  usage: string;
  /** One line for `--help`. */
  summary: string;
  /** The `az iot hub` command it corresponds to, for people who know that CLI. */
  azEquivalent: string;
  /** The flags it accepts beyond the global ones. */
  flags: readonly string[];
  /** Number of positional arguments it takes. */
  arity: number;
  run(context: CommandContext): Promise<void>;
}

/**
 * Parses a JSON flag value into an object.
 *
 * @param flag - the flag name, for the error message
 * @param text - the flag's value
 * @returns the parsed object
 * @throws {@link UsageError} when it is not a JSON object
 */
export function parseJsonObject(flag: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${flag}: not valid JSON (${error instanceof Error ? error.message : String(error)}); quote it for your shell, e.g. ${flag} '{"fanOn":true}'`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag}: expected a JSON object such as '{"fanOn":true}'`);
  }
  // JSON.parse only ever makes JSON values.
  return value as JsonObject;
}

/**
 * Parses a positive integer flag.
 *
 * @param flag - the flag name, for the error message
 * @param text - the value, when given
 * @returns the number, or undefined when the flag was not given
 * @throws {@link UsageError} when it is not a positive integer
 */
export function parsePositiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag}: expected a positive whole number, got '${text}'`);
  }
  return value;
}
