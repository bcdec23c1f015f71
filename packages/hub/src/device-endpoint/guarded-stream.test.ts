import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GuardedStream } from './guarded-stream.js';

/** A transport that records each write it is handed. */
function recordingTransport(): { inner: Duplex; writes: string[] } {
  const writes: string[] = [];
  const inner = new Duplex({
    read() {
      // Nothing to read: these tests only write.
    },
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { inner, writes };
}

const letThrough = { inspect: () => undefined, trust: () => undefined };

describe('GuardedStream', () => {
  it('hands a packet written in pieces under cork() to the transport as one write', async () => {
    const { inner, writes } = recordingTransport();
    const guard = new GuardedStream(inner, letThrough, { untrustedDeadlineInMs: 60_000 });
    guard.cork();
    guard.write(Buffer.from('header|'));
    guard.write(Buffer.from('topic|'));
    guard.write(Buffer.from('payload'));
    guard.uncork();
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['header|topic|payload']);
    // A write on its own still goes straight through.
    guard.write(Buffer.from('ping'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['header|topic|payload', 'ping']);
    guard.destroy();
  });
});
