/**
 * The installed `twinkit-hub` bin as a child process: started with ports 0 and a temporary
 * `--data` directory, ready when it prints its JSON readiness line, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runProgram } from './run-program.ts';

/** The readiness line `twinkit-hub start --json` prints. */
export interface Readiness {
  serviceConnectionString: string;
  caFile: string;
  endpoints: { https: string; mqtt: string; amqp: string; explorer: string };
  dataDir: string;
}

/** A device as `twinkit-hub device create --json` prints it. */
export interface CreatedDevice {
  deviceId: string;
  connectionString: string;
  primaryKey: string;
}

/** A running CLI hub. */
export interface CliHub extends AsyncDisposable {
  readonly readiness: Readiness;
  readonly dataDir: string;
  /** Ports the hub serves, from the readiness line. */
  readonly ports: { https: number; mqtt: number; amqp: number };
  /** Runs `twinkit-hub device create <id> --data <dataDir> --json`. */
  createDevice(deviceId: string): Promise<CreatedDevice>;
}

/** Options of {@link startCliHub}. */
export interface StartCliHubOptions {
  /** `--cors` origins. */
  corsOrigins?: readonly string[];
}

const READY_TIMEOUT_IN_MS = 60_000;
const STOP_TIMEOUT_IN_MS = 10_000;

/** The installed bin, as npm linked it into the app. */
export function hubBin(appDir: string): string {
  return join(appDir, 'node_modules/.bin/twinkit-hub');
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_IN_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `twinkit-hub start --data <tmp> --json` with every port 0 from the installed app and
 * waits for the readiness line.
 *
 * @throws Error with the hub's output when it exits or stays silent for 60 s
 */
export async function startCliHub(
  appDir: string,
  options: StartCliHubOptions = {},
): Promise<CliHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'twinkit-packed-hub-'));
  const args = [
    'start',
    '--data',
    dataDir,
    '--json',
    '--https-port',
    '0',
    '--mqtt-port',
    '0',
    '--amqp-port',
    '0',
  ];
  for (const origin of options.corsOrigins ?? []) args.push('--cors', origin);
  const child = spawn(hubBin(appDir), args, { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout });
  try {
    const readiness = await new Promise<Readiness>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `twinkit-hub printed no readiness line within ${String(READY_TIMEOUT_IN_MS)} ms.\n${stderr}`,
          ),
        );
      }, READY_TIMEOUT_IN_MS);
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line) as Readiness);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `twinkit-hub exited (${String(code ?? signal)}) before it was ready.\n${stderr}`,
          ),
        );
      });
    });
    return {
      readiness,
      dataDir,
      ports: {
        https: portOf(readiness.endpoints.https),
        mqtt: portOf(readiness.endpoints.mqtt),
        amqp: portOf(readiness.endpoints.amqp),
      },
      async createDevice(deviceId) {
        const output = await runProgram(
          hubBin(appDir),
          ['device', 'create', deviceId, '--data', dataDir, '--json'],
          { cwd: appDir },
        );
        if (output.exitCode !== 0) {
          throw new Error(
            `device create ${deviceId} failed (${String(output.exitCode)}): ${output.stderr}`,
          );
        }
        return JSON.parse(output.stdout) as CreatedDevice;
      },
      async [Symbol.asyncDispose]() {
        lines.close();
        await stop(child);
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    lines.close();
    await stop(child);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
