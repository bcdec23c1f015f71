import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import type { JsonObject } from '@twinkit/twin-model';
import {
  createSasToken,
  deviceResourceUri,
  parseServiceConnectionString,
  twinPath,
  withApiVersion,
} from '@twinkit/twin-model/protocol';
import type { ConnectParams } from '../transport.js';
import { describeTransportContract, type TransportContractFixture } from '../transport.contract.js';
import { mqtt } from './index.js';

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** As the back end: PATCH desired through the hub's REST API, signed with the service policy. */
async function patchDesired(testHub: TestHub, deviceId: string, patch: JsonObject): Promise<void> {
  const service = parseServiceConnectionString(testHub.hub.serviceConnectionString);
  const authorization = await createSasToken({
    resourceUri: service.hostName,
    key: service.sharedAccessKey,
    keyName: service.sharedAccessKeyName,
    expiresOnInSeconds: inAnHour(),
  });
  const response = await testHub.fetch(
    new Request(`https://localhost${withApiVersion(twinPath(deviceId))}`, {
      method: 'PATCH',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { desired: patch } }),
    }),
  );
  if (response.status !== 200) throw new Error(`desired PATCH failed: ${String(response.status)}`);
}

async function hubFixture(webSocket: boolean): Promise<TransportContractFixture> {
  const testHub = await startTestHub();
  const port = webSocket ? testHub.httpsPort : testHub.mqttPort;
  if (port === undefined) throw new Error('startTestHub() did not serve the MQTT endpoint');
  const { primaryKey } = await testHub.createDevice('dev-1');
  const base: ConnectParams = {
    hostName: testHub.hub.hostName,
    endpointHost: '127.0.0.1',
    endpointPort: port,
    deviceId: 'dev-1',
    ca: testHub.caCertificate,
    keepAliveInSeconds: 60,
  };
  const sign = (key: string) =>
    createSasToken({
      resourceUri: deviceResourceUri(testHub.hub.hostName, 'dev-1'),
      key,
      expiresOnInSeconds: inAnHour(),
    });
  return {
    factory: mqtt({ webSocket }),
    connectParams: async () => ({ ...base, sasToken: await sign(primaryKey) }),
    badConnectParams: async () => ({ ...base, sasToken: await sign(btoa('x'.repeat(32))) }),
    updateDesired: (patch) => patchDesired(testHub, 'dev-1', patch),
    failNext: (operation, statusCode) => {
      testHub.hub.faults.failNext({
        operation: operation === 'getTwin' ? 'deviceGetTwin' : 'deviceUpdateReported',
        statusCode,
      });
      return Promise.resolve();
    },
    dropConnection: () => {
      testHub.hub.faults.mqtt.dropConnection({ deviceId: 'dev-1' });
      return Promise.resolve();
    },
    [Symbol.asyncDispose]: () => testHub.close(),
  };
}

describeTransportContract('mqtt over TCP+TLS (local hub)', () => hubFixture(false));
describeTransportContract('mqtt over WebSocket (local hub)', () => hubFixture(true));
