/**
 * Runs a program as a child process (in the packed app, never in the workspace) and reads the
 * one result line our runtime programs print.
 */
import { execFile } from 'node:child_process';

/** What a finished child process printed. */
export interface ProgramOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Options of {@link runProgram}. */
export interface RunProgramOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Kills the program after this long (default 90 s). */
  timeoutInMs?: number;
}

/**
 * Runs `command args` to completion, never throwing for a non-zero exit (the caller asserts on
 * the exit code and output, so a failure shows what the program printed).
 */
export function runProgram(
  command: string,
  args: readonly string[],
  options: RunProgramOptions,
): Promise<ProgramOutput> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutInMs ?? 90_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ stdout, stderr, exitCode: code });
      },
    );
  });
}

/** The prefix of the result line (runtimes/flows.mjs `RESULT_PREFIX`). */
const RESULT_PREFIX = 'TWINKIT_RESULT ';

/**
 * The JSON object on the program's `TWINKIT_RESULT` line.
 *
 * @throws Error with everything the program printed when there is no such line
 */
export function resultOf(output: ProgramOutput): Record<string, unknown> {
  const line = output.stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_PREFIX));
  if (line === undefined) {
    throw new Error(
      `The program printed no result line (exit ${String(output.exitCode)}).\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`,
    );
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, unknown>;
}
