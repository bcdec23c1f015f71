/**
 * The handle the functions of `@twinkit/service/twins` take: a REST client for one hub, kept out
 * of the public declarations (the handle shows only its host). A {@link Registry} is one too, so
 * the functions and the class share one implementation and one pipeline per client.
 */
import { parseServiceKeyConnectionString } from '@twinkit/twin-model/protocol';
import { SasKeyCredential, type RegistryCredential } from '../auth/credentials.js';
import { createRestClient } from '../create-client.js';
import type { RestClient } from '../http/rest-client.js';
import type { RegistryOptions } from '../options.js';

/**
 * A connection to one IoT Hub's twin REST API, for {@link getTwin}, {@link updateTwin},
 * {@link queryTwins} and the other functions of `@twinkit/service/twins`. Make one with
 * {@link createTwinClient} or {@link createTwinClientFromConnectionString}; a `Registry` is one
 * as well. It holds the request pipeline (retries, `Authorization`, logging) and the options.
 */
export interface TwinClient {
  /** The hub host (with `:port` when one was given). */
  readonly hostName: string;
}

/** The REST client behind each handle (a plain handle, or a Registry). */
const restClients = new WeakMap<TwinClient, RestClient>();

/**
 * Makes `target` a handle of `client`.
 *
 * @param target - a new handle or Registry
 * @param client - the REST client its calls go through
 * @internal
 */
export function bindTwinClient(target: TwinClient, client: RestClient): void {
  restClients.set(target, client);
}

/**
 * The REST client behind a handle.
 *
 * @param target - what the caller passed as the client
 * @returns its REST client
 * @throws {@link TypeError} when it was not made by `createTwinClient*` (nor is a `Registry`)
 * @internal
 */
export function restClientOf(target: TwinClient): RestClient {
  const client = restClients.get(target);
  if (client === undefined) {
    throw new TypeError(
      'Pass a client made by createTwinClient or createTwinClientFromConnectionString (or a Registry)',
    );
  }
  return client;
}

/**
 * Creates a client of one hub's twins for the functions of `@twinkit/service/twins`. Takes the
 * same arguments as `new Registry(…)` and does no I/O.
 *
 * @param hostName - the hub host, e.g. `myhub.azure-devices.net`; `host:port` for a local hub
 * @param credential - a shared access policy `{ name, key }` (or {@link SasKeyCredential}), or an
 *   Entra ID `TokenCredential` such as `DefaultAzureCredential`
 * @param options - transport, retries, timeout, user agent, additional policies
 * @returns the client
 * @throws {@link TypeError} when the host name or credential is malformed, or no `fetch` exists
 * @throws {@link RangeError} when a port, timeout or retry setting is out of range
 * @example
 * ```ts
 * import { DefaultAzureCredential } from '@azure/identity';
 * import { createTwinClient, getTwin } from '@twinkit/service/twins';
 *
 * const client = createTwinClient('myhub.azure-devices.net', new DefaultAzureCredential());
 * const twin = await getTwin(client, 'dev-1');
 * ```
 */
export function createTwinClient(
  hostName: string,
  credential: RegistryCredential,
  options: RegistryOptions = {},
): TwinClient {
  const client = createRestClient(hostName, credential, options);
  const handle: TwinClient = Object.freeze({ hostName });
  bindTwinClient(handle, client);
  return handle;
}

/**
 * Creates a client of one hub's twins from a service connection string
 * (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`, docs/internals/wire-contract.md#service-connection-strings).
 *
 * @param connectionString - the hub's shared access policy connection string
 * @param options - transport, retries, timeout, user agent
 * @returns a client signing with that policy's key
 * @throws {@link TypeError} when the connection string is malformed (the message never repeats the key)
 * @example
 * ```ts
 * import { createTwinClientFromConnectionString, getTwin } from '@twinkit/service/twins';
 *
 * const client = createTwinClientFromConnectionString(process.env.IOTHUB_CONNECTION_STRING!);
 * const twin = await getTwin(client, 'dev-1');
 * ```
 */
export function createTwinClientFromConnectionString(
  connectionString: string,
  options?: RegistryOptions,
): TwinClient {
  const parts = parseServiceKeyConnectionString(connectionString);
  return createTwinClient(
    parts.hostName,
    new SasKeyCredential(parts.sharedAccessKeyName, parts.sharedAccessKey),
    options,
  );
}
