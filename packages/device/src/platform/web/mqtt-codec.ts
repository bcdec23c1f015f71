/**
 * The MQTT 3.1.1 packets a device client sends and receives, encoded to and decoded from
 * `Uint8Array` with no `Buffer` (MQTT 3.1.1,
 * https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html). Only the client side:
 * the packets a broker sends to a client are decoded, the ones a client sends are encoded, and
 * anything else from the broker is a protocol error. QoS 2 is not spoken (the device never asks
 * for it).
 *
 * @internal
 */

/** Control packet types, the high nibble of the first byte (MQTT-2.2.1). */
const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBSCRIBE = 8;
const SUBACK = 9;
const UNSUBSCRIBE = 10;
const UNSUBACK = 11;
const PINGREQ = 12;
const PINGRESP = 13;
const DISCONNECT = 14;

/** The largest Remaining Length four bytes can encode (MQTT-2.2.3). */
const MAX_REMAINING_LENGTH = 268_435_455;
/** UTF-8 strings and binary fields carry a two-byte length (MQTT-1.5.3). */
const MAX_FIELD_BYTES = 65_535;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A packet a broker sends to a client. */
export type IncomingPacket =
  | { type: 'connack'; sessionPresent: boolean; returnCode: number }
  | { type: 'publish'; topic: string; payload: Uint8Array; qos: 0 | 1; packetId?: number }
  | { type: 'puback'; packetId: number }
  | { type: 'suback'; packetId: number; grantedQos: number[] }
  | { type: 'unsuback'; packetId: number }
  | { type: 'pingresp' };

/** What a CONNECT carries for an IoT Hub device (MQTT-3.1). */
export interface ConnectFields {
  clientId: string;
  username: string;
  password?: string;
  keepAliveInSeconds: number;
  cleanSession: boolean;
}

/** The broker sent bytes that are not a packet a client can receive. */
export class MqttProtocolError extends Error {
  override readonly name = 'MqttProtocolError';
}

