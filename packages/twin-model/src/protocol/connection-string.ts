/**
 * Device, module and service connection strings (docs/internals/wire-contract.md#connection-strings): parse, validate and format.
 * Error messages name the field at fault but never repeat a key or a signature.
 */
import { isBase64 } from './base64.js';
import { parseSasToken } from './sas-token.js';

/** The parts of a device or module connection string (docs/internals/wire-contract.md#device-connection-strings). */
export interface DeviceConnectionString {
  /** Hub host name, e.g. `myhub.azure-devices.net`; may carry a `:port` for emulators. */
  hostName: string;
  deviceId: string;
  /** Present for a module identity. */
  moduleId?: string;
  /** Base64 device, module or (with {@link DeviceConnectionString.sharedAccessKeyName}) policy key. */
  sharedAccessKey?: string;
  /** Policy name when {@link DeviceConnectionString.sharedAccessKey} is a hub policy key. */
  sharedAccessKeyName?: string;
  /** A pre-built, non-renewable SAS token (`SharedAccessSignature sr=…`). */
  sharedAccessSignature?: string;
  /** `true` for X.509 client-certificate authentication (`x509=true`). */
  x509?: boolean;
  /** Host to open the network connection to (IoT Edge or an emulator), docs/internals/wire-contract.md#endpoints. */
  gatewayHostName?: string;
}

/** The parts of a service connection string signed with a hub policy key (docs/internals/wire-contract.md#service-connection-strings). */
export interface ServiceConnectionString {
  hostName: string;
  /** Policy name, e.g. `iothubowner`. */
  sharedAccessKeyName: string;
  /** Base64 policy key. */
  sharedAccessKey: string;
}

/** A service connection string that carries a pre-built SAS token instead of a key (C# accepts it, docs/internals/wire-contract.md#service-connection-strings). */
export interface ServiceSasConnectionString {
  hostName: string;
  /** A pre-built, non-renewable SAS token (`SharedAccessSignature sr=…&skn=…`). */
  sharedAccessSignature: string;
  /** Policy name, when the connection string names it. */
  sharedAccessKeyName?: string;
}

/** Options for {@link parseServiceConnectionString}. */
export interface ParseServiceConnectionStringOptions {
  /** Accept `SharedAccessSignature=` in place of `SharedAccessKey=` (C# behaviour). Defaults to `false`. */
  allowSharedAccessSignature?: boolean;
}

/**
 * Splits a connection string into its `Key=Value` pairs.
 *
 * Pairs are separated by `;` and split at the **first** `=`, so base64 padding and embedded SAS
 * tokens survive. Key names are case-sensitive, as in the Node SDK. Empty segments (a trailing
 * `;`) are skipped and, as in Node, pairs with an empty value are dropped.
 *
 * @param cs - The connection string.
 * @returns The pairs by key name (a prototype-free object).
 * @throws {@link TypeError} when a segment has no `=` or an empty name, or a key appears twice.
 * @example
 * ```ts
 * parseConnectionString('HostName=h;SharedAccessKey=AAEC=='); // { HostName: 'h', SharedAccessKey: 'AAEC==' }
 * ```
 */
export function parseConnectionString(cs: string): Record<string, string> {
  if (typeof cs !== 'string') throw new TypeError('Connection string must be a string');
  const pairs: Record<string, string> = Object.create(null) as Record<string, string>;
  const segments = cs.split(';');
  for (const [index, segment] of segments.entries()) {
    if (segment.trim().length === 0) continue;
    const eq = segment.indexOf('=');
    if (eq < 0) {
      throw new TypeError(
        `Connection string segment ${String(index + 1)} is not a Key=Value pair (no "=")`,
      );
    }
    const name = segment.slice(0, eq).trim();
    if (name.length === 0) {
      throw new TypeError(`Connection string segment ${String(index + 1)} has an empty key name`);
    }
    if (Object.hasOwn(pairs, name)) {
      throw new TypeError(`Connection string has "${name}" more than once`);
    }
    const value = segment.slice(eq + 1);
    if (value.length > 0) pairs[name] = value;
  }
  return pairs;
}

/**
 * Parses and validates a device or module connection string (docs/internals/wire-contract.md#device-connection-strings).
 *
 * `HostName` and `DeviceId` are required. Exactly one of `SharedAccessKey`,
 * `SharedAccessSignature` and `x509=true` (C#'s `X509Cert=true` is accepted too) must be present;
 * the key must be base64 and the signature a well-formed SAS token. `SharedAccessKeyName` needs a
 * `SharedAccessKey`. Unknown keys are ignored.
 *
 * @param cs - The connection string.
 * @returns The validated parts.
 * @throws {@link TypeError} when a required field is missing or a field is malformed; the
 *   message names the field and never includes key or signature values.
 * @example
 * ```ts
 * const { hostName, deviceId, sharedAccessKey } = parseDeviceConnectionString(
 *   'HostName=myhub.azure-devices.net;DeviceId=dev1;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
 * );
 * ```
 */
