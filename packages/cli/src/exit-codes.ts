/**
 * The `twinkit` exit codes, documented in the package README. Scripts branch on them, so they
 * only ever gain members.
 */
export const ExitCode = Object.freeze({
  /** The command did what it was asked. */
  ok: 0,
  /** The hub refused or failed the operation for a reason not listed below. */
  failed: 1,
  /** The command line was wrong: unknown command or flag, bad JSON, missing connection string. */
  usage: 2,
  /** The device, module or twin does not exist (404). */
  notFound: 3,
  /** Someone else changed it first (412 with `--etag`) or it already exists (409). */
  conflict: 4,
  /** The credentials were refused (401) or lack the permission (403). */
  unauthorized: 5,
  /** The hub could not be reached: connection refused, TLS trust, DNS, timeout. */
  unreachable: 6,
} as const);

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
