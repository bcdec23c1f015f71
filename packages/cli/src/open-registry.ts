/**
 * The Registry a command talks to: the hub named by `--hub` or `IOTHUB_CONNECTION_STRING`, and,
 * with `--ca`, TLS that trusts that CA (the local hub's development CA) besides the public ones.
 */
import { rootCertificates } from 'node:tls';
import { Registry, type FetchLike } from '@twinkit/service';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CliIo } from './cli-io.js';
import { UsageError } from './usage-error.js';

/** The connection options every command takes. */
export interface HubSelection {
  hub?: string | undefined;
  ca?: string | undefined;
}

/** An open Registry and what to release when the command ends. */
export interface OpenRegistry extends AsyncDisposable {
  registry: Registry;
}

/**
 * Opens a Registry for a command.
 *
 * @param selection - `--hub` and `--ca`
 * @param io - environment and file access
 * @returns the registry, disposable
 * @throws {@link UsageError} without a connection string, or with one that does not parse
 */
export async function openRegistry(selection: HubSelection, io: CliIo): Promise<OpenRegistry> {
  const connectionString = selection.hub ?? io.env.IOTHUB_CONNECTION_STRING;
  if (connectionString === undefined || connectionString.trim() === '') {
    throw new UsageError(
      'No hub given: pass --hub "<service connection string>" or set IOTHUB_CONNECTION_STRING',
    );
  }
  let agent: Agent | undefined;
  let fetch: FetchLike | undefined;
  if (selection.ca !== undefined) {
    const ca = await readCa(selection.ca, io);
    // Node's `ca` replaces the default roots: keep them, so --ca adds trust and removes none.
    agent = new Agent({ connect: { ca: [...rootCertificates, ca] } });
    const dispatcher = agent;
    // undici's Response is the class Node's global fetch returns too; only the types differ.
    fetch = async (url, init) =>
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      await undiciFetch(url, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher,
      });
  }
  let registry: Registry;
  try {
    registry = Registry.fromConnectionString(
      connectionString,
      fetch === undefined ? {} : { fetch },
    );
  } catch (error) {
    await agent?.close();
    throw new UsageError(
      `The hub connection string is not valid (${error instanceof Error ? error.message : String(error)}); it looks like HostName=<hub>;SharedAccessKeyName=<policy>;SharedAccessKey=<key>`,
    );
  }
  return {
    registry,
    async [Symbol.asyncDispose]() {
      await agent?.close();
    },
  };
}

async function readCa(path: string, io: CliIo): Promise<string> {
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new UsageError(`--ca ${path}: cannot read the file (${code})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(
      `--ca ${path}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
    );
  }
  return text;
}
