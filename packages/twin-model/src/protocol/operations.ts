/**
 * The service REST operations as data: one descriptor per operation with its method, path
 * template, the shared access permission it needs and the name the hub's fault injector knows it
 * by. The Registry sends every call from this table, and the hub's REST app and fault injector
 * can route and authorise from it, so a new operation is one entry here plus the method that uses
 * it. The wire contract behind each entry: docs/internals/wire-contract.md#rest-operations.
 */
import { BULK_PATH, QUERY_PATH } from './rest.js';

/** HTTP methods the service API uses. */
export type RestMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';

/**
 * A shared access policy permission, spelt as IoT Hub and the local hub's policies spell it
 * (https://learn.microsoft.com/azure/iot-hub/iot-hub-dev-guide-sas#access-control-and-permissions).
 */
export type RestPermission = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';

/**
 * What the local hub's fault injector calls a group of REST operations (`hub.faults.failNext({
 * operation })`): module twins share their device twin's name, every identity call is `device`.
 */
export type RestFaultName = 'getTwin' | 'updateTwin' | 'replaceTwin' | 'query' | 'bulk' | 'device';

/** One service REST operation. */
export interface RestOperation {
  /** The Registry method's name, used in logs and timeouts, e.g. `getModuleTwin`. */
  readonly name: string;
  readonly method: RestMethod;
  /**
   * The path with `{deviceId}` and `{moduleId}` placeholders, e.g. `/twins/{deviceId}`; fill it
   * with {@link formatOperationPath}. Without the `api-version` query string.
   */
  readonly path: string;
  /** The permission a policy needs for it. A bulk call that touches identities needs `RegistryWrite` as well. */
  readonly permission: RestPermission;
  /** The hub fault injector's name for it. */
  readonly fault: RestFaultName;
  /**
   * Whether sending it twice has the effect of sending it once, so a request whose answer was
   * lost may be sent again. A PATCH becomes safe to repeat with an `If-Match` ETag (the repeat
   * fails with 412 instead of applying twice); creates are never repeated (the repeat gets 409).
   */
  readonly idempotent: boolean;
  /** What it does, for error messages: `Twin read`, `Device create`, … */
  readonly description: string;
}

const TWIN = '/twins/{deviceId}';
const MODULE_TWIN = '/twins/{deviceId}/modules/{moduleId}';
const DEVICE = '/devices/{deviceId}';
const MODULE = '/devices/{deviceId}/modules/{moduleId}';

/* @__NO_SIDE_EFFECTS__ */
function operation(
  name: string,
  method: RestMethod,
  path: string,
  permission: RestPermission,
  fault: RestFaultName,
  idempotent: boolean,
  description: string,
): RestOperation {
  return Object.freeze({ name, method, path, permission, fault, idempotent, description });
}

/**
 * The operations on twins: read, update and replace device and module twins, query, and update in
 * bulk. The same descriptors as in {@link REST_OPERATIONS}, apart so a client that only works
 * with twins does not carry the identity operations in its bundle.
 */
export const TWIN_REST_OPERATIONS = /* @__PURE__ */ Object.freeze({
  getTwin: operation('getTwin', 'GET', TWIN, 'ServiceConnect', 'getTwin', true, 'Twin read'),
  getModuleTwin: operation(
    'getModuleTwin',
    'GET',
    MODULE_TWIN,
    'ServiceConnect',
    'getTwin',
    true,
    'Twin read',
  ),
  updateTwin: operation(
    'updateTwin',
    'PATCH',
    TWIN,
    'ServiceConnect',
    'updateTwin',
    false,
    'Twin update',
  ),
  updateModuleTwin: operation(
    'updateModuleTwin',
    'PATCH',
    MODULE_TWIN,
    'ServiceConnect',
    'updateTwin',
    false,
    'Twin update',
  ),
  replaceTwin: operation(
    'replaceTwin',
    'PUT',
    TWIN,
    'ServiceConnect',
    'replaceTwin',
    true,
    'Twin replace',
  ),
  replaceModuleTwin: operation(
    'replaceModuleTwin',
    'PUT',
    MODULE_TWIN,
    'ServiceConnect',
    'replaceTwin',
    true,
    'Twin replace',
  ),
  queryTwins: operation(
    'queryTwins',
    'POST',
    QUERY_PATH,
    'ServiceConnect',
    'query',
    true,
    'Twin query',
  ),
  updateTwins: operation(
    'updateTwins',
    'POST',
    BULK_PATH,
    'ServiceConnect',
    'bulk',
    false,
    'Bulk twin update',
  ),
});

