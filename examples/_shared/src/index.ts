/**
 * @module @twinkit/example-shared
 *
 * What every example shares, kept small on purpose:
 *
 * - {@link openPlayground}: an in-process IoT Hub on 127.0.0.1 (ephemeral ports, nothing to
 *   configure), or a real IoT Hub when `IOTHUB_CONNECTION_STRING` (service) and
 *   `IOTHUB_DEVICE_CONNECTION_STRING` (one device) are set;
 * - {@link check}: print what was observed, throw when it is not what the example expects;
 * - {@link within} and {@link deferred}: wait for an event with a deadline instead of sleeping.
 */
import type { DeviceClientOptions } from '@twinkit/device';
import { startTestHub, type StartTestHubOptions, type TestHub } from '@twinkit/hub/testing';
import { Registry, type RegistryOptions } from '@twinkit/service';
import { parseDeviceConnectionString } from '@twinkit/twin-model/protocol';

/** A device the example may connect as. */
export interface ExampleDevice {
  deviceId: string;
  /** `HostName=…;DeviceId=…;SharedAccessKey=…` */
  connectionString: string;
}

/** Where an example runs: the hub, a back end on it, and how devices connect to it. */
export interface Playground extends AsyncDisposable {
  /** `local` for the in-process hub, `azure` for a hub named by connection strings. */
  readonly kind: 'local' | 'azure';
  /** The back end: a Registry with the service connection string. */
  readonly registry: Registry;
  /** What every DeviceClient here needs: the local hub's development CA; nothing for Azure. */
  readonly deviceOptions: DeviceClientOptions;
  /** The in-process hub (fault injection, ports), when `kind` is `local`. */
  readonly testHub: TestHub | undefined;
  /**
   * Registers a device on the local hub. Against Azure it returns the one device from the
   * device connection string, whatever id was asked for.
   *
   * @param deviceId - the id to register locally
   * @returns the device id and its connection string
   */
  addDevice(deviceId: string): Promise<ExampleDevice>;
  /** Stops the local hub (nothing to do for Azure). */
  close(): Promise<void>;
}

/** Options of {@link openPlayground}. */
export interface PlaygroundOptions {
  /** Service connection string; default `process.env.IOTHUB_CONNECTION_STRING`. */
  serviceConnectionString?: string | undefined;
  /** Device connection string; default `process.env.IOTHUB_DEVICE_CONNECTION_STRING`. */
  deviceConnectionString?: string | undefined;
  /** Options of the in-process hub, e.g. `tokenIssuer`. */
  hub?: StartTestHubOptions;
  /** Options of the registry. */
  registry?: RegistryOptions;
}

/**
 * Starts an in-process hub listening on 127.0.0.1 (port 0), or connects to the IoT Hub named by
 * the two connection strings. The back end reaches the local hub through `hub.fetch`, the
 * same REST handler its HTTPS port serves, so it needs no CA; devices connect over real MQTT/TLS.
 *
 * @param options - connection strings (default: the environment), hub and registry options
 * @returns the playground; dispose it with `await using`
 * @throws {@link Error} when only one of the two connection strings is given
 */
export async function openPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  // An empty variable counts as unset.
  const orUnset = (value: string | undefined) => (value === '' ? undefined : value);
  const service = orUnset(options.serviceConnectionString ?? process.env.IOTHUB_CONNECTION_STRING);
  const device = orUnset(
    options.deviceConnectionString ?? process.env.IOTHUB_DEVICE_CONNECTION_STRING,
  );
  if ((service === undefined) !== (device === undefined)) {
    throw new Error(
      'Set both IOTHUB_CONNECTION_STRING (service) and IOTHUB_DEVICE_CONNECTION_STRING (device) to run against an IoT Hub, or neither to use the in-process hub.',
    );
  }
  if (service !== undefined && device !== undefined) {
    const { deviceId } = parseDeviceConnectionString(device);
    const registry = Registry.fromConnectionString(service, options.registry);
    console.log(`Using the IoT Hub ${registry.hostName} and its device '${deviceId}'.`);
    const close = async () => {};
    return {
      kind: 'azure',
      registry,
      deviceOptions: {},
      testHub: undefined,
      addDevice: async () => ({ deviceId, connectionString: device }),
      close,
      [Symbol.asyncDispose]: close,
    };
  }
  const testHub = await startTestHub(options.hub);
  console.log(
    `Started an in-process IoT Hub: HTTPS on 127.0.0.1:${String(testHub.httpsPort)}, MQTT on 127.0.0.1:${String(testHub.mqttPort)}.`,
  );
  const registry = Registry.fromConnectionString(testHub.serviceConnectionString, {
    fetch: (input, init) => testHub.hub.fetch(input, init),
    ...options.registry,
  });
  const close = () => testHub.close();
  return {
    kind: 'local',
    registry,
    deviceOptions: { ca: testHub.caCertificate },
    testHub,
    addDevice: async (deviceId) => ({
      deviceId,
      connectionString: (await testHub.createDevice(deviceId)).connectionString,
    }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Prints `✓ what` when `condition` holds, and throws otherwise: examples check every result.
 *
 * @param condition - what the example expects
 * @param what - a plain sentence with the data that was seen
 * @throws {@link Error} when the condition is false
 */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`Unexpected result: ${what}`);
  console.log(`  ✓ ${what}`);
}

/**
 * Waits for a promise, but no longer than a deadline.
 *
 * @param promise - what to wait for
 * @param what - what is awaited, for the error message
 * @param timeoutInMs - the deadline; default 10 s
 * @returns the promise's value
 * @throws {@link Error} when the deadline passes first
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  timeoutInMs = 10_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`Timed out after ${String(timeoutInMs)} ms waiting for ${what}`));
    }, timeoutInMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise and the function that resolves it, to hand to an event handler. */
export interface Deferred<T> {
  promise: Promise<T>;
  /** Resolves `promise`; later calls are ignored. */
  resolve: (value: T) => void;
}

/**
 * Makes a promise an event handler can resolve: pass `resolve` as the handler, then
 * `await within(promise, …)`.
 *
 * @returns the promise and its resolver
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
