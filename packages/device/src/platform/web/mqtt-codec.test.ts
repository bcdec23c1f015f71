import { describe, expect, it } from 'vitest';
import {
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  MqttPacketReader,
  MqttProtocolError,
} from './mqtt-codec.js';

const text = new TextEncoder();

describe('MqttPacketReader', () => {
  describe('feed', () => {
    it.each([0, 1, 125, 126, 16_380, 16_381, 70_000])(
      'reads back a PUBLISH with a %i-byte payload however the bytes are cut',
      (size) => {
        const payload = new Uint8Array(size).map((_, index) => index % 251);
        const bytes = encodePublish('$iothub/twin/res/200/?$rid=1', payload, 0);
        // Remaining Length = 2 + 28 (topic) + payload: the sizes straddle 1, 2 and 3 length bytes.
        const reader = new MqttPacketReader(1 << 20);
        const packets = [];
        for (let offset = 0; offset < bytes.length; offset += 7) {
          packets.push(...reader.feed(bytes.subarray(offset, offset + 7)));
        }
        expect(packets).toHaveLength(1);
        const [packet] = packets;
        expect(packet).toMatchObject({
          type: 'publish',
          topic: '$iothub/twin/res/200/?$rid=1',
          qos: 0,
        });
        // Compared byte by byte here: a deep equality of a 70 kB array is slow to report.
        const received = packet?.type === 'publish' ? packet.payload : new Uint8Array(0);
        expect(received.length).toBe(size);
        expect(received.every((byte, index) => byte === index % 251)).toBe(true);
      },
    );

    it('reads several packets from one chunk, with the packet id of a QoS 1 PUBLISH', () => {
      const reader = new MqttPacketReader(1024);
      const chunk = new Uint8Array([
        ...encodePublish('a', text.encode('x'), 1, 513),
        ...[0x90, 0x03, 0x00, 0x07, 0x80],
        ...[0xb0, 0x02, 0x00, 0x08],
        ...[0x40, 0x02, 0xff, 0xff],
        ...[0xd0, 0x00],
      ]);
      expect(reader.feed(chunk)).toEqual([
        { type: 'publish', topic: 'a', payload: text.encode('x'), qos: 1, packetId: 513 },
        { type: 'suback', packetId: 7, grantedQos: [0x80] },
        { type: 'unsuback', packetId: 8 },
        { type: 'puback', packetId: 65_535 },
        { type: 'pingresp' },
      ]);
    });

    it('refuses a packet over the limit as soon as its Remaining Length is in', () => {
      const reader = new MqttPacketReader(100);
      expect(reader.feed(Uint8Array.of(0x30))).toEqual([]);
      expect(() => reader.feed(Uint8Array.of(0x63))).toThrow(/packet of 101 bytes/);
    });

    it('accepts a packet of exactly the limit', () => {
      const reader = new MqttPacketReader(5);
      expect(reader.feed(Uint8Array.of(0x30, 0x03, 0x00, 0x00, 0x41))).toEqual([
        { type: 'publish', topic: '', payload: text.encode('A'), qos: 0 },
      ]);
    });

    it('refuses a Remaining Length longer than four bytes', () => {
      const reader = new MqttPacketReader(Number.MAX_SAFE_INTEGER);
      expect(() => reader.feed(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01))).toThrow(
        MqttProtocolError,
      );
    });

    it.each([
      ['a CONNACK of the wrong length', [0x20, 0x01, 0x00]],
      ['a QoS 2 PUBLISH', [0x34, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]],
      ['a PUBLISH whose topic runs past the packet', [0x30, 0x03, 0x00, 0x05, 0x61]],
      ['a PUBLISH whose topic is not UTF-8', [0x30, 0x03, 0x00, 0x01, 0xff]],
      ['a SUBACK without a return code', [0x90, 0x02, 0x00, 0x01]],
      ['a SUBSCRIBE, which only clients send', [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]],
    ])('refuses %s', (_name, bytes) => {
      expect(() => new MqttPacketReader(1024).feed(Uint8Array.from(bytes))).toThrow(
        MqttProtocolError,
      );
    });
  });
});

describe('encoders', () => {
  it('set the reserved flags 0010 on SUBSCRIBE and UNSUBSCRIBE (MQTT-3.8.1-1, 3.10.1-1)', () => {
    expect([...encodeSubscribe(1, 'a/#', 0)]).toEqual([
      0x82, 0x08, 0, 1, 0, 3, 0x61, 0x2f, 0x23, 0,
    ]);
    expect([...encodeUnsubscribe(2, 'a/#')]).toEqual([0xa2, 0x07, 0, 2, 0, 3, 0x61, 0x2f, 0x23]);
  });

  it('refuse a topic longer than a two-byte length can say', () => {
    expect(() => encodePublish('t'.repeat(65_536), new Uint8Array(0), 0)).toThrow(RangeError);
  });
});
