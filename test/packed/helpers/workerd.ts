/**
 * A worker in workerd, configured the way a wrangler-less app would: a capnp config with the
 * bundled worker and an outbound network service that trusts the hub's CA through
 * `tlsOptions.trustedCertificates` (workerd's own trust setting; nothing is left unverified).
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import workerdBinary from 'workerd';

/** A running workerd serving one worker on a loopback port. */
export interface Workerd extends AsyncDisposable {
  readonly url: string;
}

const LISTEN_TIMEOUT_IN_MS = 30_000;

function capnpConfig(compatibilityDate: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .twinkitWorker),
    # Outbound traffic: loopback only, trusting the local hub's development CA.
    (name = "internet", network = (allow = ["local"], tlsOptions = (trustedCertificates = [embed "ca.pem"]))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const twinkitWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${compatibilityDate}",
  globalOutbound = "internet",
);
`;
}

/**
 * Starts workerd with `workerCode` and the CA in `caFile`. workerd binds port 0 and reports the
 * port it got on its control file descriptor (as wrangler's miniflare reads it).
 */
export async function startWorkerd(workerCode: string, caFile: string): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), 'twinkit-packed-workerd-'));
  await writeFile(join(dir, 'worker.js'), workerCode);
  await copyFile(caFile, join(dir, 'ca.pem'));
  await writeFile(join(dir, 'config.capnp'), capnpConfig('2025-09-01'));
  // The npm package's default export is the platform binary's path; its bin script is a Node
  // wrapper that would not pass the control descriptor on.
  const child = spawn(workerdBinary, ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const control = createInterface({ input: child.stdio[3] as Readable });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`workerd did not listen.\n${stderr}`)),
        LISTEN_TIMEOUT_IN_MS,
      );
      control.on('line', (line) => {
        const event = JSON.parse(line) as { event?: string; socket?: string; port?: number };
        if (event.event === 'listen' && event.socket === 'http' && event.port !== undefined) {
          clearTimeout(timer);
          resolve(event.port);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`workerd exited (${String(code)}).\n${stderr}`));
      });
    });
    return {
      url: `http://127.0.0.1:${String(port)}/`,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
