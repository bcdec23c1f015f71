import { describe, expect, it } from 'vitest';
import {
  parseDeviceConnectionString,
  verifySasToken,
  createSasToken,
} from '@twinkit/twin-model/protocol';
import {
  ConflictError,
  DeviceNotFoundError,
  PreconditionFailedError,
  createDeviceConnectionString,
} from '@twinkit/service';
import { registryFor, startHub } from './helpers.js';

describe('Registry', () => {
  describe('createDevice', () => {
    it('creates a device with hub-generated SAS keys', async () => {
      await using hub = await startHub();
      const device = await registryFor(hub).createDevice('dev-1');
      expect(device).toMatchObject({
        deviceId: 'dev-1',
        status: 'enabled',
        authentication: { type: 'sas' },
      });
      expect(device.authentication.symmetricKey?.primaryKey).toHaveLength(44);
      expect(device.etag).toBeTypeOf('string');
    });

    it('creates a disabled device when asked and rejects a duplicate with ConflictError', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      const device = await registry.createDevice({ deviceId: 'dev-1', status: 'disabled' });
      expect(device.status).toBe('disabled');
      await expect(registry.createDevice('dev-1')).rejects.toBeInstanceOf(ConflictError);
    });
  });

  describe('getDevice, updateDevice, deleteDevice, listDevices', () => {
    it('reads, updates with etag, lists and deletes a device', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      await registry.createDevice('dev-1');
      await registry.createDevice('dev-2');
      const device = await registry.getDevice('dev-1');
      const updated = await registry.updateDevice(
        { ...device, status: 'disabled' },
        { onlyIfUnchanged: true },
      );
      expect(updated.status).toBe('disabled');
      await expect(
        registry.updateDevice({ ...device, status: 'enabled' }, { onlyIfUnchanged: true }),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
      const listed: string[] = [];
      for await (const d of registry.listDevices()) listed.push(d.deviceId);
      expect(listed.sort()).toEqual(['dev-1', 'dev-2']);
      await registry.deleteDevice('dev-1');
      await expect(registry.getDevice('dev-1')).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(registry.getTwin('dev-1')).rejects.toBeInstanceOf(DeviceNotFoundError);
    });

    it('succeeds when deleting a device that does not exist', async () => {
      await using hub = await startHub();
      await expect(registryFor(hub).deleteDevice('never-was')).resolves.toBeUndefined();
    });

    it('refuses to delete with a stale etag under onlyIfUnchanged', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      const device = await registry.createDevice('dev-1');
      await registry.updateDevice({ ...device, status: 'disabled' });
      await expect(registry.deleteDevice(device, { onlyIfUnchanged: true })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      await expect(registry.getDevice('dev-1')).resolves.toMatchObject({ deviceId: 'dev-1' });
    });
  });

  describe('modules', () => {
    it('creates, reads, lists and deletes modules', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      await registry.createDevice('dev-1');
      const created = await registry.createModule('dev-1', 'mod-1');
      expect(created).toMatchObject({ deviceId: 'dev-1', moduleId: 'mod-1' });
      await registry.createModule('dev-1', { moduleId: 'mod-2', managedBy: 'ops' });
      await expect(registry.createModule('dev-1', 'mod-1')).rejects.toBeInstanceOf(ConflictError);
      expect((await registry.getModule('dev-1', 'mod-2')).moduleId).toBe('mod-2');
      const listed: string[] = [];
      for await (const m of registry.listModules('dev-1')) listed.push(m.moduleId);
      expect(listed.sort()).toEqual(['mod-1', 'mod-2']);
      await registry.deleteModule('dev-1', 'mod-1');
      await registry.deleteModule('dev-1', 'mod-1');
      await expect(registry.getModule('dev-1', 'mod-1')).rejects.toMatchObject({
        name: 'ModuleNotFoundError',
        code: 'ModuleNotFound',
      });
      await expect(registry.createModule('ghost', 'm')).rejects.toBeInstanceOf(DeviceNotFoundError);
    });
  });

  describe('createDeviceConnectionString', () => {
    it('builds device and module connection strings whose keys the hub accepts', async () => {
      await using hub = await startHub();
      const registry = registryFor(hub);
      const device = await registry.createDevice('dev-1');
      const module = await registry.createModule('dev-1', 'mod-1');
      const cs = parseDeviceConnectionString(
        createDeviceConnectionString(device, registry.hostName),
      );
      expect(cs).toMatchObject({ hostName: registry.hostName, deviceId: 'dev-1' });
      const secondary = parseDeviceConnectionString(
        createDeviceConnectionString(device, 'h', { key: 'secondary' }),
      );
      expect(secondary.sharedAccessKey).toBe(device.authentication.symmetricKey?.secondaryKey);
      expect(parseDeviceConnectionString(createDeviceConnectionString(module, 'h')).moduleId).toBe(
        'mod-1',
      );
      // The key in the string signs tokens that verify against the identity's key.
      const token = await createSasToken({
        resourceUri: 'h/devices/dev-1',
        key: cs.sharedAccessKey!,
        expiresOnInSeconds: 2e9,
      });
      const verdict = await verifySasToken(
        token,
        [device.authentication.symmetricKey!.primaryKey!],
        { nowInSeconds: 1e9 },
      );
      expect(verdict.ok).toBe(true);
    });

    it('throws TypeError for an identity without symmetric keys', () => {
      expect(() =>
        createDeviceConnectionString(
          { deviceId: 'x', authentication: { type: 'selfSigned' } },
          'h',
        ),
      ).toThrow(TypeError);
    });
  });
});
