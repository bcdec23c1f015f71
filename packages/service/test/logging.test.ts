import { afterEach, describe, expect, it } from 'vitest';
import { getLogLevel, setLogLevel, setLogSink, type LogEntry } from '@twinkit/service';
import { registryFor, startHub } from './helpers.js';

afterEach(() => {
  setLogLevel('off');
  setLogSink(undefined);
});

describe('setLogLevel', () => {
  it('is off by default, so nothing is written', async () => {
    expect(getLogLevel()).toBe('off');
    const lines: LogEntry[] = [];
    setLogSink((entry) => {
      lines.push(entry);
    });
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    await registryFor(hub).getTwin('dev-1');
    expect(lines).toEqual([]);
  });

  it('writes request and response lines at info, and headers at verbose with Authorization redacted', async () => {
    const lines: LogEntry[] = [];
    setLogSink((entry) => {
      lines.push(entry);
    });
    await using hub = await startHub();
    await hub.createDevice('dev-1');
    const registry = registryFor(hub);
    setLogLevel('info');
    await registry.getTwin('dev-1');
    expect(lines.map((l) => l.message)).toEqual([
      expect.stringMatching(/^getTwin: GET localhost\/twins\/dev-1 request-id=[0-9a-f-]{36}$/),
      expect.stringMatching(/^getTwin: 200 in \d+ ms request-id=/),
    ]);
    expect(lines.every((l) => l.namespace === 'twin:service:http' && l.level === 'info')).toBe(
      true,
    );
    lines.length = 0;
    setLogLevel('verbose');
    hub.faults.failNext({ operation: 'getTwin', statusCode: 503 });
    await registry.getTwin('dev-1');
    const text = lines.map((l) => `${l.namespace} ${l.message}`).join('\n');
    expect(text).toContain('authorization: REDACTED');
    expect(text).not.toMatch(/SharedAccessSignature|sig=/);
    expect(text).toMatch(/twin:service:retry getTwin: 503 from the hub, retry 1\/3/);
  });

  it('rejects unknown levels with RangeError', () => {
    expect(() => {
      setLogLevel('loud' as never);
    }).toThrow(RangeError);
  });
});
