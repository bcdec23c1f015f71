/**
 * AMQP 1.0 framing as a {@link FrameInspector}: protocol headers (`AMQP` + id + 1.0.0, AMQP 1.0 §2.2) and
 * frames (a 4-byte size first, AMQP 1.0 §2.3.1) are read as they arrive, and a frame larger than allowed
 * is refused on its size field, before rhea buffers it (rhea itself buffers whatever size a frame
 * announces). Transfer frames are also summed per link until the last frame of a delivery
 * (`more` = false, AMQP 1.0 §2.7.5), so a message split over many frames is capped too. Before the peer
 * authenticated the frame cap is small, which also caps SASL, OPEN and `$cbs` put-tokens.
 */
import rhea from 'rhea';
import type { FrameInspector } from '../device-endpoint/guarded-stream.js';

/** Frame and message limits, in bytes. */
export interface AmqpFrameLimits {
  /** Largest frame until the peer authenticated. */
  readonly frameBeforeAuth: number;
  /** Largest frame after (the `max-frame-size` announced in OPEN). */
  readonly frame: number;
  /** Largest message (the transfer frames of one delivery). */
  readonly message: number;
}

const HEADER_BYTES = 8;
const FRAME_HEADER_BYTES = 8;
const PROTOCOL_HEADER = Buffer.from('AMQP', 'latin1');
/** Bytes of a frame kept to read a transfer performative (descriptor, handle, ids, tag, flags). */
const PERFORMATIVE_PREFIX_BYTES = 96;
const TRANSFER = 0x14;

interface TypedValue {
  readonly value: unknown;
  readonly descriptor?: { readonly value: unknown } | undefined;
}

interface Reader {
  read(): TypedValue;
}

const ReaderClass = (rhea.types as unknown as { Reader: new (buffer: Buffer) => Reader }).Reader;

/** The handle and `more` flag of a transfer frame's performative, if the frame is one. */
function readTransfer(prefix: Buffer): { handle: number; more: boolean } | undefined {
  const dataOffset = (prefix[4] ?? 2) * 4;
  if (prefix[5] !== 0x00 || prefix.length <= dataOffset + 2) return undefined;
  const body = prefix.subarray(dataOffset);
  if (body[0] !== 0x00 || body[1] !== 0x53 || body[2] !== TRANSFER) return undefined;
  try {
    const performative = new ReaderClass(body).read();
    const fields = performative.value as TypedValue[];
    return { handle: Number(fields[0]?.value ?? -1), more: fields[5]?.value === true };
  } catch {
    // A performative cut off by the prefix: count the frame against handle -1 as one message.
    return { handle: -1, more: true };
  }
}

/** Reads AMQP headers and frame sizes and refuses oversized frames and messages. */
export class AmqpFrameInspector implements FrameInspector {
  readonly #limits: AmqpFrameLimits;
  #frameLimit: number;
  #trusted = false;
  /** Bytes of the current header, size field or performative prefix. */
  #pending = Buffer.alloc(0);
  #state: 'start' | 'header' | 'frame' = 'start';
  #frameSize = 0;
  #frameLeft = 0;
  #prefixDone = false;
  /** Bytes of the incomplete delivery on each link handle. */
  readonly #messageBytes = new Map<number, number>();

  /** @param limits - frame and message limits */
  constructor(limits: AmqpFrameLimits) {
    this.#limits = limits;
    this.#frameLimit = limits.frameBeforeAuth;
  }

  trust(): void {
    this.#trusted = true;
    this.#frameLimit = this.#limits.frame;
  }

  inspect(chunk: Buffer): string | undefined {
    let index = 0;
    while (index < chunk.length) {
      if (this.#state === 'frame') {
        const take = Math.min(this.#frameLeft, chunk.length - index);
        if (!this.#prefixDone) {
          const refusal = this.#collectPrefix(chunk.subarray(index, index + take));
          if (refusal !== undefined) return refusal;
        }
        index += take;
        this.#frameLeft -= take;
        if (this.#frameLeft === 0) this.#state = 'start';
        continue;
      }
      // 'start' or 'header': gather 4 bytes to tell a protocol header from a frame size, then the
      // rest of the header.
      const need = this.#state === 'header' ? HEADER_BYTES : 4;
      const take = Math.min(need - this.#pending.length, chunk.length - index);
      this.#pending = Buffer.concat([this.#pending, chunk.subarray(index, index + take)]);
      index += take;
      if (this.#pending.length < need) continue;
      const refusal = this.#onSizeOrHeader();
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  #onSizeOrHeader(): string | undefined {
    if (this.#state === 'header') {
      this.#pending = Buffer.alloc(0);
      this.#state = 'start';
      return undefined;
    }
    if (this.#pending.equals(PROTOCOL_HEADER)) {
      this.#state = 'header';
      return undefined;
    }
    const size = this.#pending.readUInt32BE(0);
    if (size < FRAME_HEADER_BYTES) return `malformed AMQP frame size ${String(size)}`;
    if (size > this.#frameLimit) {
      return `an AMQP frame of ${String(size)} bytes is larger than the ${String(this.#frameLimit)} allowed ${
        this.#trusted
          ? '(amqpMaxFrameBytes)'
          : 'before authentication (amqpMaxFrameBytesBeforeAuth)'
      }`;
    }
    this.#frameSize = size;
    this.#frameLeft = size - 4;
    this.#prefixDone = false;
    this.#state = 'frame';
    return undefined;
  }

  /** Keeps the first bytes of a frame (the 4 size bytes are already in `#pending`). */
  #collectPrefix(bytes: Buffer): string | undefined {
    const room = Math.min(PERFORMATIVE_PREFIX_BYTES, this.#frameSize) - this.#pending.length;
    this.#pending = Buffer.concat([this.#pending, bytes.subarray(0, Math.max(0, room))]);
    const complete = this.#pending.length >= Math.min(PERFORMATIVE_PREFIX_BYTES, this.#frameSize);
    if (!complete) return undefined;
    this.#prefixDone = true;
    const prefix = this.#pending;
    this.#pending = Buffer.alloc(0);
    const transfer = readTransfer(prefix);
    if (transfer === undefined) return undefined;
    const total = (this.#messageBytes.get(transfer.handle) ?? 0) + this.#frameSize;
    if (total > this.#limits.message) {
      return `an AMQP message of more than ${String(this.#limits.message)} bytes (amqpMaxMessageBytes)`;
    }
    if (transfer.more) this.#messageBytes.set(transfer.handle, total);
    else this.#messageBytes.delete(transfer.handle);
    return undefined;
  }
}
