/**
 * Shared fixtures of the end-to-end scenarios: device clients that trust the test hub's CA and
 * reconnect quickly, a registry on the hub, a token provider that can hold reconnects back (so a
 * test decides exactly when a device is offline), a `fetch` over real HTTPS built on node:https
 * (undici is not a dependency of this package), and waits with deadlines instead of sleeps
 * (docs/internals/architecture.md#testing).
 */
import { request as httpsRequest } from 'node:https';
import {
  DeviceClient,
  type ConnectionStateChange,
  type ConnectionStatus,
  type DeviceClientOptions,
  type SasTokenProvider,
} from '@twinkit/device';
import type { TestHub } from '@twinkit/hub/testing';
import { Registry, type FetchLike, type RegistryOptions } from '@twinkit/service';
import type { JsonObject } from '@twinkit/twin-model';
import { createSasToken } from '@twinkit/twin-model/protocol';

/** Reconnect quickly: the scenarios drop connections on purpose and wait for the comeback. */
export const FAST_RETRY = Object.freeze({ retryDelayInMs: 20, maxRetryDelayInMs: 200 });

/** How long a scenario waits for something that should happen within milliseconds. */
export const DEADLINE_IN_MS = 4_000;

/**
 * Options every scenario's device client starts from: trust the hub's development CA, retry
 * fast, and give up on an operation well within a test's time.
 *
 * @param testHub - the hub the device connects to
 * @returns client options; spread and override as needed
 */
export function deviceOptions(testHub: TestHub): DeviceClientOptions {
  return {
    ca: testHub.caCertificate,
    retryOptions: FAST_RETRY,
    operationTimeoutInMs: DEADLINE_IN_MS,
  };
}

/**
 * A device client from a connection string, trusting the hub's CA.
 *
 * @param testHub - the hub
 * @param connectionString - the device's (or module's) connection string
 * @param options - overrides of {@link deviceOptions}
 * @returns a client that is not yet open
 */
export function createDeviceClient(
  testHub: TestHub,
  connectionString: string,
  options: DeviceClientOptions = {},
): DeviceClient {
  return DeviceClient.fromConnectionString(connectionString, {
    ...deviceOptions(testHub),
    ...options,
  });
}

/**
 * The back end: a Registry on the hub's iothubowner policy, in-process (`testHub.fetch`) unless
 * another fetch is given.
 *
 * @param testHub - the hub
 * @param options - registry options, e.g. `fetch: httpsFetch(ca)` for real sockets
 * @returns the registry
 */
export function createRegistry(testHub: TestHub, options: RegistryOptions = {}): Registry {
  return Registry.fromConnectionString(testHub.serviceConnectionString, {
    fetch: testHub.fetch,
    retryOptions: { maxRetries: 0 },
    ...options,
  });
}

/**
 * Sets desired properties as the back end does (a twin PATCH).
 *
 * @param registry - the back end
 * @param deviceId - whose twin
 * @param desired - the merge patch of the desired section
 * @returns the new desired `$version`
 */
export async function patchDesired(
  registry: Registry,
  deviceId: string,
  desired: JsonObject,
): Promise<number> {
  const twin = await registry.updateTwin(deviceId, { properties: { desired } });
  return twin.properties.desired.$version;
}

/**
 * A `fetch` over real HTTPS (node:https) that trusts one CA, for the scenarios where the service
 * side must cross a socket too.
 *
 * @param ca - PEM of the CA to trust
 * @returns a fetch-compatible function for `RegistryOptions.fetch`
 */
export function httpsFetch(ca: string): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const outgoing = httpsRequest(
        new URL(url),
        {
          method: init.method,
          headers: init.headers,
          ca,
          ...(init.signal === undefined ? {} : { signal: init.signal }),
          agent: false,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (value === undefined) continue;
              for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
            }
            const status = incoming.statusCode ?? 502;
            const hasBody = status !== 204 && status !== 304;
            resolve(new Response(hasBody ? Buffer.concat(chunks) : null, { status, headers }));
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(init.body);
    });
}

/**
 * A SAS token provider that can be shut: while shut, every token request waits, so a device
 * that lost its connection stays offline until the test opens the gate again. Counts requests,
 * so a test can tell that the client asked for a fresh token.
 */
export class TokenGate {
  readonly #key: string;
  #shut = false;
  #waiters: (() => void)[] = [];
  #lastExpiry = 0;
  /** How many tokens were asked for. */
  requests = 0;
  /** The tokens handed out, in order. */
  readonly tokens: string[] = [];
  /** How many requests are waiting at the gate right now. */
  waiting = 0;

  /**
   * @param primaryKey - the device's key, to sign with
   */
  constructor(primaryKey: string) {
    this.#key = primaryKey;
  }

  /** Makes the next token requests wait. */
  shut(): void {
    this.#shut = true;
  }

  /** Lets waiting and later token requests through. */
  open(): void {
    this.#shut = false;
    for (const resume of this.#waiters.splice(0)) resume();
  }

  /** The provider to pass to `DeviceClient.fromTokenProvider`. */
  readonly provider: SasTokenProvider = async ({ resourceUri, abortSignal }) => {
    this.requests += 1;
    if (this.#shut) {
      this.waiting += 1;
      try {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            reject(abortSignal?.reason as Error);
          };
          abortSignal?.addEventListener('abort', onAbort, { once: true });
          this.#waiters.push(() => {
            abortSignal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      } finally {
        this.waiting -= 1;
      }
    }
    // Every token differs from the last, even when two are signed within the same second.
    this.#lastExpiry = Math.max(Math.floor(Date.now() / 1000) + 3600, this.#lastExpiry + 1);
    const token = await createSasToken({
      resourceUri,
      key: this.#key,
      expiresOnInSeconds: this.#lastExpiry,
    });
    this.tokens.push(token);
    return token;
  };
}

/**
 * Resolves once the client reaches a connection state (at once when it is there already).
 *
 * @param client - the device client
 * @param state - the state to wait for
 * @param timeoutInMs - the deadline
 * @returns settles when the state is reached; rejects after the deadline
 */
export function waitForState(
  client: DeviceClient,
  state: ConnectionStatus,
  timeoutInMs = DEADLINE_IN_MS,
): Promise<void> {
  if (client.connectionState === state) return Promise.resolve();
  return waitForStateChange(client, (change) => change.state === state, timeoutInMs).then(
    () => undefined,
  );
}

/**
 * Resolves with the first connection-state change that matches.
 *
 * @param client - the device client
 * @param matches - which change to wait for
 * @param timeoutInMs - the deadline
 * @returns the change; rejects after the deadline
 */
export function waitForStateChange(
  client: DeviceClient,
  matches: (change: ConnectionStateChange) => boolean,
  timeoutInMs = DEADLINE_IN_MS,
): Promise<ConnectionStateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `no matching connectionStateChange within ${String(timeoutInMs)} ms (state: ${client.connectionState})`,
        ),
      );
    }, timeoutInMs);
    const off = client.on('connectionStateChange', (change) => {
      if (!matches(change)) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

/**
 * Records every connection-state change of a client, for assertions on the reasons.
 *
 * @param client - the device client
 * @returns the live list of changes
 */
export function recordStates(client: DeviceClient): ConnectionStateChange[] {
  const changes: ConnectionStateChange[] = [];
  client.on('connectionStateChange', (change) => changes.push(change));
  return changes;
}
