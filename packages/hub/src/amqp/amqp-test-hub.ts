/**
 * Test support for the AMQP endpoint and the device AMQP transport: a real hub served on
 * 127.0.0.1 port 0 (HTTPS plus AMQP over TLS), with the AMQP endpoint registered when the hub
 * does not register one itself, SAS tokens, and the service REST call that drives desired
 * changes. Not part of the package's public API.
 *
 * @internal
 */
import type { JsonObject } from '@twinkit/twin-model';
import { createSasToken, parseServiceConnectionString } from '@twinkit/twin-model/protocol';
import { createHub, hubInternals, type Hub } from '../hub.js';
import type { HubCore } from '../hub-core.js';
import { listen, type HubServer, type ListenOptions } from '../node/listen.js';
import { attachAmqpEndpoint, findAmqpEndpoint, type AmqpEndpoint } from './amqp-endpoint.js';
import type { AmqpIdentity } from './amqp-faults.js';

/** An identity with the key its tokens are signed with. */
export interface KeyedAmqpIdentity extends AmqpIdentity {
  readonly key: string;
}

/** A served hub with helpers for AMQP tests. */
export interface AmqpTestHub extends AsyncDisposable {
  readonly hub: Hub;
  readonly core: HubCore;
  readonly server: HubServer;
  readonly endpoint: AmqpEndpoint;
  readonly amqpPort: number;
  readonly httpsPort: number;
  /**
   * Registers a device and returns it with its primary key.
   *
   * @param deviceId - the id
   * @param options - initial status
   */
  createDevice(deviceId: string, options?: { status?: 'enabled' | 'disabled' }): Promise<KeyedAmqpIdentity>;
  /**
   * Registers a module and returns it with its primary key.
   *
   * @param deviceId - the device
   * @param moduleId - the module
   */
  createModule(deviceId: string, moduleId: string): Promise<KeyedAmqpIdentity>;
  /**
   * A device SAS token signed the way the Node SDK signs it (`sr` URL-encoded).
   *
   * @param identity - identity and key
   * @param expiresOnInSeconds - expiry; default one hour from now
   */
  deviceToken(identity: KeyedAmqpIdentity, expiresOnInSeconds?: number): Promise<string>;
  /**
   * As the service: PATCHes the twin's desired properties through `hub.fetch`.
   *
   * @param identity - the device or module
   * @param desired - the desired patch
   */
  updateDesired(identity: AmqpIdentity, desired: JsonObject): Promise<void>;
  /** Closes the endpoint, the server and the hub. */
  close(): Promise<void>;
}

/**
 * Starts an in-memory hub serving HTTPS and AMQP on 127.0.0.1 with ephemeral ports.
 *
 * @param listenOptions - extra `listen()` options (ports)
 * @returns the test hub; dispose it with `await using`
 */
export async function startAmqpTestHub(listenOptions: ListenOptions = {}): Promise<AmqpTestHub> {
  const hub = await createHub();
  const { core } = hubInternals(hub);
  const endpoint = findAmqpEndpoint(core) ?? attachAmqpEndpoint(core);
  let server: HubServer;
  try {
    server = await listen(hub, { host: '127.0.0.1', httpsPort: 0, mqttPort: 0, amqpPort: 0, ...listenOptions });
  } catch (error) {
    await endpoint.close();
    await hub.close();
    throw error;
  }
  const amqpPort = server.ports.amqp;
  if (amqpPort === undefined) throw new Error('The hub did not start its AMQP endpoint.');
  const service = parseServiceConnectionString(hub.serviceConnectionString);
  const serviceToken = () =>
    createSasToken({
      resourceUri: hub.hostName,
      key: service.sharedAccessKey,
      keyName: service.sharedAccessKeyName,
      expiresOnInSeconds: Math.floor(Date.now() / 1000) + 3600,
    });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await endpoint.close();
      await server.close();
      await hub.close();
    })();
    return closing;
  };
  return {
    hub,
    core,
    server,
    endpoint,
    amqpPort,
    httpsPort: server.ports.https,
    async createDevice(deviceId, options) {
      const created = await hub.createDevice(deviceId, options);
      return { deviceId, key: created.primaryKey };
    },
    async createModule(deviceId, moduleId) {
      const created = await hub.createModule(deviceId, moduleId);
      return { deviceId, moduleId, key: created.primaryKey };
    },
    deviceToken(identity, expiresOnInSeconds) {
      const path = `${hub.hostName}/devices/${identity.deviceId}${identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`}`;
      return createSasToken({
        resourceUri: path,
        key: identity.key,
        expiresOnInSeconds: expiresOnInSeconds ?? Math.floor(Date.now() / 1000) + 3600,
      });
    },
    async updateDesired(identity, desired) {
      const path = `/twins/${encodeURIComponent(identity.deviceId)}${
        identity.moduleId === undefined ? '' : `/modules/${encodeURIComponent(identity.moduleId)}`
      }?api-version=2021-04-12`;
      const response = await hub.fetch(
        new Request(`https://${hub.hostName}${path}`, {
          method: 'PATCH',
          headers: { authorization: await serviceToken(), 'content-type': 'application/json' },
          body: JSON.stringify({ properties: { desired } }),
        }),
      );
      if (!response.ok) throw new Error(`Desired update failed with ${String(response.status)}: ${await response.text()}`);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
