import { describe, expect, it } from 'vitest';
import { AmqpFrameGuard } from './frame-guard.js';

const PROTOCOL_HEADER = Uint8Array.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

/** A frame: SIZE, DOFF 2, TYPE, CHANNEL, then the body. */
function frame(body: number[], payloadBytes = 0, channel = 0, type = 0): Uint8Array {
  const size = 8 + body.length + payloadBytes;
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, size);
  bytes.set([2, type, channel >> 8, channel & 0xff], 4);
  bytes.set(body, 8);
  return bytes;
}

/** A transfer performative (descriptor 0x14) with handle and more. */
function transfer(handle: number, more: boolean): number[] {
  const fields = [
    0x52,
    handle, // handle: smalluint
    0x52,
    1, // delivery-id
    0xa0,
    2,
    0xab,
    0xcd, // delivery-tag: vbin8
    0x43, // message-format: uint0
    0x42, // settled: false
    more ? 0x41 : 0x42, // more
  ];
  return [0x00, 0x53, 0x14, 0xc0, fields.length + 1, 6, ...fields];
}

/** An attach-like performative, which the guard only size-checks. */
const ATTACH = [0x00, 0x53, 0x12, 0x45];

function feedAll(guard: AmqpFrameGuard, parts: Uint8Array[], chunkSize: number): string[] {
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  const violations: string[] = [];
  for (let start = 0; start < total.length; start += chunkSize) {
    const violation = guard.feed(total.subarray(start, start + chunkSize));
    if (violation !== undefined) violations.push(violation);
  }
  return violations;
}

describe('AmqpFrameGuard', () => {
  const limits = { maxFrameBytes: 1_024, maxMessageBytes: 2_500 };

  it('accepts protocol headers, empty frames and messages within the limits, whatever the chunking', () => {
    const stream = [
      PROTOCOL_HEADER,
      frame([]),
      frame(ATTACH, 500),
      frame(transfer(1, true), 900),
      frame(transfer(1, true), 900),
      frame(transfer(1, false), 500),
      frame(transfer(1, false), 999),
    ];
    for (const chunkSize of [1, 7, 100, 10_000]) {
      expect(feedAll(new AmqpFrameGuard(limits), stream, chunkSize)).toEqual([]);
    }
  });

  it('refuses a frame larger than the agreed max-frame-size from its header', () => {
    const guard = new AmqpFrameGuard(limits);
    const header = Uint8Array.from([0x06, 0x00, 0x00, 0x00, 2, 0, 0, 0]); // 100 MiB announced
    expect(guard.feed(PROTOCOL_HEADER)).toBeUndefined();
    expect(guard.feed(header)).toBe(
      'an AMQP frame of 100663296 bytes, more than the 1024 it agreed to',
    );
    expect(guard.feed(frame([]))).toBeUndefined();
  });

  it('refuses a multi-frame message larger than the message limit', () => {
    const violations = feedAll(
      new AmqpFrameGuard(limits),
      [
        frame(transfer(3, true), 950),
        frame(transfer(3, true), 950),
        frame(transfer(3, false), 950),
      ],
      64,
    );
    expect(violations).toEqual([
      'an AMQP message of more than 2500 bytes, more than any twin message',
    ]);
  });

  it('counts each link of each channel separately, and bounds all unfinished messages together', () => {
    const perLink = [
      frame(transfer(1, true), 900),
      frame(transfer(2, true), 900),
      frame(transfer(1, false), 900, 1),
      frame(transfer(1, false), 500),
      frame(transfer(2, false), 500),
    ];
    expect(feedAll(new AmqpFrameGuard(limits), perLink, 50)).toEqual([]);
    const many = Array.from({ length: 8 }, (_, handle) => frame(transfer(handle, true), 900));
    expect(feedAll(new AmqpFrameGuard(limits), many, 50)).toEqual([
      'unfinished AMQP messages of more than 5000 bytes in all',
    ]);
  });

  it('refuses malformed frames and unreadable transfers', () => {
    expect(new AmqpFrameGuard(limits).feed(Uint8Array.from([0, 0, 0, 4, 2, 0, 0, 0]))).toBe(
      'a malformed AMQP frame (size 4)',
    );
    expect(new AmqpFrameGuard(limits).feed(frame([0x00, 0x53, 0x14, 0xc0, 2, 1, 0x99]))).toBe(
      'an AMQP transfer frame that cannot be read',
    );
  });
});
