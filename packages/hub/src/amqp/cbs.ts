/**
 * Claims-based security for the AMQP endpoint (docs/internals/wire-contract.md#amqp-cbs): reading a put-token request
 * off the wire. Whether the token holds, and what it reaches, is the device-session core's call
 * (device-session/credentials.ts), the same as for MQTT.
 */
import {
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  KnownCbsTokenType,
} from '@twinkit/twin-model/protocol';

/** A put-token request taken apart. */
export interface PutTokenRequest {
  /** The `SharedAccessSignature …` text (never logged). */
  token: string;
  /** The `name` application property, as sent (Node sends it URL-encoded, C raw). */
  audience: string;
}

/** A CBS answer: `status-code` (an AMQP int) and `status-description`. */
export interface CbsStatus {
  statusCode: number;
  description: string;
}

const TOKEN_TYPES: ReadonlySet<string> = new Set(Object.values(KnownCbsTokenType));

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  // A data-section body (rhea Section): `content` holds the bytes.
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const content = value.content;
    if (content instanceof Uint8Array) return Buffer.from(content).toString('utf8');
  }
  return undefined;
}

/**
 * Reads a put-token request from a message sent to `$cbs`.
 *
 * @param applicationProperties - the message's application properties
 * @param body - the message body (an amqp-value string; a data section is accepted too)
 * @returns the request, or the 400 to answer with
 */
export function readPutToken(
  applicationProperties: Record<string, unknown> | undefined,
  body: unknown,
): { ok: true; request: PutTokenRequest } | ({ ok: false } & CbsStatus) {
  const properties = applicationProperties ?? {};
  const operation = properties[CBS_PROPERTY.operation];
  if (operation !== CBS_PUT_TOKEN_OPERATION) {
    return {
      ok: false,
      statusCode: 400,
      description: `Unsupported CBS operation '${String(operation)}'.`,
    };
  }
  const type = properties[CBS_PROPERTY.type];
  if (typeof type !== 'string' || !TOKEN_TYPES.has(type)) {
    return { ok: false, statusCode: 400, description: `Unsupported token type '${String(type)}'.` };
  }
  const audience = properties[CBS_PROPERTY.name];
  if (typeof audience !== 'string' || audience === '') {
    return {
      ok: false,
      statusCode: 400,
      description: 'The put-token request has no audience (name).',
    };
  }
  const token = textOf(body);
  if (token === undefined || token.trim() === '') {
    return {
      ok: false,
      statusCode: 400,
      description: 'The put-token request has no token in its body.',
    };
  }
  return { ok: true, request: { token: token.trim(), audience } };
}
