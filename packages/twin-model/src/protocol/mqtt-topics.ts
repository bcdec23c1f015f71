/**
 * MQTT twin topics, client id and username (docs/internals/wire-contract.md#mqtt-connect, docs/internals/wire-contract.md#mqtt-topics): the builders the device
 * transport publishes with and the parsers the hub routes with, so both sides agree byte for byte.
 */
import { TWIN_TOPIC_PREFIX } from './device-endpoints.js';
import { MQTT_MODEL_ID_PARAMETER } from './plug-and-play.js';
import { API_VERSION } from './rest.js';

/** Filter every SDK subscribes to before its first twin request (docs/internals/wire-contract.md#mqtt-topics). */
export const TWIN_RESPONSE_TOPIC_FILTER = '$iothub/twin/res/#';

/** Filter for desired-property notifications (docs/internals/wire-contract.md#mqtt-topics). */
export const DESIRED_PATCH_TOPIC_FILTER = '$iothub/twin/PATCH/properties/desired/#';

const TWIN_PREFIX = TWIN_TOPIC_PREFIX;

/** A twin topic recognised by {@link parseTwinTopic}. */
export type ParsedTwinTopic =
  | { kind: 'get'; rid: string }
  | { kind: 'patch-reported'; rid: string; baseVersion?: number }
  | { kind: 'response'; status: number; rid: string; version?: number }
  | { kind: 'desired-patch'; version: number };

/** Options for {@link mqttUsername}. */
export interface MqttUsernameOptions {
  /** Hub host name (or the gateway host, as C# does behind `GatewayHostName`, docs/internals/wire-contract.md#endpoints). */
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** Defaults to {@link API_VERSION}. */
  apiVersion?: string;
  /** User agent sent as `DeviceClientType`. */
  clientType?: string;
  /** IoT Plug and Play model id (`dtmi:…`), sent as `model-id`. */
  modelId?: string;
}

/** The parts of an MQTT CONNECT username, as returned by {@link parseMqttUsername}. */
export interface ParsedMqttUsername {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** Query parameters, percent-decoded (`+` stays `+`); the first occurrence of a key wins. */
  query: Record<string, string>;
}

/**
 * Builds the twin GET request topic (docs/internals/wire-contract.md#mqtt-twin-get).
 *
 * @param rid - Request id, echoed verbatim in the response topic.
 * @returns `$iothub/twin/GET/?$rid=<rid>`.
 * @throws {@link TypeError} when the rid is empty or contains a character that would break the
 *   topic (`& ? # + /`, whitespace or control characters).
 * @example
 * ```ts
 * twinGetTopic('42'); // '$iothub/twin/GET/?$rid=42'
 * ```
 */
export function twinGetTopic(rid: string): string {
  return `${TWIN_PREFIX}GET/?$rid=${checkRid(rid)}`;
}

/**
 * Builds the reported-properties PATCH request topic (docs/internals/wire-contract.md#mqtt-reported-patch).
 *
 * @param rid - Request id, echoed verbatim in the response topic.
 * @param baseVersion - Optional `reported.$version` precondition; a mismatch gets 412.
 * @returns `$iothub/twin/PATCH/properties/reported/?$rid=<rid>[&$version=<v>]`.
 * @throws {@link TypeError} when the rid is unusable (see {@link twinGetTopic}).
 * @throws {@link RangeError} when the version is not a non-negative safe integer.
 */
export function reportedPatchTopic(rid: string, baseVersion?: number): string {
  const topic = `${TWIN_PREFIX}PATCH/properties/reported/?$rid=${checkRid(rid)}`;
  return baseVersion === undefined ? topic : `${topic}&$version=${checkVersion(baseVersion)}`;
}

