import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeClientFrame } from './websocket-stream.js';

describe('encodeClientFrame / decodeFrame', () => {
  it.each([0, 125, 126, 65_535, 65_536])(
    'round-trips a masked binary frame of %i bytes',
    (length) => {
      const payload = Buffer.alloc(length, 0xab);
      const frame = encodeClientFrame(0x2, payload);
      expect((frame[1] ?? 0) & 0x80).toBe(0x80);
      const decoded = decodeFrame(frame);
      expect(decoded?.opcode).toBe(0x2);
      expect(decoded?.fin).toBe(true);
      expect(decoded?.size).toBe(frame.length);
      expect(decoded?.payload.equals(payload)).toBe(true);
    },
  );

  it('waits for more bytes when a frame is incomplete', () => {
    const frame = encodeClientFrame(0x2, Buffer.alloc(300, 1));
    expect(decodeFrame(frame.subarray(0, 1))).toBeUndefined();
    expect(decodeFrame(frame.subarray(0, 3))).toBeUndefined();
    expect(decodeFrame(frame.subarray(0, frame.length - 1))).toBeUndefined();
  });

  it('reads an unmasked server frame followed by the next one', () => {
    const server = Buffer.concat([Buffer.from([0x82, 0x03, 1, 2, 3]), Buffer.from([0x89, 0x00])]);
    const first = decodeFrame(server);
    expect(first?.payload).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeFrame(server.subarray(first?.size ?? 0))?.opcode).toBe(0x9);
  });
});
