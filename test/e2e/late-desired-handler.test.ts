/**
 * A desired handler registered after `open()` (with no `getTwin()` in between) receives the
 * desired writes the back end makes after it was registered: the first subscriber turns the
 * subscription on while connected, and a write that races that subscription is still delivered,
 * exactly once (docs/internals/twin-semantics.md#desired-notifications).
 */
import { mqtt, type DesiredChange, type TransportFactory } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { startTestHub, type TestHub } from '@twinkit/hub/testing';
import { describe, expect, it, vi } from 'vitest';
import { DEADLINE_IN_MS, createDeviceClient, createRegistry, patchDesired } from './helpers.js';

const waitOptions = { timeout: DEADLINE_IN_MS, interval: 10 };

const transports: readonly { name: string; transport: (testHub: TestHub) => TransportFactory }[] = [
  { name: 'MQTT over TLS', transport: () => mqtt() },
  { name: 'AMQP over TLS', transport: (testHub) => amqp({ port: testHub.amqpPort! }) },
];

const subscriptions = [
  {
    kind: 'every change',
    path: undefined,
    first: { climate: { fanOn: true } },
    value: { fanOn: true },
  },
  {
    kind: 'one grouping',
    path: 'climate',
    first: { climate: { fanOn: true } },
    value: { fanOn: true },
  },
  { kind: 'one property', path: 'climate.fanOn', first: { climate: { fanOn: true } }, value: true },
] as const;

describe.each(transports)(
  'a desired handler registered after open() over $name',
  ({ transport }) => {
    it.each(subscriptions)(
      'receives the next desired write exactly once ($kind)',
      async ({ path, first, value }) => {
        await using testHub = await startTestHub();
        // In-process writes land fast, well inside the window before the subscription is in place.
        const registry = createRegistry(testHub);
        const { connectionString } = await testHub.createDevice('lateDevice');
        await patchDesired(registry, 'lateDevice', { climate: { fanOn: false }, unrelated: 1 });
        await using device = createDeviceClient(testHub, connectionString, {
          transport: transport(testHub),
        });
        await device.open();

        const seen: DesiredChange[] = [];
        const record = (change: DesiredChange): void => {
          seen.push(change);
        };
        if (path === undefined) device.onDesired(record);
        else device.onDesired(path, record);
        const version = await patchDesired(registry, 'lateDevice', first);

        await vi.waitFor(() => {
          expect(seen.map((change) => change.version)).toEqual([version]);
        }, waitOptions);
        // `patch` when the hub subscription came first, `resync` when the write did: once either way.
        expect(seen[0]).toMatchObject({ path: path ?? '', version, patch: first });
        expect(seen[0]?.value).toEqual(
          path === undefined ? { climate: { fanOn: true }, unrelated: 1 } : value,
        );

        // A later write proves the first one was delivered once, not once per route.
        const next = await patchDesired(registry, 'lateDevice', { climate: { fanOn: false } });
        await vi.waitFor(() => {
          expect(seen.map((change) => change.version)).toEqual([version, next]);
        }, waitOptions);
        expect(seen[1]).toMatchObject({
          version: next,
          patch: { climate: { fanOn: false } },
          reason: 'patch',
        });
      },
    );
  },
);
