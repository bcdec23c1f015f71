/**
 * What a command touches outside itself: its output streams, environment, files and a signal
 * that ends long-running commands. `cli.ts` passes the process's; tests pass their own.
 */
export interface CliIo {
  /** Writes to standard output (the command's result). */
  stdout(text: string): void;
  /** Writes to standard error (errors and progress for people). */
  stderr(text: string): void;
  /** Environment variables (`IOTHUB_CONNECTION_STRING`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a UTF-8 file (`--file`, `--ca`). */
  readFile(path: string): Promise<string>;
  /** Aborted when the user interrupts (Ctrl-C); `twin watch` runs until then. */
  signal: AbortSignal;
}
