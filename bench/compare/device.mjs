// One device client in one process: `node device.mjs <client> <transport> <scenario>`, client
// ours | official | floor, transport mqtt | mqtt-ws | amqp, scenario get | update | inflight |
// desired | memory. BENCH_HUB holds the hub's ready line and device keys (see hub.mjs);
// NODE_EXTRA_CA_CERTS trusts its CA for every client alike.
import { openAmqpFloor } from './amqp-floor.mjs';
import { fromHub, fromService, ours, report, sasToken, sequential } from './shared.mjs';

const [client, transport, scenario] = process.argv.slice(2);
const hub = JSON.parse(process.env.BENCH_HUB);
const scale = Number(process.env.BENCH_SCALE ?? '1');
// URL drops a scheme's default port (https → 443), so it is put back here.
const port = (name) => new URL(hub.endpoints[name]).port || '443';
const gateway = { mqtt: port('mqtt'), 'mqtt-ws': port('https'), amqp: port('amqp') }[transport];
const connectionString = (deviceId) =>
  `HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${hub.keys[deviceId]};GatewayHostName=localhost:${gateway}`;

/** Each client reduced to open, getTwin, report, desired handler and close. */
async function open(deviceId, onDesired) {
  if (client === 'ours') {
    const { DeviceClient, mqtt } = await import(ours.device);
    const factory =
      transport === 'amqp'
        ? (await import(ours.deviceAmqp)).amqp()
        : mqtt({ webSocket: transport === 'mqtt-ws' });
    // BENCH_WINDOW tries another outbox window (maxPatchesInFlight) than the default.
    const device = DeviceClient.fromConnectionString(connectionString(deviceId), {
      transport: factory,
      ...(process.env.BENCH_WINDOW
        ? { outbox: { maxPatchesInFlight: Number(process.env.BENCH_WINDOW) } }
        : {}),
    });
    await device.open();
    if (onDesired !== undefined) {
      device.onDesired((change) => onDesired(change.patch));
      await device.getTwin();
    }
    return {
      get: () => device.getTwin(),
      reportedVersion: async () => (await device.getTwin()).reported.$version,
      report: (patch) => device.updateReportedProperties(patch),
      close: () => device.close(),
    };
  }
  if (client === 'official') {
    // Its MqttWs dials wss://<GatewayHostName or HostName>:443, so it runs only on a hub on 443.
    if (transport === 'mqtt-ws' && gateway !== '443')
      throw new Error('azure-iot-device-mqtt MqttWs dials port 443 only');
    const { Client } = fromHub('azure-iot-device');
    const Protocol =
      transport === 'amqp'
        ? fromHub('azure-iot-device-amqp').Amqp
        : transport === 'mqtt-ws'
          ? fromHub('azure-iot-device-mqtt').MqttWs
          : fromHub('azure-iot-device-mqtt').Mqtt;
    const cs =
      transport === 'mqtt-ws'
        ? connectionString(deviceId).replace(/;GatewayHostName=.*$/, '')
        : connectionString(deviceId);
    const device = Client.fromConnectionString(cs, Protocol);
    await device.open();
    const twin = await device.getTwin();
    if (onDesired !== undefined) twin.on('properties.desired', (patch) => onDesired(patch));
    return {
      get: () => twin.get(),
      reportedVersion: async () => (await twin.get()).properties.reported.$version,
      report: (patch) =>
        new Promise((resolve, reject) =>
          twin.properties.reported.update(patch, (error) => (error ? reject(error) : resolve())),
        ),
      close: () => device.close(),
    };
  }
  if (client === 'floor') return openFloor(deviceId, onDesired);
  throw new Error(`unknown client ${client}`);
}

