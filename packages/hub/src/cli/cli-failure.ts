/**
 * How the `twinkit-hub` CLI fails: one line on stderr that names the flag or path at fault,
 * never a stack trace, and an exit code a script can test (documented in the README):
 *
 * - 1: the command could not do its job (the data directory is refused, a port is taken, the
 *   hub cannot be reached or refused the request);
 * - 2: the command line is wrong (unknown flag, bad value, missing argument).
 */
import { isHubStorageError } from '../state/storage-error.js';

/** Exit code of a command that could not do its job. */
export const EXIT_FAILURE = 1;
/** Exit code of a wrong command line. */
export const EXIT_USAGE = 2;

/** A failure to report to the user: the message is the whole story. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  /** The process exit code. */
  readonly exitCode: number;

  /**
   * @param message - what went wrong, naming the flag or path, and what to do
   * @param exitCode - {@link EXIT_FAILURE} (default) or {@link EXIT_USAGE}
   */
  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * A wrong command line.
 *
 * @param message - what is wrong, naming the flag
 */
export function usageError(message: string): CliFailure {
  return new CliFailure(message, EXIT_USAGE);
}

/**
 * Writes an error as one line and exits. Errors of node:util `parseArgs` are usage errors; a
 * storage refusal keeps its own message (it names the file and what to do). Anything else is
 * reported by its message; `TWINKIT_HUB_DEBUG=1` adds the stack for bug reports.
 *
 * @param error - what was thrown
 */
export function exitWithError(error: unknown): never {
  let message = error instanceof Error ? error.message : String(error);
  let code = EXIT_FAILURE;
  if (error instanceof CliFailure) code = error.exitCode;
  else if (isParseArgsError(error)) {
    code = EXIT_USAGE;
    const text = message.replace(/\. To specify a positional argument.*$/s, '');
    message = `${text.endsWith('.') ? text : `${text}.`} Run "twinkit-hub --help".`;
  } else if (
    !isHubStorageError(error) &&
    process.env.TWINKIT_HUB_DEBUG === '1' &&
    error instanceof Error
  ) {
    message = error.stack ?? message;
  }
  process.stderr.write(`twinkit-hub: ${message}\n`);
  process.exit(code);
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
