/**
 * One class per error (issue 11, Deliver 4): in one Node process that loads the SDK both by
 * `require` and by `import`, each error class exists once, across packages too, and an error
 * thrown by either copy passes `instanceof` with the other's class. The errors are real ones: a
 * stale-ETag update (412) and a device with a wrong key, against the installed CLI hub.
 */
import { beforeAll, expect, inject, it } from 'vitest';
import { startCliHub, type CliHub } from './helpers/cli-hub.ts';
import { resultOf, runProgram } from './helpers/run-program.ts';

const { appDir } = inject('packedApp');
let hub: CliHub;

beforeAll(async () => {
  hub = await startCliHub(appDir);
  return () => hub[Symbol.asyncDispose]();
});

const program = `
  (async () => {
    const required = {
      service: require('@twinkit/service'),
      device: require('@twinkit/device'),
      errors: require('@twinkit/twin-model/errors'),
      model: require('@twinkit/twin-model'),
    };
    const imported = {
      service: await import('@twinkit/service'),
      device: await import('@twinkit/device'),
      errors: await import('@twinkit/twin-model/errors'),
      model: await import('@twinkit/twin-model'),
    };
    const copies = [...Object.values(required), ...Object.values(imported)];
    const sameClass = (name) => copies.every((copy) => copy[name] === required.errors[name]);

    // A stale ETag, thrown once by the required Registry and once by the imported one.
    const cs = process.env.SERVICE_CONNECTION_STRING;
    async function staleUpdate(Registry, deviceId) {
      const registry = Registry.fromConnectionString(cs);
      await registry.createDevice(deviceId);
      const twin = await registry.getTwin(deviceId);
      await registry.updateTwin(twin, { tags: { n: 1 } }, { onlyIfUnchanged: true });
      try {
        await registry.updateTwin(twin, { tags: { n: 2 } }, { onlyIfUnchanged: true });
      } catch (error) {
        return error;
      }
      return undefined;
    }
    const fromRequire = await staleUpdate(required.service.Registry, 'one-class-cjs');
    const fromImport = await staleUpdate(imported.service.Registry, 'one-class-esm');
    const instanceOfAll = (error, name) =>
      copies.filter((copy) => name in copy).every((copy) => error instanceof copy[name]);

    // A device with a wrong key, refused by the hub: thrown by the required DeviceClient.
    const bad = process.env.DEVICE_CONNECTION_STRING.replace(/SharedAccessKey=[^;]*/, 'SharedAccessKey=' + Buffer.alloc(32, 7).toString('base64'));
    const device = required.device.DeviceClient.fromConnectionString(bad, {
      ca: require('node:fs').readFileSync(process.env.CA_FILE, 'utf8'),
      retryOptions: { maxRetries: 0 },
    });
    let refused;
    try {
      await device.open();
    } catch (error) {
      refused = error;
    } finally {
      await device.close();
    }

    console.log('TWINKIT_RESULT ' + JSON.stringify({
      preconditionFailedIsOneClass: sameClass('PreconditionFailedError'),
      hubErrorIsOneClass: sameClass('HubError'),
      unauthorizedIsOneClass: sameClass('UnauthorizedError'),
      fromRequire: { name: fromRequire?.name, instanceOfAll: instanceOfAll(fromRequire, 'PreconditionFailedError') && instanceOfAll(fromRequire, 'HubError') },
      fromImport: { name: fromImport?.name, instanceOfAll: instanceOfAll(fromImport, 'PreconditionFailedError') && instanceOfAll(fromImport, 'HubError') },
      refused: { name: refused?.name, instanceOfAll: refused !== undefined && instanceOfAll(refused, refused.name) && instanceOfAll(refused, 'HubError') },
    }));
  })().catch((error) => { console.error(error); process.exitCode = 1; });`;

it('has one class per error whether the SDK is loaded by require or by import', async () => {
  const created = await hub.createDevice('one-class-device');
  const output = await runProgram(process.execPath, ['--input-type=commonjs', '-e', program], {
    cwd: appDir,
    env: {
      NODE_EXTRA_CA_CERTS: hub.readiness.caFile,
      CA_FILE: hub.readiness.caFile,
      SERVICE_CONNECTION_STRING: hub.readiness.serviceConnectionString,
      DEVICE_CONNECTION_STRING: created.connectionString,
    },
  });
  expect(resultOf(output)).toEqual({
    preconditionFailedIsOneClass: true,
    hubErrorIsOneClass: true,
    unauthorizedIsOneClass: true,
    fromRequire: { name: 'PreconditionFailedError', instanceOfAll: true },
    fromImport: { name: 'PreconditionFailedError', instanceOfAll: true },
    refused: { name: 'UnauthorizedError', instanceOfAll: true },
  });
});
