/**
 * The messages the AMQP transport sends and receives (docs/internals/wire-contract.md#amqp-cbs, docs/internals/wire-contract.md#amqp-twin-links): twin
 * requests, CBS put-token, and what the twin and `$cbs` receivers get back, checked against what
 * the protocol allows (twin-response.ts). Node only (Buffer).
 *
 * @internal
 */
import type { JsonObject } from '@twinkit/twin-model';
import type { UnexpectedResponseError } from '@twinkit/twin-model/errors';
import {
  CBS_NODE,
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  KnownCbsTokenType,
  TWIN_ANNOTATION,
  deviceResourceUri,
  parseSasToken,
} from '@twinkit/twin-model/protocol';
import { message as amqpMessage, type Message } from 'rhea-promise';
import type { ConnectParams } from '../transport.js';
import { isTwinVersion, malformedVersionError, readDesiredNotification } from '../twin-response.js';

/** A twin response as the transport reads it. */
export interface TwinResponse {
  status: number | undefined;
  version: number | undefined;
  body: string | undefined;
}

/** A CBS put-token answer. */
export interface CbsResponse {
  statusCode: number | undefined;
  description: string | undefined;
}

/** What arrived on the twin receiver. */
export type TwinMessage =
  /** The answer to request `rid`, or why it cannot be used. */
  | { kind: 'response'; rid: string; response: TwinResponse | UnexpectedResponseError }
  /** A desired-property notification. */
  | { kind: 'notification'; patch: JsonObject; version: number }
  /** A notification the protocol does not allow. */
  | { kind: 'violation'; error: UnexpectedResponseError };

/** The body of a received message as text (data sections, or an amqp-value string/binary). */
function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (typeof body === 'object' && 'content' in body) {
    const section = body as { content: unknown; multiple?: boolean };
    const parts =
      section.multiple === true && Array.isArray(section.content)
        ? section.content
        : [section.content];
    return Buffer.concat(
      parts.filter((part): part is Uint8Array => part instanceof Uint8Array),
    ).toString('utf8');
  }
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * A twin request (docs/internals/wire-contract.md#amqp-twin-links): correlation-id as a string, symbol-keyed annotations, a data-section body.
 *
 * @param rid - the correlation id
 * @param annotations - operation and resource
 * @param body - the request body
 * @returns the message
 */
export function createTwinRequest(
  rid: string,
  annotations: Record<string, string>,
  body: string,
): Message {
  return {
    correlation_id: rid,
    message_annotations: annotations,
    body: amqpMessage.data_section(Buffer.from(body, 'utf8')) as unknown,
  };
}

/**
 * A CBS put-token request (docs/internals/wire-contract.md#amqp-cbs); Node sends the token's `sr` (still URL-encoded) as the audience.
 *
 * @param rid - the message id
 * @param token - the SAS token
 * @param params - whose token it is
 * @returns the message
 */
export function createPutTokenRequest(rid: string, token: string, params: ConnectParams): Message {
  let audience: string;
  try {
    audience = parseSasToken(token).rawResource;
  } catch {
    audience = encodeURIComponent(
      deviceResourceUri(params.hostName, params.deviceId, params.moduleId),
    );
  }
  return {
    message_id: rid,
    reply_to: 'cbs',
    to: CBS_NODE,
    application_properties: {
      [CBS_PROPERTY.operation]: CBS_PUT_TOKEN_OPERATION,
      [CBS_PROPERTY.type]: KnownCbsTokenType.serviceBusSas,
      [CBS_PROPERTY.name]: audience,
    },
    body: token,
  };
}

/**
 * Reads a message from the `$cbs` receiver.
 *
 * @param message - what arrived
 * @returns the request it answers and the answer, or `undefined` for a message without correlation
 */
export function readCbsResponse(
  message: Message | undefined,
): { rid: string; response: CbsResponse } | undefined {
  if (message?.correlation_id === undefined) return undefined;
  const properties = (message.application_properties ?? {}) as Record<string, unknown>;
  const description = properties[CBS_PROPERTY.statusDescription];
  return {
    rid: String(message.correlation_id),
    response: {
      statusCode: numberOf(properties[CBS_PROPERTY.statusCode]),
      description: typeof description === 'string' ? description : undefined,
    },
  };
}

/**
 * Reads a message from the twin receiver (docs/internals/wire-contract.md#amqp-twin-links: responses carry the request's correlation-id,
 * notifications none). A version, in the `version` annotation or a notification body's
 * `$version`, must be a twin version.
 *
 * @param message - what arrived
 * @returns the response, notification or violation
 */
export function readTwinMessage(message: Message): TwinMessage {
  const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
  const body = bodyText(message.body);
  const version: unknown = annotations[TWIN_ANNOTATION.version] ?? undefined;
  if (message.correlation_id !== undefined) {
    const status = numberOf(annotations[TWIN_ANNOTATION.status]);
    const rid = String(message.correlation_id);
    if (version !== undefined && !isTwinVersion(version)) {
      return {
        kind: 'response',
        rid,
        response: malformedVersionError(
          'the version annotation of a twin response',
          version,
          status,
        ),
      };
    }
    return { kind: 'response', rid, response: { status, version, body } };
  }
  try {
    const notification = readDesiredNotification(body);
    if (version !== undefined && !isTwinVersion(version)) {
      throw malformedVersionError(
        'the version annotation of a desired notification',
        version,
        undefined,
      );
    }
    const patchVersion = notification.version ?? version;
    if (patchVersion === undefined) {
      throw malformedVersionError('a desired notification', undefined, undefined);
    }
    return { kind: 'notification', patch: notification.patch, version: patchVersion };
  } catch (error) {
    return { kind: 'violation', error: error as UnexpectedResponseError };
  }
}