export function parseDeviceConnectionString(cs: string): DeviceConnectionString {
  const pairs = parseConnectionString(cs);
  const hostName = pairs.HostName;
  const deviceId = pairs.DeviceId;
  if (hostName === undefined) throw missing('Device', 'HostName');
  if (deviceId === undefined) throw missing('Device', 'DeviceId');
  const parts: DeviceConnectionString = { hostName, deviceId };
  copy(pairs, 'ModuleId', (v) => (parts.moduleId = v));
  copy(pairs, 'SharedAccessKeyName', (v) => (parts.sharedAccessKeyName = v));
  copy(pairs, 'SharedAccessKey', (v) => (parts.sharedAccessKey = v));
  copy(pairs, 'SharedAccessSignature', (v) => (parts.sharedAccessSignature = v));
  copy(pairs, 'GatewayHostName', (v) => (parts.gatewayHostName = v));
  const x509 = parseFlag(pairs, 'x509') || parseFlag(pairs, 'X509Cert');
  if (x509) parts.x509 = true;
  validateDevice(parts);
  return parts;
}

/**
 * Formats a device or module connection string; the inverse of {@link parseDeviceConnectionString}.
 *
 * Fields are written in the order `HostName, DeviceId, ModuleId, SharedAccessKeyName,
 * SharedAccessKey, SharedAccessSignature, x509, GatewayHostName`.
 *
 * @param parts - The parts; validated by the same rules as parsing.
 * @returns The connection string.
 * @throws {@link TypeError} when the parts would not parse back (missing fields, not exactly one
 *   authentication method, a bad key, or a value containing `;`).
 */
export function formatDeviceConnectionString(parts: DeviceConnectionString): string {
  validateDevice(parts);
  const fields: [string, string | undefined][] = [
    ['HostName', parts.hostName],
    ['DeviceId', parts.deviceId],
    ['ModuleId', parts.moduleId],
    ['SharedAccessKeyName', parts.sharedAccessKeyName],
    ['SharedAccessKey', parts.sharedAccessKey],
    ['SharedAccessSignature', parts.sharedAccessSignature],
    ['x509', parts.x509 === true ? 'true' : undefined],
    ['GatewayHostName', parts.gatewayHostName],
  ];
  return join(fields);
}

/**
 * Parses and validates a service connection string (docs/internals/wire-contract.md#service-connection-strings).
 *
 * `HostName`, `SharedAccessKeyName` and `SharedAccessKey` are required, as in the Node SDK. With
 * `{ allowSharedAccessSignature: true }` a `SharedAccessSignature` may replace the key, as C#
 * allows; the result then has `sharedAccessSignature` instead of `sharedAccessKey`.
 *
 * @param cs - The connection string.
 * @returns The validated parts.
 * @throws {@link TypeError} when a required field is missing or a field is malformed; the
 *   message names the field and never includes key or signature values.
 * @example
 * ```ts
 * const { hostName, sharedAccessKeyName, sharedAccessKey } = parseServiceConnectionString(
 *   'HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=',
 * );
 * ```
 */
export function parseServiceConnectionString(cs: string): ServiceConnectionString;
/**
 * Parses a service connection string that may carry a pre-built SAS token instead of a key.
 *
 * @param cs - The connection string.
 * @param options - `allowSharedAccessSignature: true` accepts `SharedAccessSignature=` in place of the key.
 * @returns The validated parts, with `sharedAccessSignature` or `sharedAccessKey`.
 * @throws {@link TypeError} when a required field is missing or a field is malformed.
 */
export function parseServiceConnectionString(
  cs: string,
  options: ParseServiceConnectionStringOptions,
): ServiceConnectionString | ServiceSasConnectionString;
export function parseServiceConnectionString(
  cs: string,
  options: ParseServiceConnectionStringOptions = {},
): ServiceConnectionString | ServiceSasConnectionString {
  if (options.allowSharedAccessSignature === true) {
    const pairs = parseConnectionString(cs);
    const hostName = pairs.HostName;
    const sharedAccessSignature = pairs.SharedAccessSignature;
    if (
      hostName !== undefined &&
      sharedAccessSignature !== undefined &&
      pairs.SharedAccessKey === undefined
    ) {
      const parts: ServiceSasConnectionString = { hostName, sharedAccessSignature };
      if (pairs.SharedAccessKeyName !== undefined)
        parts.sharedAccessKeyName = pairs.SharedAccessKeyName;
      validateService(parts);
      return parts;
    }
  }
  // Everything else is what the key-only parser answers, errors included.
  return parseServiceKeyConnectionString(cs);
}

