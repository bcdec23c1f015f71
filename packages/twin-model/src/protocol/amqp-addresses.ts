/**
 * AMQP names shared by the device AMQP transport and the hub: CBS put-token constants
 * (docs/internals/wire-contract.md#amqp-cbs), twin link addresses, attach properties and request annotations (docs/internals/wire-contract.md#amqp-twin-links).
 */

/** Address of the claims-based-security node; the CBS sender targets it and the receiver reads from it (docs/internals/wire-contract.md#amqp-cbs). */
export const CBS_NODE = '$cbs';

/** Value of the `operation` application property of a CBS request (docs/internals/wire-contract.md#amqp-cbs). */
export const CBS_PUT_TOKEN_OPERATION = 'put-token';

/** CBS token types: Node and C send `servicebus`, C# sends `azure-devices`; accept both (docs/internals/wire-contract.md#amqp-cbs). */
export const KnownCbsTokenType = /* @__PURE__ */ Object.freeze({
  serviceBusSas: 'servicebus.windows.net:sastoken',
  azureDevicesSas: 'azure-devices.net:sastoken',
} as const);

/** Application-property names of CBS requests and responses (docs/internals/wire-contract.md#amqp-cbs). */
export const CBS_PROPERTY = /* @__PURE__ */ Object.freeze({
  operation: 'operation',
  type: 'type',
  name: 'name',
  expiration: 'expiration',
  statusCode: 'status-code',
  statusDescription: 'status-description',
} as const);

/** Attach-property names (symbol keys) of twin links (docs/internals/wire-contract.md#amqp-twin-links). */
export const TWIN_LINK_PROPERTY = /* @__PURE__ */ Object.freeze({
  channelCorrelationId: 'com.microsoft:channel-correlation-id',
  apiVersion: 'com.microsoft:api-version',
  clientVersion: 'com.microsoft:client-version',
  /** The device's Plug and Play model id, on every link it attaches (docs/internals/wire-contract.md#model-id). */
  modelId: 'com.microsoft:model-id',
} as const);

/** Message-annotation names (symbol keys) of twin requests and responses (docs/internals/wire-contract.md#amqp-twin-links). */
export const TWIN_ANNOTATION = /* @__PURE__ */ Object.freeze({
  operation: 'operation',
  resource: 'resource',
  version: 'version',
  status: 'status',
} as const);

/** Twin request operations carried in the `operation` annotation (docs/internals/wire-contract.md#amqp-twin-links). */
export type TwinAmqpOperation = 'GET' | 'PATCH' | 'PUT' | 'DELETE';

/** The `operation` annotation values, for runtime use. */
export const KnownTwinAmqpOperation = /* @__PURE__ */ Object.freeze({
  get: 'GET',
  patch: 'PATCH',
  put: 'PUT',
  delete: 'DELETE',
} as const satisfies Record<string, TwinAmqpOperation>);

/** `resource` annotation of a reported-properties PATCH (docs/internals/wire-contract.md#amqp-twin-links). */
export const REPORTED_PROPERTIES_RESOURCE = '/properties/reported';

/** `resource` annotation of the desired-notification PUT (subscribe) and DELETE (unsubscribe) (docs/internals/wire-contract.md#amqp-twin-links). */
export const DESIRED_NOTIFICATIONS_RESOURCE = '/notifications/twin/properties/desired';

/** A twin link address taken apart by {@link parseTwinLinkAddress}. */
export interface ParsedTwinLinkAddress {
  deviceId: string;
  moduleId?: string;
  /** Host of an absolute `amqps://host[:port]/…` address (C, C#); absent for relative ones (Node, Java). */
  hostName?: string;
  /** Port of an absolute address when it names one (C# writes `:5671`). */
  port?: number;
}

/**
 * Builds the relative twin link address the Node SDK uses for both twin links (docs/internals/wire-contract.md#amqp-twin-links).
 *
 * @param deviceId - The device id.
 * @param moduleId - The module id, for a module twin.
 * @returns `/devices/<id>/twin` or `/devices/<id>/modules/<mid>/twin`, ids percent-encoded.
 * @throws {@link TypeError} when an id is empty.
 * @example
 * ```ts
 * twinLinkAddress('dev1'); // '/devices/dev1/twin'
 * ```
 */
export function twinLinkAddress(deviceId: string, moduleId?: string): string {
  const device = `/devices/${encodeId(deviceId, 'deviceId')}`;
  return moduleId === undefined
    ? `${device}/twin`
    : `${device}/modules/${encodeId(moduleId, 'moduleId')}/twin`;
}

/**
 * Parses a twin link address from an ATTACH source or target (docs/internals/wire-contract.md#amqp-twin-links).
 *
 * Accepts the relative form (`/devices/<id>[/modules/<mid>]/twin`, Node and Java) and absolute
 * URIs (`amqps://<host>[:<port>]/devices/…/twin`, C and C#). Segments are percent-decoded once;
 * `+` is kept (ids may contain it and encoders send it as `%2B`).
 *
 * @param address - The terminus address.
 * @returns The identity (and host/port of an absolute address), or `undefined` when the address
 *   is not a twin address.
 * @example
 * ```ts
 * parseTwinLinkAddress('amqps://myhub.azure-devices.net:5671/devices/dev1/twin');
 * // { deviceId: 'dev1', hostName: 'myhub.azure-devices.net', port: 5671 }
 * ```
 */
export function parseTwinLinkAddress(address: string): ParsedTwinLinkAddress | undefined {
  if (typeof address !== 'string') return undefined;
  let path = address;
  let hostName: string | undefined;
  let port: number | undefined;
  const absolute = /^amqps?:\/\/([^/]*)(.*)$/i.exec(address);
  if (absolute) {
    const authority = absolute[1] ?? '';
    path = absolute[2] ?? '';
    const hostPort = /^([^:]+)(?::(\d{1,5}))?$/.exec(authority);
    if (!hostPort?.[1]) return undefined;
    hostName = hostPort[1];
    if (hostPort[2] !== undefined) port = Number(hostPort[2]);
  }
  const segments = path.replace(/^\//, '').split('/');
  let ids: (string | undefined)[];
  if (segments.length === 3 && segments[0] === 'devices' && segments[2] === 'twin') {
    ids = [segments[1]];
  } else if (
    segments.length === 5 &&
    segments[0] === 'devices' &&
    segments[2] === 'modules' &&
    segments[4] === 'twin'
  ) {
    ids = [segments[1], segments[3]];
  } else {
    return undefined;
  }
  const decoded = ids.map(decodeSegment);
  const [deviceId, moduleId] = decoded;
  if (deviceId === undefined || decoded.includes(undefined)) return undefined;
  const result: ParsedTwinLinkAddress = { deviceId };
  if (moduleId !== undefined) result.moduleId = moduleId;
  if (hostName !== undefined) result.hostName = hostName;
  if (port !== undefined) result.port = port;
  return result;
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function encodeId(id: string, field: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError(`${field} must be a non-empty string`);
  }
  return encodeURIComponent(id);
}
