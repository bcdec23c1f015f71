/**
 * The two flows every runtime of the matrix runs, importing only the installed packages (this
 * file is copied into the temporary app, so bare specifiers resolve from its node_modules). Each
 * runtime's entry program calls them and reports the returned object as one JSON result line.
 * Nothing here disables TLS verification: each runtime trusts the hub's CA its own way.
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { PreconditionFailedError, Registry, createDeviceConnectionString } from '@twinkit/service';

/** The line prefix the test looks for in a runtime's output. */
export const RESULT_PREFIX = 'TWINKIT_RESULT ';

/** How long the device waits for the desired change the service makes (the flow's only wait). */
const DESIRED_DEADLINE_IN_MS = 20_000;

/**
 * What refused `operation`: its error's name, status and class, or `{ refused: false }`.
 *
 * @param {() => Promise<unknown>} operation
 */
async function refusal(operation) {
  try {
    await operation();
    return { refused: false };
  } catch (error) {
    return {
      name: error?.name,
      statusCode: error?.statusCode,
      isPreconditionFailedError: error instanceof PreconditionFailedError,
    };
  }
}

/**
 * Service flow: creates `deviceCount` devices tagged with `prefix`, reads a twin, updates it with
 * its ETag, is refused (412) on a second update with the same stale ETag, and queries the tagged
 * twins in pages of `pageSize`.
 *
 * @param {Registry} registry - a registry for the hub under test
 * @param {{ prefix: string, deviceCount: number, pageSize: number }} settings
 */
export async function serviceFlow(registry, { prefix, deviceCount, pageSize }) {
  const ids = Array.from({ length: deviceCount }, (_, index) => `${prefix}-${String(index)}`);
  for (const id of ids) {
    await registry.createDevice(id);
    await registry.updateTwin(id, { tags: { run: prefix } });
  }
  const twin = await registry.getTwin(ids[0]);
  const updated = await registry.updateTwin(
    twin,
    { properties: { desired: { mode: 'eco' } } },
    { onlyIfUnchanged: true },
  );
  const stale = await refusal(() =>
    registry.updateTwin(
      twin,
      { properties: { desired: { mode: 'turbo' } } },
      { onlyIfUnchanged: true },
    ),
  );
  const after = await registry.getTwin(ids[0]);
  const pages = [];
  const query = registry.queryTwins(`SELECT * FROM devices WHERE tags.run = '${prefix}'`);
  for await (const page of query.byPage({ maxPageSize: pageSize })) {
    pages.push(page.items.map((item) => item.deviceId).sort());
  }
  return {
    etagChanged: typeof updated.etag === 'string' && updated.etag !== twin.etag,
    desiredMode: after.properties.desired.mode,
    stale,
    pages,
  };
}

/**
 * Device flow: creates a device through the registry, opens it with `transport`, reads its twin,
 * reports `{ runtime: label }`, checks the service sees the report, then the service sets a
 * desired `color` (with the ETag it read) and the device must receive it.
 *
 * @param {Registry} registry - a registry for the hub under test
 * @param {{ deviceId: string, label: string, transport: unknown, connectionString?: string, deviceOptions?: object }} settings
 *   `connectionString` defaults to one built from the new identity and `registry.hostName`
 *   (the HTTPS port, which serves MQTT and AMQP over WebSocket).
 */
export async function deviceFlow(registry, settings) {
  const { deviceId, label, transport } = settings;
  let connectionString = settings.connectionString;
  if (connectionString === undefined) {
    const identity = await registry.createDevice(deviceId);
    connectionString = createDeviceConnectionString(identity, registry.hostName);
  }
  const device = DeviceClient.fromConnectionString(connectionString, {
    ...settings.deviceOptions,
    transport,
  });
  let received;
  const color = new Promise((resolve) => {
    received = resolve;
  });
  device.onDesired('color', (change) => received(change.value));
  await device.open();
  try {
    const twin = await device.getTwin();
    const report = await device.updateReportedProperties({ runtime: label });
    const seen = await registry.getTwin(deviceId);
    await registry.updateTwin(
      seen,
      { properties: { desired: { color: `green-${label}` } } },
      { onlyIfUnchanged: true },
    );
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(
        () => resolve('(no desired change within the deadline)'),
        DESIRED_DEADLINE_IN_MS,
      );
    });
    const desiredColor = await Promise.race([color, deadline]);
    clearTimeout(timer);
    // `seen` is stale now: the same conditional update must be refused, and nothing change.
    const staleUpdate = await refusal(() =>
      registry.updateTwin(
        seen,
        { properties: { desired: { color: 'stale' } } },
        { onlyIfUnchanged: true },
      ),
    );
    return {
      openedDesiredVersion: twin.desired.$version,
      reportedVersion: report.version,
      serviceSawReported: seen.properties.reported.runtime,
      serviceSawReportedVersion: seen.properties.reported.$version,
      desiredColor,
      staleUpdate,
    };
  } finally {
    await device.close();
  }
}

/**
 * Runs both flows for one runtime: the service flow, then the device flow over MQTT on
 * WebSocket.
 *
 * @param {{ serviceConnectionString: string, prefix: string, label: string }} config
 * @param {object} [registryOptions] - e.g. `{ fetch }`
 */
export async function runtimeFlows(config, registryOptions) {
  const registry = Registry.fromConnectionString(config.serviceConnectionString, registryOptions);
  const service = await serviceFlow(registry, {
    prefix: config.prefix,
    deviceCount: 5,
    pageSize: 2,
  });
  const device = await deviceFlow(registry, {
    deviceId: `${config.prefix}-device`,
    label: config.label,
    transport: mqtt({ webSocket: true }),
  });
  return { service, device };
}

/**
 * Serializes an error for the result line (name, message, status, cause chain).
 *
 * @param {unknown} error
 */
export function describeError(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  return {
    name: error.name,
    message: error.message,
    statusCode: error.statusCode,
    cause: error.cause === undefined ? undefined : describeError(error.cause),
  };
}