/**
 * Every service REST operation, by name: those the Registry performs, and `getDevices` (IoT
 * Hub's `GET /devices?top=N` list, which the local hub serves; the Registry lists devices with a
 * query, which pages). Twins and queries need
 * `ServiceConnect`, identity reads `RegistryRead` and identity writes `RegistryWrite`
 * (docs/internals/wire-contract.md#rest-operations).
 */
export const REST_OPERATIONS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...TWIN_REST_OPERATIONS,
    createDevice: operation(
      'createDevice',
      'PUT',
      DEVICE,
      'RegistryWrite',
      'device',
      false,
      'Device create',
    ),
    getDevice: operation('getDevice', 'GET', DEVICE, 'RegistryRead', 'device', true, 'Device read'),
    getDevices: operation(
      'getDevices',
      'GET',
      BULK_PATH,
      'RegistryRead',
      'device',
      true,
      'Device list',
    ),
    updateDevice: operation(
      'updateDevice',
      'PUT',
      DEVICE,
      'RegistryWrite',
      'device',
      true,
      'Device update',
    ),
    deleteDevice: operation(
      'deleteDevice',
      'DELETE',
      DEVICE,
      'RegistryWrite',
      'device',
      true,
      'Device delete',
    ),
    createModule: operation(
      'createModule',
      'PUT',
      MODULE,
      'RegistryWrite',
      'device',
      false,
      'Module create',
    ),
    getModule: operation('getModule', 'GET', MODULE, 'RegistryRead', 'device', true, 'Module read'),
    deleteModule: operation(
      'deleteModule',
      'DELETE',
      MODULE,
      'RegistryWrite',
      'device',
      true,
      'Module delete',
    ),
    listModules: operation(
      'listModules',
      'GET',
      `${DEVICE}/modules`,
      'RegistryRead',
      'device',
      true,
      'Module list',
    ),
  }))();

/** The name of an operation in {@link REST_OPERATIONS}. */
export type RestOperationName = keyof typeof REST_OPERATIONS;

/**
 * Fills a path template's `{deviceId}` and `{moduleId}` with percent-encoded ids, one path
 * segment each (`encodeURIComponent`, as the Node SDK does, so `+` travels as `%2B`).
 *
 * @param template - an operation's `path`
 * @param ids - the ids its placeholders need
 * @returns the path, e.g. `/twins/dev%201/modules/m1`
 * @throws {@link TypeError} when an id the template needs is missing or empty
 * @example
 * ```ts
 * formatOperationPath(REST_OPERATIONS.getModuleTwin.path, { deviceId: 'dev 1', moduleId: 'm1' });
 * ```
 */
export function formatOperationPath(
  template: string,
  ids: { deviceId?: string | undefined; moduleId?: string | undefined } = {},
): string {
  const parts = templateParts(template);
  let path = parts[0] ?? '';
  for (let index = 1; index < parts.length; index += 2) {
    const field = parts[index] as 'deviceId' | 'moduleId';
    const id = ids[field];
    if (typeof id !== 'string' || id === '')
      throw new TypeError(`${field} must be a non-empty string`);
    path += `${encodeURIComponent(id)}${parts[index + 1] ?? ''}`;
  }
  return path;
}

/**
 * A template split around its placeholders (`['/twins/', 'deviceId', '']`), kept for the fixed
 * templates of the operation table: every REST call formats one, and a regular expression replace
 * with a callback costs several microseconds of it. Other templates are split each time, so the
 * cache stays as small as the table.
 */
const TEMPLATE_PARTS = /* @__PURE__ */ new Map<string, readonly string[]>();
const MAX_CACHED_TEMPLATES = 64;

function templateParts(template: string): readonly string[] {
  let parts = TEMPLATE_PARTS.get(template);
  if (parts === undefined) {
    parts = template.split(/\{(deviceId|moduleId)\}/);
    if (TEMPLATE_PARTS.size < MAX_CACHED_TEMPLATES) TEMPLATE_PARTS.set(template, parts);
  }
  return parts;
}
