/**
 * Says what is wrong with a twin topic that twin-model's `parseTwinTopic` refused, so a malformed
 * response fails its request at once (instead of leaving it to time out) and a malformed desired
 * notification is reported instead of silently dropped. Recognised by the prefixes of the twin
 * topic filters the transport subscribes to.
 *
 * @internal
 */
import { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import {
  DESIRED_PATCH_TOPIC_FILTER,
  TWIN_RESPONSE_TOPIC_FILTER,
  TWIN_TOPIC_PREFIX,
} from '@twinkit/twin-model/protocol';
import { malformedVersionError, parseVersionText } from '../twin-response.js';

/** A twin topic that is not well formed, and the error it stands for. */
export type MalformedTwinTopic =
  /** A response to request `rid`; the request fails with `error`. */
  | { kind: 'response'; rid: string; error: UnexpectedResponseError }
  /** A desired-property notification; it is dropped and `error` reported. */
  | { kind: 'desired-patch'; error: UnexpectedResponseError };

const RESPONSE_PREFIX = TWIN_RESPONSE_TOPIC_FILTER.slice(0, -1).toLowerCase();
const DESIRED_PREFIX = DESIRED_PATCH_TOPIC_FILTER.slice(0, -1).toLowerCase();

function queryOf(topic: string): Map<string, string> {
  const params = new Map<string, string>();
  const start = topic.indexOf('?');
  if (start < 0) return params;
  for (const pair of topic.slice(start + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq);
    // The first occurrence wins, as in parseTwinTopic.
    if (!params.has(key)) params.set(key, pair.slice(eq + 1));
  }
  return params;
}

/**
 * Explains a twin topic that does not parse.
 *
 * @param topic - a topic `parseTwinTopic` returned `undefined` for
 * @returns what it is and the error to raise, or `undefined` for a topic that is no twin
 *   response or notification, or a response without a `$rid` (no request to fail)
 */
export function explainMalformedTwinTopic(topic: string): MalformedTwinTopic | undefined {
  const lower = topic.toLowerCase();
  const params = queryOf(topic);
  const version = params.get('$version');
  if (lower.startsWith(RESPONSE_PREFIX)) {
    const rid = params.get('$rid');
    if (rid === undefined) return undefined;
    const status = /^(\d{3})\/?\?/.exec(topic.slice(RESPONSE_PREFIX.length))?.[1];
    const statusCode = status === undefined ? undefined : Number(status);
    if (version !== undefined && parseVersionText(version) === undefined) {
      return {
        kind: 'response',
        rid,
        error: malformedVersionError('a twin response topic', version, statusCode),
      };
    }
    return {
      kind: 'response',
      rid,
      error: new UnexpectedResponseError(
        `The hub answered on a malformed twin response topic (${topic}); the answer was not used.`,
        statusCode,
        `a response topic ${TWIN_TOPIC_PREFIX}res/<3-digit status>/?$rid=<rid>[&$version=<n>]`,
      ),
    };
  }
  if (lower.startsWith(DESIRED_PREFIX)) {
    return {
      kind: 'desired-patch',
      error: malformedVersionError('a desired-property notification topic', version, undefined),
    };
  }
  return undefined;
}
