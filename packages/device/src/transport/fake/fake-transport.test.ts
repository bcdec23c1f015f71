import { createHubError } from '@twinkit/twin-model/errors';
import { describeTransportContract } from '../../testing-contract.js';
import { createFakeTransport } from '../../testing.js';
import type { ConnectParams } from '../transport.js';

const params: ConnectParams = {
  hostName: 'hub.example',
  endpointHost: 'hub.example',
  deviceId: 'dev-1',
  sasToken: 'SharedAccessSignature sr=hub.example%2Fdevices%2Fdev-1&sig=good&se=9999999999',
  keepAliveInSeconds: 180,
};

describeTransportContract('fake', () => {
  const fake = createFakeTransport({
    authorize: (candidate) =>
      candidate.sasToken === params.sasToken
        ? undefined
        : createHubError({ statusCode: 401, operation: 'Connect' }),
  });
  return Promise.resolve({
    factory: fake.factory,
    connectParams: () => Promise.resolve(params),
    badConnectParams: () =>
      Promise.resolve({ ...params, sasToken: 'SharedAccessSignature sr=x&sig=bad&se=1' }),
    updateDesired: (patch) => {
      fake.updateDesired(patch);
      return Promise.resolve();
    },
    failNext: (operation, statusCode) => {
      fake.failNext(operation, createHubError({ statusCode }));
      return Promise.resolve();
    },
    dropConnection: () => {
      fake.dropConnection();
      return Promise.resolve();
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  });
});