/** An encoded UTF-8 field: two-byte length, then the bytes (MQTT-1.5.3). */
function field(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (bytes.length > MAX_FIELD_BYTES) {
    throw new RangeError(
      `An MQTT string field is at most ${String(MAX_FIELD_BYTES)} bytes; this one is ${String(bytes.length)}.`,
    );
  }
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

function uint16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

/** Fixed header (type, flags, Remaining Length as a varint) followed by the parts. */
function packet(type: number, flags: number, parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  if (length > MAX_REMAINING_LENGTH) {
    throw new RangeError(
      `An MQTT packet carries at most ${String(MAX_REMAINING_LENGTH)} bytes after its header; this one has ${String(length)}.`,
    );
  }
  const header = [(type << 4) | flags];
  let rest = length;
  do {
    const digit = rest % 128;
    rest = Math.floor(rest / 128);
    header.push(rest > 0 ? digit | 0x80 : digit);
  } while (rest > 0);
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * CONNECT with protocol level 4 (MQTT 3.1.1), user name and optional password (MQTT-3.1.2).
 *
 * @param fields - client id, credentials, keep-alive and clean-session flag
 * @returns the packet
 */
export function encodeConnect(fields: ConnectFields): Uint8Array {
  const flags =
    0x80 | (fields.password === undefined ? 0 : 0x40) | (fields.cleanSession ? 0x02 : 0);
  return packet(CONNECT, 0, [
    field('MQTT'),
    Uint8Array.of(4, flags),
    uint16(fields.keepAliveInSeconds),
    field(fields.clientId),
    field(fields.username),
    ...(fields.password === undefined ? [] : [field(fields.password)]),
  ]);
}

/**
 * PUBLISH; the packet id is present for QoS 1 only (MQTT-3.3.2.2).
 *
 * @param topic - the topic name
 * @param payload - the application message
 * @param qos - 0 or 1
 * @param packetId - required for QoS 1
 * @returns the packet
 */
export function encodePublish(
  topic: string,
  payload: Uint8Array,
  qos: 0 | 1,
  packetId?: number,
): Uint8Array {
  return packet(PUBLISH, qos << 1, [
    field(topic),
    ...(qos === 1 ? [uint16(packetId ?? 0)] : []),
    payload,
  ]);
}

/**
 * PUBACK for a QoS 1 PUBLISH from the broker (MQTT-3.4).
 *
 * @param packetId - the PUBLISH's packet id
 * @returns the packet
 */
export function encodePuback(packetId: number): Uint8Array {
  return packet(PUBACK, 0, [uint16(packetId)]);
}

/**
 * SUBSCRIBE to one filter; its fixed-header flags are reserved as 0010 (MQTT-3.8.1-1).
 *
 * @param packetId - the packet id the SUBACK will echo
 * @param filter - the topic filter
 * @param qos - the maximum QoS asked for
 * @returns the packet
 */
export function encodeSubscribe(packetId: number, filter: string, qos: 0 | 1): Uint8Array {
  return packet(SUBSCRIBE, 0x02, [uint16(packetId), field(filter), Uint8Array.of(qos)]);
}

/**
 * UNSUBSCRIBE from one filter; flags reserved as 0010 (MQTT-3.10.1-1).
 *
 * @param packetId - the packet id the UNSUBACK will echo
 * @param filter - the topic filter
 * @returns the packet
 */
export function encodeUnsubscribe(packetId: number, filter: string): Uint8Array {
  return packet(UNSUBSCRIBE, 0x02, [uint16(packetId), field(filter)]);
}

/** PINGREQ (MQTT-3.12). */
export const PINGREQ_PACKET = Uint8Array.of(PINGREQ << 4, 0);
/** DISCONNECT (MQTT-3.14). */
export const DISCONNECT_PACKET = Uint8Array.of(DISCONNECT << 4, 0);

/**
 * Splits the bytes a broker sends into packets, however the transport cut them, and refuses a
 * packet larger than the limit as soon as its Remaining Length is known, before buffering it.
 *
 * @internal
 */
export class MqttPacketReader {
  readonly #maxPacketBytes: number;
  /** Bytes of an unfinished packet, kept as they came so a large one is copied only once. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** How many bytes the unfinished packet needs in all, once its fixed header is in. */
  #needed: number | undefined;

  /**
   * @param maxPacketBytes - the largest whole packet (fixed header included) to accept
   */
  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /**
   * Takes the next bytes from the broker.
   *
   * @param chunk - bytes in arrival order
   * @returns the packets completed by this chunk, in order
   * @throws {@link MqttProtocolError} for a malformed or oversized packet, or one a broker may not send
   */
  feed(chunk: Uint8Array): IncomingPacket[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#needed !== undefined && this.#buffered < this.#needed) return [];
    const bytes = this.#chunks.length === 1 ? chunk : concat(this.#chunks, this.#buffered);
    const packets: IncomingPacket[] = [];
    let offset = 0;
    this.#needed = undefined;
    for (;;) {
      const header = this.#readFixedHeader(bytes, offset);
      if (header === undefined) break;
      const end = header.bodyStart + header.length;
      if (end > bytes.length) {
        this.#needed = end - offset;
        break;
      }
      packets.push(decodePacket(bytes[offset] ?? 0, bytes.subarray(header.bodyStart, end)));
      offset = end;
    }
    // Copy the unfinished tail so the caller's chunk is not retained past this call.
    const tail = bytes.slice(offset);
    this.#chunks = tail.length === 0 ? [] : [tail];
    this.#buffered = tail.length;
    return packets;
  }

  /** Reads type and Remaining Length at `offset`; `undefined` until all its bytes are in. */
  #readFixedHeader(
    bytes: Uint8Array,
    offset: number,
  ): { bodyStart: number; length: number } | undefined {
    let length = 0;
    let multiplier = 1;
    for (let index = 1; index <= 4; index += 1) {
      const position = offset + index;
      if (position >= bytes.length) return undefined;
      const byte = bytes[position] ?? 0;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) {
        const size = 1 + index + length;
        if (size > this.#maxPacketBytes) {
          throw new MqttProtocolError(
            `The hub sent an MQTT packet of ${String(size)} bytes, more than the ${String(this.#maxPacketBytes)} allowed.`,
          );
        }
        return { bodyStart: position + 1, length };
      }
    }
    throw new MqttProtocolError(
      'The hub sent an MQTT packet whose Remaining Length runs past four bytes (MQTT-2.2.3).',
    );
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function decodePacket(first: number, body: Uint8Array): IncomingPacket {
  const type = first >> 4;
  const flags = first & 0x0f;
  switch (type) {
    case CONNACK:
      expectLength(body, 2, 'CONNACK');
      return {
        type: 'connack',
        sessionPresent: ((body[0] ?? 0) & 0x01) === 1,
        returnCode: body[1] ?? 0,
      };
    case PUBLISH:
      return decodePublish(flags, body);
    case PUBACK:
      expectLength(body, 2, 'PUBACK');
      return { type: 'puback', packetId: readUint16(body, 0) };
    case SUBACK:
      if (body.length < 3) throw malformed('SUBACK', 'it has no return code');
      return {
        type: 'suback',
        packetId: readUint16(body, 0),
        grantedQos: [...body.subarray(2)],
      };
    case UNSUBACK:
      expectLength(body, 2, 'UNSUBACK');
      return { type: 'unsuback', packetId: readUint16(body, 0) };
    case PINGRESP:
      expectLength(body, 0, 'PINGRESP');
      return { type: 'pingresp' };
    default:
      throw new MqttProtocolError(
        `The hub sent an MQTT packet of type ${String(type)}, which a broker does not send to a client that never asks for QoS 2.`,
      );
  }
}

function decodePublish(flags: number, body: Uint8Array): IncomingPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos > 1) throw malformed('PUBLISH', `its QoS is ${String(qos)}, and no QoS 2 was asked for`);
  if (body.length < 2) throw malformed('PUBLISH', 'it has no topic');
  const topicLength = readUint16(body, 0);
  let offset = 2 + topicLength;
  if (offset > body.length) throw malformed('PUBLISH', 'its topic runs past the packet');
  let topic: string;
  try {
    topic = decoder.decode(body.subarray(2, offset));
  } catch {
    throw malformed('PUBLISH', 'its topic is not UTF-8 (MQTT-1.5.3-1)');
  }
  if (qos === 0) return { type: 'publish', topic, payload: body.subarray(offset), qos: 0 };
  if (offset + 2 > body.length) throw malformed('PUBLISH', 'it has no packet id');
  const packetId = readUint16(body, offset);
  offset += 2;
  return { type: 'publish', topic, payload: body.subarray(offset), qos: 1, packetId };
}

function readUint16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function expectLength(body: Uint8Array, length: number, name: string): void {
  if (body.length !== length) {
    throw malformed(name, `its Remaining Length is ${String(body.length)}, not ${String(length)}`);
  }
}

function malformed(name: string, why: string): MqttProtocolError {
  return new MqttProtocolError(`The hub sent a malformed MQTT ${name}: ${why}.`);
}
