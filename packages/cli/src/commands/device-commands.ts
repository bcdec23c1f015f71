/**
 * `twinkit device list | show | create | delete`: device identities.
 */
import { createDeviceConnectionString, type Device } from '@twinkit/service';
import { parsePositiveInteger, type Command } from '../command.js';
import { formatJson, formatRecord, formatTable } from '../output/format.js';

const LIST_COLUMNS = ['deviceId', 'status', 'connectionState', 'lastActivityTime'];

/** What people see of a device: everything but its keys. */
function withoutKeys(device: Device): object {
  const { authentication, ...rest } = device;
  return { ...rest, authentication: { type: authentication.type } };
}

export const deviceCommands: readonly Command[] = [
  {
    words: ['device', 'list'],
    usage: '[--top N]',
    summary: 'List device identities.',
    azEquivalent: 'az iot hub device-identity list',
    flags: ['top'],
    arity: 0,
    async run({ flags, output, io, openRegistry }) {
      const top = parsePositiveInteger('--top', flags.top);
      await using opened = await openRegistry();
      const devices: Device[] = [];
      for await (const device of opened.registry.listDevices({ abortSignal: io.signal })) {
        devices.push(device);
        if (top !== undefined && devices.length >= top) break;
      }
      io.stdout(output === 'json' ? formatJson(devices) : formatTable(devices, LIST_COLUMNS));
    },
  },
  {
    words: ['device', 'show'],
    usage: '<device id>',
    summary: 'Show one device identity (table output hides its keys).',
    azEquivalent: 'az iot hub device-identity show',
    flags: [],
    arity: 1,
    async run({ args, output, io, openRegistry }) {
      await using opened = await openRegistry();
      const device = await opened.registry.getDevice(args[0] ?? '');
      io.stdout(output === 'json' ? formatJson(device) : formatRecord(withoutKeys(device)));
    },
  },
  {
    words: ['device', 'create'],
    usage: '<device id>',
    summary: 'Register a device with generated SAS keys and print its connection string.',
    azEquivalent: 'az iot hub device-identity create',
    flags: [],
    arity: 1,
    async run({ args, output, io, openRegistry }) {
      await using opened = await openRegistry();
      const device = await opened.registry.createDevice(args[0] ?? '');
      if (output === 'json') {
        io.stdout(formatJson(device));
        return;
      }
      const connectionString = createDeviceConnectionString(device, opened.registry.hostName);
      io.stdout(
        formatRecord({ deviceId: device.deviceId, status: device.status, connectionString }),
      );
    },
  },
  {
    words: ['device', 'delete'],
    usage: '<device id> [--etag ETAG]',
    summary: 'Delete a device identity (and its twin); with --etag only if unchanged.',
    azEquivalent: 'az iot hub device-identity delete',
    flags: ['etag'],
    arity: 1,
    async run({ args, flags, output, io, openRegistry }) {
      const deviceId = args[0] ?? '';
      await using opened = await openRegistry();
      await opened.registry.deleteDevice(
        flags.etag === undefined ? deviceId : { deviceId, etag: flags.etag },
      );
      if (output === 'table') io.stdout(`Deleted device ${deviceId}.\n`);
    },
  },
];
