/**
 * Helpers for tests that run the `twinkit-hub` CLI as a child process (from source, via tsx).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = resolve(import.meta.dirname, '../src/cli.ts');
/** The node arguments that run the CLI from source. */
export const CLI_NODE_ARGS = ['--conditions=@twinkit/source', '--import', 'tsx', CLI];

/** The `--json` ready line of `twinkit-hub start`. */
export interface Ready {
  serviceConnectionString: string;
  caFile: string;
  endpoints: { https: string; mqtt: string | null; amqp: string | null; explorer: string | null };
}

/** Children started by the helpers; the test file kills what is left after each test. */
export const children: ChildProcess[] = [];

/** Kills every child still running. */
export function killChildren(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Starts `twinkit-hub <args>` and resolves with its first stdout line as JSON (use `--json`).
 *
 * @param args - CLI arguments
 * @param options - `prefix` runs the CLI under a command (e.g. `['prlimit', '--fsize=…', '--']`)
 */
export function run(
  args: string[],
  options: { prefix?: string[]; spawn?: SpawnOptions } = {},
): { child: ChildProcess; ready: Promise<Ready>; stderr: () => string } {
  const command = options.prefix ?? [];
  const [file = process.execPath, ...rest] = [
    ...command,
    process.execPath,
    ...CLI_NODE_ARGS,
    ...args,
  ];
  const child = spawn(file, rest, {
    cwd: resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.spawn,
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<Ready>((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      resolvePromise(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => {
      reject(new Error(`CLI exited (${String(code)}) before it was ready: ${stderr}`));
    });
  });
  return { child, ready, stderr: () => stderr };
}

/**
 * Resolves with the exit code once a child ended.
 *
 * @param child - the child
 */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) resolvePromise(child.exitCode);
    else child.once('exit', (code) => resolvePromise(code));
  });
}

/**
 * Runs `twinkit-hub <args>` to the end.
 *
 * @param args - CLI arguments
 * @param options - spawn options (cwd, uid, env)
 */
export async function runToEnd(
  args: string[],
  options: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI_NODE_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await exited(child);
  return { code, stdout, stderr };
}

/**
 * The port of a URL.
 *
 * @param url - a URL
 */
export function portOf(url: string): string {
  return new URL(url).port;
}

/** Ephemeral ports for every endpoint (tests never bind fixed ports). */
export const ANY_PORTS = ['--https-port', '0', '--mqtt-port', '0', '--amqp-port', '0'];
