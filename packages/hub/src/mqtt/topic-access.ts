/**
 * Which topics an MQTT identity may touch: a device or module only ever publishes its own twin
 * requests, method responses and telemetry, and only subscribes to the filters the SDKs use
 * (docs/internals/wire-contract.md#mqtt-topics). Everything else is refused, so no device can read or write another's data.
 */
import {
  DESIRED_PATCH_TOPIC_FILTER,
  DEVICE_TOPIC_LEVEL,
  METHOD_REQUEST_TOPIC_FILTER,
  METHOD_RESPONSE_TOPIC_PREFIX,
  TWIN_RESPONSE_TOPIC_FILTER,
  TWIN_TOPIC_PREFIX,
  parseTwinTopic,
  twinResponseTopic,
} from '@twinkit/twin-model/protocol';
import type { DeviceIdentity as MqttIdentity } from '../device-endpoint/endpoint-support.js';

/** A twin request a device published: a GET or a reported-properties PATCH (docs/internals/wire-contract.md#mqtt-twin-get, docs/internals/wire-contract.md#mqtt-reported-patch). */
export type MqttTwinRequest =
  | { readonly kind: 'get'; readonly rid: string }
  | {
      readonly kind: 'patch-reported';
      readonly rid: string;
      readonly baseVersion?: number | undefined;
    };

/**
 * What to do with a device's PUBLISH:
 * - `twin`: a twin request the hub answers;
 * - `accepted`: telemetry or a method response; acknowledged and dropped (only twins are emulated);
 * - `refused`: not this identity's topic, or malformed; the connection is closed (MQTT-3.3.5-2).
 */
export type MqttPublishVerdict =
  | { readonly kind: 'twin'; readonly request: MqttTwinRequest }
  | { readonly kind: 'accepted'; readonly purpose: 'telemetry' | 'method-response' }
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * Parses an MQTT client id: `<deviceId>` or `<deviceId>/<moduleId>` (docs/internals/wire-contract.md#mqtt-connect). Device ids cannot
 * contain `/`, so the first slash separates the two.
 *
 * @param clientId - the CONNECT client id
 * @returns the identity, or `undefined` when the id is empty or has an empty or extra segment
 */
export function parseMqttClientId(clientId: string): MqttIdentity | undefined {
  const segments = clientId.split('/');
  const [deviceId, moduleId] = segments;
  if (segments.length > 2 || !deviceId || moduleId === '') return undefined;
  return moduleId === undefined ? { deviceId } : { deviceId, moduleId };
}

/**
 * Decides what a PUBLISH from an identity means (docs/internals/wire-contract.md#mqtt-topics, docs/internals/wire-contract.md#mqtt-twin-get, docs/internals/wire-contract.md#mqtt-reported-patch).
 *
 * @param identity - who published
 * @param topic - the topic name
 * @returns the verdict
 */
export function classifyDevicePublish(identity: MqttIdentity, topic: string): MqttPublishVerdict {
  if (topic.startsWith(TWIN_TOPIC_PREFIX)) {
    const parsed = parseTwinTopic(topic);
    if (parsed === undefined) return { kind: 'refused', reason: 'malformed twin topic' };
    if (parsed.kind !== 'get' && parsed.kind !== 'patch-reported') {
      return {
        kind: 'refused',
        reason: 'devices may only publish twin GET and reported PATCH requests',
      };
    }
    if (!isAnswerableRid(parsed.rid))
      return { kind: 'refused', reason: 'the $rid cannot be echoed in a response topic' };
    return { kind: 'twin', request: parsed };
  }
  if (topic.startsWith(METHOD_RESPONSE_TOPIC_PREFIX)) {
    return { kind: 'accepted', purpose: 'method-response' };
  }
  const segments = topic.split('/');
  const own = ownPrefixLength(identity, segments);
  if (
    own !== undefined &&
    segments.slice(own, own + 2).join('/') === DEVICE_TOPIC_LEVEL.telemetry
  ) {
    return { kind: 'accepted', purpose: 'telemetry' };
  }
  return { kind: 'refused', reason: 'topic does not belong to this identity' };
}

/**
 * Tells whether an identity may subscribe to a topic filter. Only the filters of docs/internals/wire-contract.md#mqtt-topics are
 * granted, with this identity's own ids (or `+` in their place, as the embedded C SDK writes
 * `devices/+/messages/devicebound/#`; deliveries are per connection, so `+` reveals nothing).
 *
 * @param identity - who subscribes
 * @param filter - the topic filter
 * @returns `true` when the subscription is granted
 */
export function isSubscriptionAllowed(identity: MqttIdentity, filter: string): boolean {
  if (
    filter === TWIN_RESPONSE_TOPIC_FILTER ||
    filter === DESIRED_PATCH_TOPIC_FILTER ||
    filter === METHOD_REQUEST_TOPIC_FILTER
  ) {
    return true;
  }
  const segments = filter.split('/');
  const own = ownPrefixLength(identity, segments, true);
  if (own === undefined) return false;
  const rest = segments.slice(own).join('/');
  if (identity.moduleId === undefined) return rest === DEVICE_TOPIC_LEVEL.cloudToDeviceFilter;
  return rest === DEVICE_TOPIC_LEVEL.moduleInputsFilter || rest === '#';
}

/**
 * MQTT topic matching (MQTT 3.1.1 §4.7): `+` matches one level, a trailing `#` matches the
 * parent level and everything below it.
 *
 * @param filter - a topic filter
 * @param topic - a topic name
 * @returns `true` when the filter matches the topic
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === '#') return index === filterLevels.length - 1;
    const actual = topicLevels[index];
    if (actual === undefined) return false;
    if (level !== '+' && level !== actual) return false;
  }
  return filterLevels.length === topicLevels.length;
}

// Device ids may hold characters that SDKs percent-encode in topics (Node encodes the id), so the
// id segment is accepted verbatim or encoded.
function idMatches(segment: string | undefined, id: string, allowWildcard: boolean): boolean {
  if (segment === undefined) return false;
  if (allowWildcard && segment === '+') return true;
  return segment === id || segment === encodeURIComponent(id);
}

/** Number of leading segments that name this identity (`devices/<id>[/modules/<mid>]`), if they do. */
function ownPrefixLength(
  identity: MqttIdentity,
  segments: readonly string[],
  allowWildcard = false,
): number | undefined {
  if (segments[0] !== 'devices' || !idMatches(segments[1], identity.deviceId, allowWildcard))
    return undefined;
  if (identity.moduleId === undefined) return segments[2] === 'modules' ? undefined : 2;
  if (segments[2] !== 'modules' || !idMatches(segments[3], identity.moduleId, allowWildcard))
    return undefined;
  return 4;
}

function isAnswerableRid(rid: string): boolean {
  try {
    twinResponseTopic(200, rid);
    return true;
  } catch {
    return false;
  }
}
