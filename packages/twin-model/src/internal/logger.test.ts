import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  getLogLevel,
  setLogLevel,
  setLogSink,
  type LogEntry,
} from '@twinkit/twin-model/internal';

afterEach(() => {
  setLogLevel('off');
  setLogSink(undefined);
});

describe('logger', () => {
  it('is off by default and logs at and above the chosen level once set, for every namespace', () => {
    const lines: LogEntry[] = [];
    setLogSink((entry) => lines.push(entry));
    const service = createLogger('twin:service:test');
    const device = createLogger('twin:device:test');
    service.error('hidden');
    expect(getLogLevel()).toBe('off');
    setLogLevel('info');
    service.verbose('too detailed');
    service.info('shown');
    device.error('also shown');
    expect(lines).toEqual([
      { level: 'info', namespace: 'twin:service:test', message: 'shown' },
      { level: 'error', namespace: 'twin:device:test', message: 'also shown' },
    ]);
    expect(device.enabled('verbose')).toBe(false);
  });

  it('keeps one state in one globalThis slot, so a second copy of the module agrees', () => {
    setLogLevel('warning');
    const slot = (globalThis as unknown as Record<symbol, { level: string } | undefined>)[
      Symbol.for('@twinkit/logger')
    ];
    expect(slot?.level).toBe('warning');
  });

  it('rejects an unknown level with RangeError', () => {
    expect(() => {
      setLogLevel('loud' as 'info');
    }).toThrow(RangeError);
  });
});
