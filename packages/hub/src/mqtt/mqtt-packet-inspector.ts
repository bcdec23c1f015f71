/**
 * MQTT 3.1.1 framing as a {@link FrameInspector}: every packet's fixed header (a type byte and a
 * variable-length "remaining length", MQTT 3.1.1 §2.2) is read as it arrives, and a packet larger
 * than allowed is refused on its header, before aedes buffers its body. The first packet must be
 * CONNECT (MQTT-3.1.0-1). Before the peer authenticates only a small packet is allowed (a CONNECT
 * with a SAS token is a few hundred bytes); after, IoT Hub's own message limit applies.
 */
import type { FrameInspector } from '../device-endpoint/guarded-stream.js';

/** Packet size limits, in bytes, including the fixed header. */
export interface MqttPacketLimits {
  /** Until the peer authenticated (the CONNECT and anything pipelined behind it). */
  readonly beforeAuth: number;
  /** Once it has. */
  readonly afterAuth: number;
}

const CONNECT = 1;
const MAX_LENGTH_BYTES = 4;

type State = 'type' | 'length' | 'body';

/** Reads MQTT fixed headers and refuses oversized or out-of-order packets. */
export class MqttPacketInspector implements FrameInspector {
  readonly #limits: MqttPacketLimits;
  #limit: number;
  #first = true;
  #trusted = false;
  #state: State = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #bodyLeft = 0;

  /** @param limits - packet size limits */
  constructor(limits: MqttPacketLimits) {
    this.#limits = limits;
    this.#limit = limits.beforeAuth;
  }

  trust(): void {
    this.#trusted = true;
    this.#limit = this.#limits.afterAuth;
  }

  inspect(chunk: Buffer): string | undefined {
    let index = 0;
    while (index < chunk.length) {
      if (this.#state === 'body') {
        const take = Math.min(this.#bodyLeft, chunk.length - index);
        index += take;
        this.#bodyLeft -= take;
        if (this.#bodyLeft === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[index] ?? 0;
      index += 1;
      if (this.#state === 'type') {
        if (this.#first && byte >> 4 !== CONNECT) return 'the first MQTT packet must be CONNECT';
        this.#first = false;
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      const refusal = this.#readLengthByte(byte);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  #readLengthByte(byte: number): string | undefined {
    this.#lengthBytes += 1;
    this.#length += (byte & 0x7f) * this.#multiplier;
    this.#multiplier *= 128;
    if ((byte & 0x80) !== 0) {
      return this.#lengthBytes === MAX_LENGTH_BYTES
        ? 'malformed MQTT remaining length (more than 4 bytes)'
        : undefined;
    }
    const total = 1 + this.#lengthBytes + this.#length;
    if (total > this.#limit) {
      return `an MQTT packet of ${String(total)} bytes is larger than the ${String(this.#limit)} allowed ${
        this.#trusted
          ? '(mqttMaxPacketBytes)'
          : 'before authentication (mqttMaxPacketBytesBeforeAuth)'
      }`;
    }
    this.#bodyLeft = this.#length;
    this.#state = this.#length === 0 ? 'type' : 'body';
    return undefined;
  }
}
