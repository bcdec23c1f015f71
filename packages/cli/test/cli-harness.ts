/**
 * Runs `twinkit` in-process against a local hub served over HTTPS, capturing what it prints.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { runCli } from '../src/run-cli.js';

/** What one run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A hub plus a `twinkit` bound to it. */
export interface CliFixture extends AsyncDisposable {
  testHub: TestHub;
  /** Path of the hub's CA in a temporary folder. */
  caFile: string;
  /** Writes a file in the temporary folder and returns its path. */
  writeFile(name: string, text: string): string;
  /** Runs `twinkit <args> --hub <cs> --ca <file>`. */
  run(args: readonly string[], options?: RunOptions): Promise<CliRun>;
}

/** Options of one run. */
export interface RunOptions {
  signal?: AbortSignal;
  env?: Record<string, string>;
  /** Filled in as the command prints, for commands that run until interrupted. */
  live?: { stdout: string; stderr: string };
}

/**
 * Runs the CLI with captured output.
 *
 * @param args - the arguments
 * @param options - environment and interrupt signal
 * @returns exit code and output
 */
export async function runCaptured(
  args: readonly string[],
  options: RunOptions = {},
): Promise<CliRun> {
  const live = options.live ?? { stdout: '', stderr: '' };
  const code = await runCli(args, {
    stdout: (text) => {
      live.stdout += text;
    },
    stderr: (text) => {
      live.stderr += text;
    },
    env: options.env ?? {},
    readFile: (path) => readFile(path, 'utf8'),
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, stdout: live.stdout, stderr: live.stderr };
}

/**
 * Starts a hub over HTTPS on 127.0.0.1 and returns a CLI bound to it.
 *
 * @returns the fixture; dispose it with `await using`
 */
export async function startCliFixture(): Promise<CliFixture> {
  const testHub = await startTestHub();
  const folder = mkdtempSync(join(tmpdir(), 'twinkit-cli-'));
  const writeFile = (name: string, text: string) => {
    const path = join(folder, name);
    writeFileSync(path, text);
    return path;
  };
  const caFile = writeFile('ca.pem', testHub.caCertificate);
  return {
    testHub,
    caFile,
    writeFile,
    run: (args, options = {}) =>
      runCaptured([...args, '--hub', testHub.serviceConnectionString, '--ca', caFile], options),
    [Symbol.asyncDispose]: () => testHub.close(),
  };
}
