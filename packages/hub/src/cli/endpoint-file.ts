/**
 * `endpoint.json`: what a running CLI hub writes into its data directory so that
 * `twinkit-hub device create` (and other tools) can reach it: its URLs, the service connection
 * string, the CA file. Readable by the owner only, since it holds a key.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file name inside the data directory. */
export const ENDPOINT_FILE_NAME = 'endpoint.json';

/** What a running hub advertises. */
export interface EndpointInfo {
  pid: number;
  hostName: string;
  /** Base URL of the REST API as bound, e.g. `https://127.0.0.1:8443`. */
  https: string;
  plainHttp: boolean;
  /** `HostName=<host>:<port>;SharedAccessKeyName=iothubowner;SharedAccessKey=…`. */
  serviceConnectionString: string;
  caFile: string;
  mqttPort?: number;
  amqpPort?: number;
}

/**
 * Writes the endpoint file (atomically: a reader never sees half of it).
 *
 * @param dataDir - the data directory
 * @param info - what to advertise
 * @returns the file path
 */
export function writeEndpointFile(dataDir: string, info: EndpointInfo): string {
  const file = join(dataDir, ENDPOINT_FILE_NAME);
  const temporary = `${file}.${String(process.pid)}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return file;
}

/**
 * Removes the endpoint file if this process wrote it.
 *
 * @param dataDir - the data directory
 */
export function removeEndpointFile(dataDir: string): void {
  const file = join(dataDir, ENDPOINT_FILE_NAME);
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<EndpointInfo>;
    if (info.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Missing or unreadable: nothing of ours to remove.
  }
}

/**
 * Reads the endpoint file of a data directory.
 *
 * @param dataDir - the data directory
 * @returns the info, `'missing'` when there is no file, `'unreadable'` when it is not ours
 */
export function readEndpointFile(dataDir: string): EndpointInfo | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(join(dataDir, ENDPOINT_FILE_NAME), 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const info = JSON.parse(text) as Partial<EndpointInfo>;
    if (
      typeof info.pid !== 'number' ||
      typeof info.https !== 'string' ||
      typeof info.serviceConnectionString !== 'string'
    )
      return 'unreadable';
    return info as EndpointInfo;
  } catch {
    return 'unreadable';
  }
}

/**
 * Whether a process is alive (EPERM: alive, owned by another user).
 *
 * @param pid - the process id
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
