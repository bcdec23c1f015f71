import { describe, expect, it } from 'vitest';
import {
  REST_OPERATIONS,
  TWIN_REST_OPERATIONS,
  devicePath,
  formatOperationPath,
  modulePath,
  modulesPath,
  twinPath,
} from '@twinkit/twin-model/protocol';

describe('REST_OPERATIONS', () => {
  it('fills templates exactly as the path builders do', () => {
    const ids = { deviceId: 'dev +1', moduleId: 'm/1' };
    expect(formatOperationPath(REST_OPERATIONS.getTwin.path, ids)).toBe(twinPath(ids.deviceId));
    expect(formatOperationPath(REST_OPERATIONS.getModuleTwin.path, ids)).toBe(
      twinPath(ids.deviceId, ids.moduleId),
    );
    expect(formatOperationPath(REST_OPERATIONS.getDevice.path, ids)).toBe(devicePath(ids.deviceId));
    expect(formatOperationPath(REST_OPERATIONS.getModule.path, ids)).toBe(
      modulePath(ids.deviceId, ids.moduleId),
    );
    expect(formatOperationPath(REST_OPERATIONS.listModules.path, ids)).toBe(
      modulesPath(ids.deviceId),
    );
  });

  it('refuses a missing id, and fills any template, cached or not, the same way', () => {
    expect(() =>
      formatOperationPath(REST_OPERATIONS.getModuleTwin.path, { deviceId: 'd' }),
    ).toThrow(new TypeError('moduleId must be a non-empty string'));
    expect(formatOperationPath('/devices/query')).toBe('/devices/query');
    for (let n = 0; n < 100; n++)
      expect(
        formatOperationPath(`/x${n}/{deviceId}/y/{moduleId}/z`, { deviceId: 'a b', moduleId: 'c' }),
      ).toBe(`/x${n}/a%20b/y/c/z`);
  });

  it('names each entry by its key and never marks a create or an unconditional PATCH idempotent', () => {
    for (const [key, operation] of Object.entries(REST_OPERATIONS)) {
      expect(operation.name).toBe(key);
      if (operation.method === 'GET') expect(operation.idempotent).toBe(true);
    }
    expect(REST_OPERATIONS.createDevice.idempotent).toBe(false);
    expect(REST_OPERATIONS.createModule.idempotent).toBe(false);
    expect(REST_OPERATIONS.updateTwin.idempotent).toBe(false);
  });

  it('holds the twin operations as TWIN_REST_OPERATIONS does, the same descriptors first', () => {
    const twinKeys = Object.keys(TWIN_REST_OPERATIONS);
    expect(Object.keys(REST_OPERATIONS).slice(0, twinKeys.length)).toEqual(twinKeys);
    for (const [key, operation] of Object.entries(TWIN_REST_OPERATIONS)) {
      expect(REST_OPERATIONS[key as keyof typeof TWIN_REST_OPERATIONS]).toBe(operation);
      expect(operation.permission).toBe('ServiceConnect');
    }
    expect(twinKeys).toEqual(expect.arrayContaining(['getTwin', 'queryTwins', 'updateTwins']));
    expect(Object.isFrozen(TWIN_REST_OPERATIONS)).toBe(true);
    expect(Object.isFrozen(REST_OPERATIONS)).toBe(true);
  });

  it('refuses a template whose id is missing', () => {
    expect(() =>
      formatOperationPath(REST_OPERATIONS.getModuleTwin.path, { deviceId: 'd' }),
    ).toThrow(/moduleId/);
  });
});
