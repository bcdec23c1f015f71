/**
 * Bounds what an AMQP peer can make the device buffer. rhea reads a frame's 4-byte size and
 * waits for the whole frame (up to 4 GiB) without checking it against the `max-frame-size` it
 * announced, and joins the transfer frames of a multi-frame message without any limit. This
 * guard reads the same bytes as they arrive, follows frame boundaries, and reports a violation
 * as soon as a frame header announces more than the negotiated maximum, or the frames of one
 * message add up to more than the largest twin message, so the connection can be closed after
 * at most one read of excess data.
 *
 * AMQP 1.0 (https://docs.oasis-open.org/amqp/core/v1.0/os/amqp-core-transport-v1.0-os.html):
 * a protocol header is `AMQP` and four bytes (AMQP 1.0 §2.2); a frame is SIZE (4 bytes, the whole frame),
 * DOFF (the header length in 4-byte words), TYPE and CHANNEL, then the body (AMQP 1.0 §2.3.1); a peer
 * must not send frames larger than the other's `max-frame-size` (AMQP 1.0 §2.7.1, open); a `transfer`
 * performative (descriptor 0x14) carries `handle` as its first field and `more` as its sixth
 * (AMQP 1.0 §2.7.5). Types encode their width in the constructor's high nibble (AMQP 1.0 §1.2, AMQP 1.0 §1.6).
 *
 * @internal
 */

/** The limits a {@link AmqpFrameGuard} enforces. */
export interface AmqpFrameLimits {
  /** The largest frame, as announced in OPEN's `max-frame-size`. */
  maxFrameBytes: number;
  /** The largest message, summed over its transfer frames. */
  maxMessageBytes: number;
}

/** How much of a frame is read to find its performative's fields; a transfer's fit in ~100. */
const PERFORMATIVE_PEEK_BYTES = 512;
const FRAME_HEADER_BYTES = 8;
const AMQP_FRAME_TYPE = 0x00;
const TRANSFER_DESCRIPTOR = 0x14;
/** `AMQP` in ASCII: a protocol header, not a frame, starts with it. */
const PROTOCOL_HEADER = [0x41, 0x4d, 0x51, 0x50];

/** The bytes at hand do not hold a readable value. */
class Truncated extends Error {}

/** Reads AMQP-encoded values from the start of a performative. */
class Reader {
  readonly #bytes: Uint8Array;
  #offset: number;

  constructor(bytes: Uint8Array, offset: number) {
    this.#bytes = bytes;
    this.#offset = offset;
  }

  byte(): number {
    const value = this.#bytes[this.#offset];
    if (value === undefined) throw new Truncated();
    this.#offset += 1;
    return value;
  }

  uint(width: 1 | 4): number {
    let value = 0;
    for (let index = 0; index < width; index += 1) value = value * 256 + this.byte();
    return value;
  }

  skip(count: number): void {
    if (this.#offset + count > this.#bytes.length) throw new Truncated();
    this.#offset += count;
  }

  /** Skips one value of any type: its width follows from the constructor. */
  skipValue(): void {
    const constructor = this.byte();
    if (constructor === 0x00) {
      this.skipValue(); // descriptor
      this.skipValue(); // described value
      return;
    }
    const fixed: Readonly<Record<number, number>> = { 4: 0, 5: 1, 6: 2, 7: 4, 8: 8, 9: 16 };
    const nibble = constructor >> 4;
    if (nibble < 4) throw new Truncated();
    const width = fixed[nibble];
    if (width !== undefined) {
      this.skip(width);
      return;
    }
    // 0xa/0xc/0xe: one size byte; 0xb/0xd/0xf: four (variable, compound and array types).
    this.skip(this.uint(nibble % 2 === 0 ? 1 : 4));
  }

  /** A `uint` field (or null). */
  readUint(): number | undefined {
    const constructor = this.byte();
    if (constructor === 0x40) return undefined;
    if (constructor === 0x43) return 0;
    if (constructor === 0x52) return this.byte();
    if (constructor === 0x70) return this.uint(4);
    throw new Truncated();
  }

  /** A `boolean` field (or null). */
  readBoolean(): boolean | undefined {
    const constructor = this.byte();
    if (constructor === 0x40) return undefined;
    if (constructor === 0x41) return true;
    if (constructor === 0x42) return false;
    if (constructor === 0x56) return this.byte() !== 0;
    throw new Truncated();
  }
}

/**
 * Finds `handle` and `more` of a transfer performative.
 *
 * @param frame - the frame's first bytes (header included)
 * @param offset - where the body starts (DOFF × 4)
 * @returns the fields, `'other'` for another performative, or `'unreadable'`
 */
function readTransfer(
  frame: Uint8Array,
  offset: number,
): { handle: number; more: boolean } | 'other' | 'unreadable' {
  const reader = new Reader(frame, offset);
  try {
    if (reader.byte() !== 0x00) return 'unreadable';
    const descriptor = reader.byte();
    let code: number;
    if (descriptor === 0x53) code = reader.byte();
    else if (descriptor === 0x80) code = reader.uint(4) * 2 ** 32 + reader.uint(4);
    else return 'other';
    if (code !== TRANSFER_DESCRIPTOR) return 'other';
    const list = reader.byte();
    let count = 0;
    if (list === 0xc0) {
      reader.byte();
      count = reader.byte();
    } else if (list === 0xd0) {
      reader.uint(4);
      count = reader.uint(4);
    } else if (list !== 0x45) {
      return 'unreadable';
    }
    if (count < 1) return 'unreadable';
    const handle = reader.readUint();
    if (handle === undefined) return 'unreadable';
    // delivery-id, delivery-tag, message-format, settled
    for (let field = 1; field < Math.min(count, 5); field += 1) reader.skipValue();
    const more = count >= 6 ? (reader.readBoolean() ?? false) : false;
    return { handle, more };
  } catch (error) {
    if (error instanceof Truncated) return 'unreadable';
    throw error;
  }
}

/**
 * Follows AMQP frame boundaries in a byte stream and checks frame and message sizes.
 *
 * @internal
 */
export class AmqpFrameGuard {
  readonly #limits: AmqpFrameLimits;
  /** The first bytes of the current frame (or protocol header). */
  readonly #head = new Uint8Array(PERFORMATIVE_PEEK_BYTES);
  #headLength = 0;
  /** Bytes of the current frame left to skip once its head was inspected. */
  #skipping = 0;
  /** Bytes received so far of each unfinished multi-frame message, by `channel/handle`. */
  readonly #messages = new Map<string, number>();
  #unfinishedBytes = 0;
  #violation: string | undefined;