/**
 * Builds a twin response topic (docs/internals/wire-contract.md#device-errors).
 *
 * The shape is rigid because SDK parsers are: a 3-digit status, a slash before `?` (C, C#, Java),
 * `$rid` first (C) and the rid byte for byte.
 *
 * @param status - HTTP-like status, 100–999 (200 GET, 204 PATCH, 4xx/5xx errors).
 * @param rid - The request's rid, verbatim.
 * @param version - New `reported.$version`, for a 204 PATCH response.
 * @returns `$iothub/twin/res/<status>/?$rid=<rid>[&$version=<v>]`.
 * @throws {@link RangeError} when the status is not a 3-digit integer or the version is invalid.
 * @throws {@link TypeError} when the rid is unusable (see {@link twinGetTopic}).
 * @example
 * ```ts
 * twinResponseTopic(204, '7', 6); // '$iothub/twin/res/204/?$rid=7&$version=6'
 * ```
 */
export function twinResponseTopic(status: number, rid: string, version?: number): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError('Twin response status must be a 3-digit integer');
  }
  const topic = `${TWIN_PREFIX}res/${String(status)}/?$rid=${checkRid(rid)}`;
  return version === undefined ? topic : `${topic}&$version=${checkVersion(version)}`;
}

/**
 * Builds the desired-properties notification topic (docs/internals/wire-contract.md#mqtt-desired). Embedded C skips exactly one
 * character after `desired/`, hence `desired/?$version=`.
 *
 * @param version - The new `desired.$version`.
 * @returns `$iothub/twin/PATCH/properties/desired/?$version=<v>`.
 * @throws {@link RangeError} when the version is not a non-negative safe integer.
 */
export function desiredPatchTopic(version: number): string {
  return `${TWIN_PREFIX}PATCH/properties/desired/?$version=${checkVersion(version)}`;
}

/**
 * Recognises a twin topic and extracts its parameters.
 *
 * Verbs (`GET`, `PATCH`) match case-insensitively, a missing slash before `?` is tolerated, the
 * rid is returned verbatim (not decoded) and unknown query parameters are ignored. Response
 * statuses must be exactly 3 digits.
 *
 * @param topic - An MQTT topic name.
 * @returns The parsed topic, or `undefined` when it is not a well-formed twin topic.
 * @example
 * ```ts
 * parseTwinTopic('$iothub/twin/res/200/?$rid=1'); // { kind: 'response', status: 200, rid: '1' }
 * ```
 */
export function parseTwinTopic(topic: string): ParsedTwinTopic | undefined {
  if (typeof topic !== 'string' || !topic.startsWith(TWIN_PREFIX)) return undefined;
  const rest = topic.slice(TWIN_PREFIX.length);
  const q = rest.indexOf('?');
  if (q < 0) return undefined;
  const path = rest.slice(0, q).replace(/\/$/, '');
  const params = parseTopicQuery(rest.slice(q + 1));
  const rid = params.get('$rid');
  const version = params.get('$version');
  const parsedVersion = version === undefined ? undefined : parseVersion(version);
  if (parsedVersion === null) return undefined;
  const lower = path.toLowerCase();

  if (lower === 'get') {
    return rid === undefined ? undefined : { kind: 'get', rid };
  }
  if (lower === 'patch/properties/reported') {
    if (rid === undefined) return undefined;
    return parsedVersion === undefined
      ? { kind: 'patch-reported', rid }
      : { kind: 'patch-reported', rid, baseVersion: parsedVersion };
  }
  if (lower === 'patch/properties/desired') {
    return parsedVersion === undefined
      ? undefined
      : { kind: 'desired-patch', version: parsedVersion };
  }
  const response = /^res\/(\d{3})$/.exec(path);
  if (response?.[1] !== undefined && rid !== undefined) {
    const status = Number(response[1]);
    return parsedVersion === undefined
      ? { kind: 'response', status, rid }
      : { kind: 'response', status, rid, version: parsedVersion };
  }
  return undefined;
}

/**
 * Builds the MQTT client id (docs/internals/wire-contract.md#mqtt-connect).
 *
 * @param deviceId - The device id.
 * @param moduleId - The module id, for a module client.
 * @returns `<deviceId>` or `<deviceId>/<moduleId>`.
 * @throws {@link TypeError} when an id is empty.
 */