/**
 * Parses and validates a service connection string that carries a key
 * (`HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`): what
 * {@link parseServiceConnectionString} does without options, in a function that does not reach
 * the SAS token parser, so clients that sign with keys do not bundle it.
 *
 * @param cs - The connection string.
 * @returns The validated parts.
 * @throws {@link TypeError} when a required field is missing or a field is malformed, or the
 *   string carries a `SharedAccessSignature`; the message names the field and never includes
 *   key or signature values.
 * @example
 * ```ts
 * const { hostName, sharedAccessKeyName, sharedAccessKey } = parseServiceKeyConnectionString(
 *   'HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=',
 * );
 * ```
 */
export function parseServiceKeyConnectionString(cs: string): ServiceConnectionString {
  const pairs = parseConnectionString(cs);
  const hostName = pairs.HostName;
  if (hostName === undefined) throw missing('Service', 'HostName');
  const sharedAccessKeyName = pairs.SharedAccessKeyName;
  const sharedAccessKey = pairs.SharedAccessKey;
  const sharedAccessSignature = pairs.SharedAccessSignature;
  if (sharedAccessSignature !== undefined && sharedAccessKey === undefined) {
    throw new TypeError(
      'Service connection string has SharedAccessSignature but no SharedAccessKey; ' +
        'pass { allowSharedAccessSignature: true } to accept a pre-built token',
    );
  }
  if (sharedAccessKeyName === undefined) throw missing('Service', 'SharedAccessKeyName');
  if (sharedAccessKey === undefined) throw missing('Service', 'SharedAccessKey');
  if (sharedAccessSignature !== undefined) {
    throw new TypeError(
      'Service connection string must not have both SharedAccessKey and SharedAccessSignature',
    );
  }
  const parts: ServiceConnectionString = { hostName, sharedAccessKeyName, sharedAccessKey };
  validateServiceKey(parts);
  return parts;
}

/**
 * Formats a service connection string; the inverse of {@link parseServiceConnectionString}.
 *
 * @param parts - Key-based or token-based service parts.
 * @returns `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` (or `…;SharedAccessSignature=…`).
 * @throws {@link TypeError} when the parts would not parse back.
 */
export function formatServiceConnectionString(
  parts: ServiceConnectionString | ServiceSasConnectionString,
): string {
  validateService(parts);
  if ('sharedAccessSignature' in parts) {
    return join([
      ['HostName', parts.hostName],
      ['SharedAccessKeyName', parts.sharedAccessKeyName],
      ['SharedAccessSignature', parts.sharedAccessSignature],
    ]);
  }
  return join([
    ['HostName', parts.hostName],
    ['SharedAccessKeyName', parts.sharedAccessKeyName],
    ['SharedAccessKey', parts.sharedAccessKey],
  ]);
}

/**
 * Splits `host[:port]` into host and port. Bracketed IPv6 literals (`[::1]:8883`) are unwrapped;
 * an unbracketed value with several colons is taken as a bare IPv6 address without a port.
 *
 * @param host - A `HostName` or `GatewayHostName` value.
 * @returns The host and, when present, the port.
 * @throws {@link TypeError} when the host is empty or the port is not a decimal number.
 * @throws {@link RangeError} when the port is outside 1–65535.
 * @example
 * ```ts
 * splitHostPort('localhost:8883'); // { host: 'localhost', port: 8883 }
 * ```
 */
export function splitHostPort(host: string): { host: string; port?: number } {
  if (typeof host !== 'string' || host.length === 0) {
    throw new TypeError('Host must be a non-empty string');
  }
  let name: string;
  let portText: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) throw new TypeError(`Host "${host}" has an unterminated IPv6 literal`);
    name = host.slice(1, end);
    const rest = host.slice(end + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':'))
        throw new TypeError(`Host "${host}" has text after the IPv6 literal`);
      portText = rest.slice(1);
    }
  } else {
    const colon = host.indexOf(':');
    if (colon < 0 || colon !== host.lastIndexOf(':')) {
      name = host;
    } else {
      name = host.slice(0, colon);
      portText = host.slice(colon + 1);
    }
  }
  if (name.length === 0) throw new TypeError(`Host "${host}" has an empty host name`);
  if (portText === undefined) return { host: name };
  if (!/^\d{1,5}$/.test(portText)) throw new TypeError(`Host "${host}" has a non-numeric port`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new RangeError(`Host "${host}" has a port outside 1-65535`);
  return { host: name, port };
}

