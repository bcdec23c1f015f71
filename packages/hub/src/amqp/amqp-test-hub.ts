/**
 * Test support for the AMQP endpoint and the device AMQP transport: a real hub served on
 * 127.0.0.1 port 0 (HTTPS plus AMQP over TLS), SAS tokens, and the service REST call that
 * drives desired changes. Not part of the package's public API.
 *
 * @internal
 */
import { twinPath } from '@twinkit/twin-model/protocol';
import type { JsonObject } from '@twinkit/twin-model';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import {
  startEndpointTestHub,
  type EndpointTestHub,
} from '../device-endpoint/endpoint-test-hub.js';
import { hubInternals, type HubOptions } from '../hub.js';
import type { ListenOptions } from '../node/listen.js';
import type { AmqpEndpoint } from './amqp-endpoint.js';

/** A served hub with helpers for AMQP tests. */
export interface AmqpTestHub extends EndpointTestHub {
  /** The hub's AMQP endpoint (`hub.faults.amqp` is its `faults`). */
  readonly endpoint: AmqpEndpoint;
  readonly amqpPort: number;
  /**
   * As the service: PATCHes the twin's desired properties through `hub.fetch`.
   *
   * @param identity - the device or module
   * @param desired - the desired patch
   * @throws {@link Error} when the hub does not accept the patch
   */
  updateDesired(identity: DeviceIdentity, desired: JsonObject): Promise<void>;
}

/**
 * Starts an in-memory hub serving HTTPS and AMQP on 127.0.0.1 with ephemeral ports.
 *
 * @param listenOptions - extra `listen()` options (ports, listener limits)
 * @param hubOptions - `createHub()` options (device endpoint limits)
 * @returns the test hub; dispose it with `await using`
 */
export async function startAmqpTestHub(
  listenOptions: ListenOptions = {},
  hubOptions: HubOptions = {},
): Promise<AmqpTestHub> {
  const base = await startEndpointTestHub(listenOptions, hubOptions);
  const amqpPort = base.server.ports.amqp;
  if (amqpPort === undefined) {
    await base.close();
    throw new Error('The hub did not start its AMQP endpoint.');
  }
  return {
    ...base,
    endpoint: hubInternals(base.hub).amqp,
    amqpPort,
    async updateDesired(identity, desired) {
      const path = twinPath(identity.deviceId, identity.moduleId);
      const response = await base.serviceRequest('PATCH', path, { properties: { desired } });
      if (!response.ok)
        throw new Error(
          `Desired update failed with ${String(response.status)}: ${await response.text()}`,
        );
    },
  };
}
