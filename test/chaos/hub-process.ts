/**
 * The hub under test: the built `twinkit-hub` CLI (packages/hub/dist/cli.js) in a child process,
 * in memory, on 127.0.0.1 with ephemeral ports, as an operator runs it. Its resident memory is
 * read from /proc, so figures are the hub's own and not the test runner's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The CLI to run: this checkout's build, or another build named by TWINKIT_CHAOS_CLI (a path to
 * its dist/cli.js), to measure the same figures on an older hub for a before/after comparison.
 */
const CLI =
  process.env.TWINKIT_CHAOS_CLI ??
  fileURLToPath(new URL('../../packages/hub/dist/cli.js', import.meta.url));

/** A running hub process. */
export interface HubProcess extends AsyncDisposable {
  readonly pid: number;
  readonly ports: { readonly https: number; readonly mqtt: number; readonly amqp: number };
  /** PEM of the hub's development CA. */
  readonly ca: string;
  readonly serviceConnectionString: string;
  /** The hub's resident set size now, in MiB. */
  rssInMiB(): number;
  /** Stops the hub (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

interface ReadyLine {
  serviceConnectionString: string;
  caFile: string | null;
  endpoints: Record<string, string>;
}

function portOf(url: string | undefined): number {
  const match = /:(\d+)(?:\/|$)/.exec(url ?? '');
  if (match?.[1] === undefined) throw new Error(`The hub printed no port in '${String(url)}'.`);
  return Number(match[1]);
}

/**
 * Starts the built CLI hub and waits for its ready line.
 *
 * @returns the running hub
 * @throws {@link Error} when the package was not built (`pnpm build`) or the hub did not start
 */
export async function startHubProcess(): Promise<HubProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm build\` first.`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'start',
      '--in-memory',
      '--https-port',
      '0',
      '--mqtt-port',
      '0',
      '--amqp-port',
      '0',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    if (child.stdout === null) throw new Error('no stdout');
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as ReadyLine);
      } catch (error) {
        reject(new Error(`Unexpected hub output: ${line}`, { cause: error }));
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`The hub exited with ${String(code)} before it was ready.`)),
    );
  });
  const pid = child.pid ?? 0;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  return {
    pid,
    ports: {
      https: portOf(ready.endpoints.https),
      mqtt: portOf(ready.endpoints.mqtt),
      amqp: portOf(ready.endpoints.amqp),
    },
    ca: ready.caFile === null ? '' : readFileSync(ready.caFile, 'utf8'),
    serviceConnectionString: ready.serviceConnectionString,
    rssInMiB() {
      const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