function validateDevice(parts: DeviceConnectionString): void {
  validateHost('Device', 'HostName', parts.hostName);
  requireText('Device', 'DeviceId', parts.deviceId);
  if (parts.moduleId !== undefined) requireText('Device', 'ModuleId', parts.moduleId);
  if (parts.gatewayHostName !== undefined) {
    validateHost('Device', 'GatewayHostName', parts.gatewayHostName);
  }
  const methods = [
    parts.sharedAccessKey !== undefined ? 'SharedAccessKey' : undefined,
    parts.sharedAccessSignature !== undefined ? 'SharedAccessSignature' : undefined,
    parts.x509 === true ? 'x509=true' : undefined,
  ].filter((m) => m !== undefined);
  if (methods.length !== 1) {
    throw new TypeError(
      'Device connection string needs exactly one of SharedAccessKey, SharedAccessSignature ' +
        `or x509=true (found ${methods.length === 0 ? 'none' : methods.join(' and ')})`,
    );
  }
  if (parts.sharedAccessKey !== undefined) validateKey('Device', parts.sharedAccessKey);
  if (parts.sharedAccessSignature !== undefined) {
    validateSignature('Device', parts.sharedAccessSignature);
  }
  if (parts.sharedAccessKeyName !== undefined) {
    requireText('Device', 'SharedAccessKeyName', parts.sharedAccessKeyName);
    if (parts.sharedAccessKey === undefined) {
      throw new TypeError(
        'Device connection string has SharedAccessKeyName but no SharedAccessKey',
      );
    }
  }
}

function validateService(parts: ServiceConnectionString | ServiceSasConnectionString): void {
  if (!('sharedAccessSignature' in parts)) {
    validateServiceKey(parts);
    return;
  }
  validateHost('Service', 'HostName', parts.hostName);
  if (parts.sharedAccessKeyName !== undefined) {
    requireText('Service', 'SharedAccessKeyName', parts.sharedAccessKeyName);
  }
  validateSignature('Service', parts.sharedAccessSignature);
}

/** The checks of a key-based service string, apart so its parser does not reach parseSasToken. */
function validateServiceKey(parts: ServiceConnectionString): void {
  validateHost('Service', 'HostName', parts.hostName);
  // Checked when present: formatServiceConnectionString may get parts from untyped code.
  if ((parts.sharedAccessKeyName as string | undefined) !== undefined) {
    requireText('Service', 'SharedAccessKeyName', parts.sharedAccessKeyName);
  }
  validateKey('Service', parts.sharedAccessKey);
}

function validateHost(kind: string, field: string, value: string): void {
  requireText(kind, field, value);
  if (/[\s/?#@]/.test(value)) {
    throw new TypeError(
      `${kind} connection string ${field} must be a host name with an optional :port`,
    );
  }
  try {
    splitHostPort(value);
  } catch (error) {
    throw new TypeError(
      `${kind} connection string ${field} is invalid: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function validateKey(kind: string, value: string): void {
  requireText(kind, 'SharedAccessKey', value);
  if (!isBase64(value)) {
    throw new TypeError(`${kind} connection string SharedAccessKey is not valid base64`);
  }
}

function validateSignature(kind: string, value: string): void {
  requireText(kind, 'SharedAccessSignature', value);
  try {
    parseSasToken(value);
  } catch (error) {
    // parseSasToken's messages name fields only, never values.
    throw new TypeError(
      `${kind} connection string SharedAccessSignature is not a valid SAS token: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function requireText(kind: string, field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${kind} connection string ${field} must be a non-empty string`);
  }
  if (value.includes(';')) {
    throw new TypeError(`${kind} connection string ${field} must not contain ";"`);
  }
}

function missing(kind: string, field: string): TypeError {
  return new TypeError(`${kind} connection string is missing ${field}`);
}

function copy(pairs: Record<string, string>, name: string, set: (value: string) => void): void {
  const value = pairs[name];
  if (value !== undefined) set(value);
}

function parseFlag(pairs: Record<string, string>, name: string): boolean {
  const value = pairs[name];
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (lower !== 'true' && lower !== 'false') {
    throw new TypeError(`Device connection string ${name} must be "true" or "false"`);
  }
  return lower === 'true';
}

function join(fields: readonly [string, string | undefined][]): string {
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`)
    .join(';');
}
