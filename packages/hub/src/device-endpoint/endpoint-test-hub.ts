/**
 * Test support shared by the MQTT and AMQP endpoint tests (and the device transports' tests): a
 * real in-memory hub, which wires both device endpoints, served on 127.0.0.1 with ephemeral
 * ports, plus keyed identities, device SAS tokens and service REST calls through `hub.fetch`.
 * `mqtt-test-hub.ts` and `amqp-test-hub.ts` add their protocol's clients on top. Not part of the
 * package's public API.
 *
 * @internal
 */
import {
  API_VERSION,
  API_VERSION_PARAMETER,
  createSasToken,
  HEADER,
  JSON_MEDIA_TYPE,
  parseServiceConnectionString,
} from '@twinkit/twin-model/protocol';
import { createHub, hubInternals, type Hub, type HubOptions } from '../hub.js';
import type { HubCore } from '../hub-core.js';
import { listen, type HubServer, type ListenOptions } from '../node/listen.js';
import type { DeviceIdentity } from './endpoint-support.js';

/** An identity with the key its tokens are signed with. */
export interface KeyedIdentity extends DeviceIdentity {
  readonly key: string;
}

/** A served hub with the helpers every device-endpoint test needs. */
export interface EndpointTestHub extends AsyncDisposable {
  readonly hub: Hub;
  readonly core: HubCore;
  readonly server: HubServer;
  readonly httpsPort: number;
  /**
   * Registers a device and returns it with its primary key.
   *
   * @param deviceId - the id
   * @param options - initial status
   */
  createDevice(
    deviceId: string,
    options?: { status?: 'enabled' | 'disabled' },
  ): Promise<KeyedIdentity>;
  /**
   * Registers a module and returns it with its primary key.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   */
  createModule(deviceId: string, moduleId: string): Promise<KeyedIdentity>;
  /**
   * A device SAS token signed the way the Node SDK signs it (`sr` URL-encoded).
   *
   * @param identity - identity and key
   * @param expiresOnInSeconds - expiry; default one hour from now
   */
  deviceToken(identity: KeyedIdentity, expiresOnInSeconds?: number): Promise<string>;
  /**
   * Sends a service REST request with an `iothubowner` SAS token through `hub.fetch`.
   *
   * @param method - HTTP method
   * @param path - path such as `/twins/dev-1`
   * @param body - JSON body
   * @param headers - extra headers, such as `if-match`
   */
  serviceRequest(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Closes the server and the hub (and with it both endpoints). Idempotent. */
  close(): Promise<void>;
}

const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

/**
 * Creates an in-memory hub and serves it on 127.0.0.1 (every port ephemeral unless told
 * otherwise).
 *
 * @param listenOptions - extra `listen()` options (ports, listener limits)
 * @param hubOptions - `createHub()` options (device endpoint limits)
 * @returns the running hub; dispose of it with `await using`
 * @throws the listen error (e.g. `EADDRINUSE`) after closing the hub
 */
export async function startEndpointTestHub(
  listenOptions: ListenOptions = {},
  hubOptions: HubOptions = {},
): Promise<EndpointTestHub> {
  const hub = await createHub(hubOptions);
  let server: HubServer;
  try {
    server = await listen(hub, {
      host: '127.0.0.1',
      httpsPort: 0,
      mqttPort: 0,
      amqpPort: 0,
      ...listenOptions,
    });
  } catch (error) {
    await hub.close();
    throw error;
  }
  const service = parseServiceConnectionString(hub.serviceConnectionString);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await server.close();
      await hub.close();
    })();
    return closing;
  };
  return {
    hub,
    core: hubInternals(hub).core,
    server,
    httpsPort: server.ports.https,
    async createDevice(deviceId, options) {
      const created = await hub.createDevice(deviceId, options);
      return { deviceId, key: created.primaryKey };
    },
    async createModule(deviceId, moduleId) {
      const created = await hub.createModule(deviceId, moduleId);
      return { deviceId, moduleId, key: created.primaryKey };
    },
    deviceToken(identity, expiresOnInSeconds = inAnHour()) {
      const module = identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`;
      return createSasToken({
        resourceUri: `${hub.hostName}/devices/${identity.deviceId}${module}`,
        key: identity.key,
        expiresOnInSeconds,
      });
    },
    async serviceRequest(method, path, body, headers = {}) {
      const authorization = await createSasToken({
        resourceUri: hub.hostName,
        key: service.sharedAccessKey,
        keyName: service.sharedAccessKeyName,
        expiresOnInSeconds: inAnHour(),
      });
      const separator = path.includes('?') ? '&' : '?';
      const init: RequestInit = {
        method,
        headers: { ...headers, authorization, [HEADER.contentType]: JSON_MEDIA_TYPE },
      };
      if (body !== undefined) init.body = JSON.stringify(body);
      return hub.fetch(
        new Request(
          `https://${hub.hostName}${path}${separator}${API_VERSION_PARAMETER}=${API_VERSION}`,
          init,
        ),
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