/** mqtt.js publishing IoT Hub's twin topics by hand (rhea by hand for AMQP): the least a client can do. */
async function openFloor(deviceId, onDesired) {
  if (transport === 'amqp')
    return openAmqpFloor({ port: gateway, deviceId, key: hub.keys[deviceId], onDesired });
  const mqtt = fromHub('mqtt');
  const url =
    transport === 'mqtt-ws'
      ? `wss://localhost:${gateway}/$iothub/websocket`
      : `mqtts://localhost:${gateway}`;
  const connection = await mqtt.connectAsync(url, {
    clientId: deviceId,
    username: `localhost/${deviceId}/?api-version=2021-04-12`,
    password: sasToken(`localhost/devices/${deviceId}`, hub.keys[deviceId]),
    protocolVersion: 4,
    clean: false,
    reconnectPeriod: 0,
  });
  const pending = new Map();
  let rid = 0;
  connection.on('message', (topic, payload) => {
    if (topic.startsWith('$iothub/twin/res/')) {
      const id = /\$rid=(\d+)/.exec(topic)?.[1];
      pending.get(id)?.(payload);
      pending.delete(id);
    } else if (onDesired !== undefined) onDesired(JSON.parse(payload.toString()));
  });
  await connection.subscribeAsync('$iothub/twin/res/#');
  if (onDesired !== undefined)
    await connection.subscribeAsync('$iothub/twin/PATCH/properties/desired/#');
  const request = (topic, body) =>
    new Promise((resolve) => {
      const id = String((rid += 1));
      pending.set(id, (payload) =>
        resolve(payload.length === 0 ? undefined : JSON.parse(payload.toString())),
      );
      connection.publish(`${topic}?$rid=${id}`, body);
    });
  return {
    get: () => request('$iothub/twin/GET/', ''),
    reportedVersion: async () => (await request('$iothub/twin/GET/', '')).reported.$version,
    report: (patch) => request('$iothub/twin/PATCH/properties/reported/', JSON.stringify(patch)),
    close: () => connection.endAsync(),
  };
}

const deviceId = `q-${Number(process.env.BENCH_DEVICE ?? '1')}`;
if (scenario === 'get' || scenario === 'update') {
  const device = await open(deviceId);
  const call = scenario === 'get' ? () => device.get() : (i) => device.report({ n: i });
  // Every client gets faster for its first few thousand calls, as V8 compiles its hot paths;
  // 5,000 unmeasured calls first, so the figures are the steady state of a long-running device.
  report(await sequential(call, Math.round(5000 * scale), Math.round(3000 * scale)));
  await device.close();
} else if (scenario === 'inflight') {
  // 16 calls at a time, each batch awaited: calls acknowledged per second.
  const device = await open(deviceId);
  const batches = Math.round(1000 * scale);
  const batch = (b) =>
    Promise.all(Array.from({ length: 16 }, (_, k) => device.report({ n: b * 16 + k })));
  for (let b = 0; b < Math.round(1000 * scale); b += 1) await batch(b);
  const versionBefore = await device.reportedVersion();
  const start = performance.now();
  for (let b = 0; b < batches; b += 1) await batch(b);
  const seconds = (performance.now() - start) / 1000;
  // Each write the hub applied took one reported $version.
  const writes = (await device.reportedVersion()) - versionBefore;
  report({ opsPerSecond: (batches * 16) / seconds, writesPerSecond: writes / seconds });
  await device.close();
} else if (scenario === 'desired') {
  // The service (raw undici, in this process) PATCHes desired; time until the device sees it.
  const { Agent } = fromService('undici');
  const agent = new Agent();
  const authorization = sasToken('localhost', hub.serviceKey, hub.serviceKeyName);
  let seen;
  const device = await open(deviceId, (patch) => seen?.(patch));
  const times = [];
  const rounds = Math.round(200 * scale);
  for (let i = 0; i < rounds + 20; i += 1) {
    const arrived = new Promise((resolve) => (seen = resolve));
    const start = performance.now();
    const response = await agent.request({
      origin: `https://localhost:${port('https')}`,
      method: 'PATCH',
      path: `/twins/${deviceId}?api-version=2021-04-12`,
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { desired: { n: i } } }),
    });
    await response.body.text();
    await arrived;
    if (i >= 20) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  report({ p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] });
  await device.close();
  await agent.close();
} else if (scenario === 'memory') {
  // RSS per connected client: 40 clients opened in this process, after a GC.
  const count = 40;
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const devices = [];
  for (let i = 0; i < count; i += 1) devices.push(await open(`q-${20 + i}`));
  await new Promise((resolve) => setTimeout(resolve, 500));
  globalThis.gc?.();
  report({ kbPerClient: (process.memoryUsage().rss - before) / 1024 / count });
  for (const device of devices) await device.close();
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
process.exit(0);
