import { describe, expect, it } from 'vitest';
import { MqttPacketSizeGuard } from './packet-size-guard.js';

/** A PUBLISH-like packet: type byte, Remaining Length, then `length` bytes. */
function packet(length: number): Uint8Array {
  const header = [0x30];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    header.push(byte);
  } while (rest > 0);
  const bytes = new Uint8Array(header.length + length);
  bytes.set(header);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return total;
}

describe('MqttPacketSizeGuard', () => {
  it('lets packets within the limit through, whatever the chunking', () => {
    const stream = concat(packet(0), packet(127), packet(128), packet(16_384), packet(20_000));
    for (const chunkSize of [1, 3, 64, 1000, stream.length]) {
      const guard = new MqttPacketSizeGuard(20_004);
      for (let offset = 0; offset < stream.length; offset += chunkSize) {
        expect(guard.feed(stream.subarray(offset, offset + chunkSize))).toBeUndefined();
      }
    }
  });

  it('reports a packet over the limit from its header alone, even split across reads', () => {
    const guard = new MqttPacketSizeGuard(1_000);
    // 256 MB announced: 0x30, then ff ff ff 7f.
    expect(guard.feed(concat(packet(10), new Uint8Array([0x30, 0xff, 0xff])))).toBeUndefined();
    expect(guard.feed(new Uint8Array([0xff]))).toBeUndefined();
    expect(guard.feed(new Uint8Array([0x7f, 0, 0]))).toBe(268_435_460);
    // Once is enough.
    expect(guard.feed(packet(5_000))).toBeUndefined();
  });

  it('counts the fixed header in the packet size', () => {
    expect(new MqttPacketSizeGuard(130).feed(packet(127))).toBeUndefined();
    expect(new MqttPacketSizeGuard(130).feed(packet(128))).toBe(131);
  });

  it('reports a Remaining Length longer than four bytes as malformed', () => {
    const guard = new MqttPacketSizeGuard(1_000_000_000);
    expect(guard.feed(new Uint8Array([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
