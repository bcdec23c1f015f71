/**
 * Building and reading the AMQP messages of the twin and CBS exchanges with the exact AMQP types
 * the official SDKs insist on (docs/internals/wire-contract.md#amqp-cbs, docs/internals/wire-contract.md#amqp-twin-links): `status` int, `version`
 * long, symbol annotation keys, data-section bodies, and responses with no body section at all.
 */
import rhea from 'rhea';

/** The encoded form of an absent body: described(0x77 amqp-value, null). rhea always appends one. */
const NULL_VALUE_BODY = Buffer.from([0x00, 0x53, 0x77, 0x40]);

/** What a hub-to-client message carries. */
export interface OutgoingMessage {
  /** Echoed request id, handed back to rhea unchanged so its AMQP type survives (string, ulong, uuid). */
  correlationId?: unknown;
  to?: string | undefined;
  /** Message annotations; values must already be typed (`rhea.types.wrap_int` …). */
  annotations?: Record<string, unknown> | undefined;
  /** Application properties; values must already be typed where the type matters. */
  applicationProperties?: Record<string, unknown> | undefined;
  /** One data section; omitted → the message has no body section. */
  body?: string | undefined;
}

/**
 * Encodes a message for `sender.send(bytes, undefined, 0)`. rhea's own encoder always adds a
 * body; twin responses without content go out with none, as IoT Hub sends them (docs/internals/wire-contract.md#amqp-twin-links).
 *
 * @param message - the parts
 * @returns the encoded bare message
 */
export function encodeMessage(message: OutgoingMessage): Buffer {
  const amqp: Record<string, unknown> = {};
  if (message.correlationId !== undefined) amqp.correlation_id = message.correlationId;
  if (message.to !== undefined) amqp.to = message.to;
  if (message.annotations !== undefined) amqp.message_annotations = message.annotations;
  if (message.applicationProperties !== undefined)
    amqp.application_properties = message.applicationProperties;
  if (message.body !== undefined) {
    amqp.body = rhea.message.data_section(Buffer.from(message.body, 'utf8'));
    return rhea.message.encode(amqp);
  }
  const encoded = rhea.message.encode(amqp);
  const tail = encoded.subarray(encoded.length - NULL_VALUE_BODY.length);
  return tail.equals(NULL_VALUE_BODY)
    ? encoded.subarray(0, encoded.length - NULL_VALUE_BODY.length)
    : encoded;
}

/** An AMQP int (the `status` annotation, the CBS `status-code`). */
export function amqpInt(value: number): unknown {
  return rhea.types.wrap_int(value);
}

/** An AMQP long (the `version` annotation). */
export function amqpLong(value: number): unknown {
  return rhea.types.wrap_long(value);
}

/**
 * The body of a received message as text: data sections are concatenated, an amqp-value string
 * or binary is taken as is, and no body at all (C#) gives `undefined`.
 *
 * @param body - `message.body` as rhea decoded it
 * @returns the UTF-8 text, or `undefined` when there is no body
 */
export function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (typeof body === 'object' && 'content' in body) {
    const section = body as { content: unknown; multiple?: boolean };
    const parts =
      section.multiple === true && Array.isArray(section.content)
        ? section.content
        : [section.content];
    const buffers = parts
      .filter((part): part is Uint8Array => part instanceof Uint8Array)
      .map((part) => Buffer.from(part));
    return Buffer.concat(buffers).toString('utf8');
  }
  return undefined;
}