  /**
   * @param limits - frame and message limits
   */
  constructor(limits: AmqpFrameLimits) {
    this.#limits = limits;
  }

  /**
   * Takes the next bytes read from the peer.
   *
   * @param chunk - bytes in arrival order
   * @returns what the peer did wrong, the first time it does; `undefined` otherwise
   */
  feed(chunk: Uint8Array): string | undefined {
    if (this.#violation !== undefined) return undefined;
    let index = 0;
    while (index < chunk.length) {
      if (this.#skipping > 0) {
        const skipped = Math.min(this.#skipping, chunk.length - index);
        index += skipped;
        this.#skipping -= skipped;
        continue;
      }
      const wanted = this.#wantedHeadBytes();
      const taken = Math.min(wanted - this.#headLength, chunk.length - index);
      this.#head.set(chunk.subarray(index, index + taken), this.#headLength);
      this.#headLength += taken;
      index += taken;
      if (this.#headLength < this.#wantedHeadBytes()) continue;
      const violation = this.#inspect();
      if (violation !== undefined) {
        this.#violation = violation;
        return violation;
      }
    }
    return undefined;
  }

  /** How many head bytes the current frame needs before it can be inspected. */
  #wantedHeadBytes(): number {
    if (this.#headLength < FRAME_HEADER_BYTES) return FRAME_HEADER_BYTES;
    if (this.#isProtocolHeader()) return FRAME_HEADER_BYTES;
    const size = this.#frameSize();
    // A frame that is too large (or too small) is refused from its header alone.
    if (size > this.#limits.maxFrameBytes) return FRAME_HEADER_BYTES;
    return Math.max(FRAME_HEADER_BYTES, Math.min(size, PERFORMATIVE_PEEK_BYTES));
  }

  #isProtocolHeader(): boolean {
    return PROTOCOL_HEADER.every((byte, index) => this.#head[index] === byte);
  }

  #frameSize(): number {
    const head = this.#head;
    return (
      (head[0] ?? 0) * 2 ** 24 + ((head[1] ?? 0) << 16) + ((head[2] ?? 0) << 8) + (head[3] ?? 0)
    );
  }

  /** Checks the frame whose head is complete, and moves on to skipping its rest. */
  #inspect(): string | undefined {
    const length = this.#headLength;
    this.#headLength = 0;
    if (this.#isProtocolHeader()) return undefined;
    const size = this.#frameSize();
    if (size < FRAME_HEADER_BYTES) return `a malformed AMQP frame (size ${String(size)})`;
    if (size > this.#limits.maxFrameBytes) {
      return `an AMQP frame of ${String(size)} bytes, more than the ${String(this.#limits.maxFrameBytes)} it agreed to`;
    }
    this.#skipping = size - length;
    const dataOffset = (this.#head[4] ?? 0) * 4;
    if (this.#head[5] !== AMQP_FRAME_TYPE || dataOffset >= size) return undefined;
    const transfer = readTransfer(this.#head.subarray(0, length), dataOffset);
    if (transfer === 'other') return undefined;
    if (transfer === 'unreadable') return 'an AMQP transfer frame that cannot be read';
    const key = `${String(((this.#head[6] ?? 0) << 8) + (this.#head[7] ?? 0))}/${String(transfer.handle)}`;
    const before = this.#messages.get(key) ?? 0;
    const total = before + size;
    if (total > this.#limits.maxMessageBytes) {
      return `an AMQP message of more than ${String(this.#limits.maxMessageBytes)} bytes, more than any twin message`;
    }
    this.#unfinishedBytes += transfer.more ? size : -before;
    if (this.#unfinishedBytes > 2 * this.#limits.maxMessageBytes) {
      return `unfinished AMQP messages of more than ${String(2 * this.#limits.maxMessageBytes)} bytes in all`;
    }
    if (transfer.more) this.#messages.set(key, total);
    else this.#messages.delete(key);
    return undefined;
  }
}
