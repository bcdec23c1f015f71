/**
 * Reading the body of a received AMQP twin message, as both the device transport and the hub
 * receive them (docs/internals/wire-contract.md#amqp-twin-links): one or more data sections, an
 * amqp-value string or binary, or no body at all (C#).
 */

const utf8 = /* @__PURE__ */ new TextDecoder();

/**
 * The body of a received message as text: data sections are concatenated, an amqp-value string
 * or binary is taken as is, and no body at all gives `undefined`.
 *
 * @param body - `message.body` as the AMQP library decoded it: a string, bytes, or a data
 *   section `{ content, multiple? }` (rhea's shape)
 * @returns the UTF-8 text, or `undefined` when there is no body or it is of another kind
 * @example
 * ```ts
 * amqpBodyText({ content: new TextEncoder().encode('{"a":1}') }); // '{"a":1}'
 * ```
 */
export function amqpBodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return utf8.decode(body);
  if (typeof body === 'object' && 'content' in body) {
    const section = body as { content: unknown; multiple?: boolean };
    const parts = (
      section.multiple === true && Array.isArray(section.content)
        ? (section.content as unknown[])
        : [section.content]
    ).filter((part): part is Uint8Array => part instanceof Uint8Array);
    const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return utf8.decode(joined);
  }
  return undefined;
}
