/**
 * Bounds what a broker can make the device buffer. mqtt.js (over MQTT 3.1.1) reads a packet's
 * Remaining Length and then buffers the whole packet, up to the protocol's 256 MB, before it
 * looks at it; its `maximumPacketSize` check exists only for MQTT 5 and runs after buffering.
 * This guard reads the same bytes as they arrive, follows packet boundaries, and reports the
 * first packet that announces more than the limit as soon as its fixed header is in, so the
 * connection can be closed after at most one read of excess data.
 *
 * Fixed header: one byte of type and flags, then the Remaining Length in 1 to 4 bytes of 7 bits
 * each, least significant first, the top bit saying another byte follows (MQTT 3.1.1 §2.2.3,
 * https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718023).
 *
 * @internal
 */

/**
 * Follows MQTT packet boundaries in a byte stream and checks each packet's announced size.
 *
 * @internal
 */
export class MqttPacketSizeGuard {
  readonly #maxPacketBytes: number;
  /** `type`: next byte starts a packet; `length`: reading Remaining Length; `body`: skipping it. */
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #lengthBytes = 0;
  #multiplier = 1;
  #remaining = 0;
  #tripped: number | undefined;

  /**
   * @param maxPacketBytes - the largest whole packet (fixed header included) to accept
   */
  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /**
   * Takes the next bytes read from the broker.
   *
   * @param chunk - bytes in arrival order
   * @returns the announced size of the first packet over the limit (`Infinity` for a Remaining
   *   Length longer than 4 bytes), once; `undefined` while every packet is within it
   */
  feed(chunk: Uint8Array): number | undefined {
    if (this.#tripped !== undefined) return undefined;
    let index = 0;
    while (index < chunk.length) {
      if (this.#state === 'type') {
        index += 1;
        this.#state = 'length';
        this.#length = 0;
        this.#lengthBytes = 0;
        this.#multiplier = 1;
        continue;
      }
      if (this.#state === 'length') {
        const byte = chunk[index] ?? 0;
        index += 1;
        this.#length += (byte & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes += 1;
        if ((byte & 0x80) !== 0) {
          if (this.#lengthBytes === 4) return this.#trip(Number.POSITIVE_INFINITY);
          continue;
        }
        const size = 1 + this.#lengthBytes + this.#length;
        if (size > this.#maxPacketBytes) return this.#trip(size);
        this.#remaining = this.#length;
        this.#state = this.#remaining === 0 ? 'type' : 'body';
        continue;
      }
      const skipped = Math.min(this.#remaining, chunk.length - index);
      index += skipped;
      this.#remaining -= skipped;
      if (this.#remaining === 0) this.#state = 'type';
    }
    return undefined;
  }

  #trip(size: number): number {
    this.#tripped = size;
    return size;
  }
}