export function mqttClientId(deviceId: string, moduleId?: string): string {
  requireId(deviceId, 'deviceId');
  if (moduleId === undefined) return deviceId;
  requireId(moduleId, 'moduleId');
  return `${deviceId}/${moduleId}`;
}

/**
 * Builds the MQTT CONNECT username (docs/internals/wire-contract.md#mqtt-connect): `<host>/<clientId>/?api-version=…`, with the slash
 * before `?`, then `&model-id=…` and `&DeviceClientType=…` when given (Node's order). Every query
 * value is percent-encoded.
 *
 * @param options - Host, identity and query values.
 * @returns The username.
 * @throws {@link TypeError} when the host name or an id is empty.
 * @example
 * ```ts
 * mqttUsername({ hostName: 'myhub.azure-devices.net', deviceId: 'dev1' });
 * // 'myhub.azure-devices.net/dev1/?api-version=2021-04-12'
 * ```
 */
export function mqttUsername(options: MqttUsernameOptions): string {
  const { hostName, deviceId, moduleId, apiVersion = API_VERSION, clientType, modelId } = options;
  requireId(hostName, 'hostName');
  let username = `${hostName}/${mqttClientId(deviceId, moduleId)}/?api-version=${encodeURIComponent(apiVersion)}`;
  if (modelId !== undefined)
    username += `&${MQTT_MODEL_ID_PARAMETER}=${encodeURIComponent(modelId)}`;
  if (clientType !== undefined) username += `&DeviceClientType=${encodeURIComponent(clientType)}`;
  return username;
}

/**
 * Parses an MQTT CONNECT username of the form `<host>/<deviceId>[/<moduleId>]/?<query>`.
 *
 * The query starts at the first `/?`, so device ids containing `?` still parse. A username
 * without a query is accepted. Query parameters are percent-decoded; a value with a broken
 * escape is kept as written.
 *
 * @param username - The username from CONNECT.
 * @returns The parts, or `undefined` when there is no host or device id or too many segments.
 */
export function parseMqttUsername(username: string): ParsedMqttUsername | undefined {
  if (typeof username !== 'string') return undefined;
  const split = username.indexOf('/?');
  const path = split < 0 ? username.replace(/\/$/, '') : username.slice(0, split);
  const queryText = split < 0 ? '' : username.slice(split + 2);
  const segments = path.split('/');
  const [hostName, deviceId, moduleId] = segments;
  if (segments.length > 3 || !hostName || !deviceId || moduleId === '') return undefined;
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of queryText.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const key = lenientDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (key.length === 0 || Object.hasOwn(query, key)) continue;
    query[key] = eq < 0 ? '' : lenientDecode(pair.slice(eq + 1));
  }
  return moduleId === undefined
    ? { hostName, deviceId, query }
    : { hostName, deviceId, moduleId, query };
}

function parseTopicQuery(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq);
    // First occurrence wins, so a duplicated $rid cannot redirect a response.
    if (!params.has(key)) params.set(key, pair.slice(eq + 1));
  }
  return params;
}

// null marks a present but malformed version, which makes the whole topic malformed.
function parseVersion(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function checkRid(rid: string): string {
  if (typeof rid !== 'string' || rid.length === 0) {
    throw new TypeError('Twin request id ($rid) must be a non-empty string');
  }
  // These would end the rid early, start a second query, or are illegal in MQTT topic names.
  if (/[&?#+/\s]/.test(rid) || hasControlCharacter(rid)) {
    throw new TypeError(
      'Twin request id ($rid) must not contain & ? # + / whitespace or control characters',
    );
  }
  return rid;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function checkVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new RangeError('Twin $version must be a non-negative integer');
  }
  return String(version);
}

function requireId(value: string, field: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string`);
  }
}

function lenientDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
