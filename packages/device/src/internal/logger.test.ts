import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, getLogLevel, setLogLevel } from './logger.js';

afterEach(() => {
  setLogLevel('off');
});

describe('logger', () => {
  it('is off by default and logs at and above the chosen level once set', () => {
    const lines: string[] = [];
    const logger = createLogger('twin:device:test');
    setLogLevel('off', (namespace, level, message) =>
      lines.push(`${namespace} ${level} ${message}`),
    );
    logger.error('hidden');
    expect(getLogLevel()).toBe('off');
    setLogLevel('info');
    logger.verbose('too detailed');
    logger.info('shown');
    logger.error('also shown');
    expect(lines).toEqual(['twin:device:test info shown', 'twin:device:test error also shown']);
  });

  it('rejects an unknown level', () => {
    expect(() => {
      setLogLevel('loud' as 'info');
    }).toThrow(TypeError);
  });
});
