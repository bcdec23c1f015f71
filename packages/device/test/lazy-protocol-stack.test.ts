/**
 * Importing the package loads no protocol library: mqtt.js and rhea are loaded when a client
 * opens (issue 16), so programs that import @twinkit/device start fast. Checked in a child Node,
 * where nothing else has loaded them, against the test hub over real sockets.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startTestHub } from '@twinkit/hub/testing';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/lazy-protocol-stack.ts');

describe('the protocol stack', () => {
  it(
    'is loaded when a client opens, not when the package is imported',
    { timeout: 60_000 },
    async () => {
      await using hub = await startTestHub();
      const device = await hub.createDevice('lazy-1');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--conditions=@twinkit/source', '--import', 'tsx', FIXTURE],
        {
          cwd: resolve(import.meta.dirname, '..'),
          env: {
            ...process.env,
            TWINKIT_CA: hub.caCertificate,
            TWINKIT_MQTT_CS: device.connectionStrings.mqtt,
            TWINKIT_AMQP_CS: device.connectionStrings.amqp,
          },
        },
      );
      const line = stdout.split('\n').find((text) => text.startsWith('TWINKIT_OBSERVED '));
      expect(line, stdout).toBeDefined();
      const observed = JSON.parse(line!.slice('TWINKIT_OBSERVED '.length));
      expect(observed.afterImport).toEqual({ mqtt: false, rhea: false });
      expect(observed.afterConstruct).toEqual({ mqtt: false, rhea: false });
      expect(observed.mqttTwinVersion).toBe(1);
      expect(observed.afterMqttOpen).toEqual({ mqtt: true, rhea: false });
      expect(observed.amqpTwinVersion).toBe(1);
      expect(observed.afterAmqpOpen).toEqual({ mqtt: true, rhea: true });
    },
  );
});
