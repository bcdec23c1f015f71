/**
 * A tiny logger, off by default (house-style 4.5.10). The level is shared through a
 * `globalThis` symbol so that two copies of the package agree. Callers must never pass keys,
 * SAS tokens or passwords; the transports log identities and topics only.
 *
 * @internal
 */

/** How much to log, from least to most. `off` (the default) logs nothing. */
export type LogLevel = 'off' | 'error' | 'warning' | 'info' | 'verbose';

const ORDER: Readonly<Record<LogLevel, number>> = {
  off: 0,
  error: 1,
  warning: 2,
  info: 3,
  verbose: 4,
};

interface LogState {
  level: LogLevel;
  sink: (namespace: string, level: Exclude<LogLevel, 'off'>, message: string) => void;
}

const STATE_KEY = Symbol.for('twinkit.device.log');

function defaultSink(namespace: string, level: Exclude<LogLevel, 'off'>, message: string): void {
  // console exists in every runtime we support; logging is opt-in, so this never runs by default.
  globalThis.console.error(`${new Date().toISOString()} ${level} ${namespace}: ${message}`);
}

function state(): LogState {
  const holder = globalThis as unknown as Record<symbol, LogState | undefined>;
  let current = holder[STATE_KEY];
  if (current === undefined) {
    current = { level: 'off', sink: defaultSink };
    holder[STATE_KEY] = current;
  }
  return current;
}

/**
 * Sets how much `@twinkit/device` logs, and optionally where to.
 *
 * @param level - `off` (default), `error`, `warning`, `info` (connection lifecycle and requests)
 *   or `verbose` (payloads)
 * @param sink - receives each line; defaults to `console.error`
 * @throws {@link TypeError} for an unknown level
 * @example
 * ```ts
 * setLogLevel('info');
 * ```
 */
export function setLogLevel(
  level: LogLevel,
  sink?: (namespace: string, level: Exclude<LogLevel, 'off'>, message: string) => void,
): void {
  if (!(level in ORDER)) throw new TypeError(`Unknown log level '${level}'`);
  const current = state();
  current.level = level;
  if (sink !== undefined) current.sink = sink;
}

/**
 * The current log level.
 *
 * @returns the level set by {@link setLogLevel}, `off` by default
 */
export function getLogLevel(): LogLevel {
  return state().level;
}

/** A namespaced logger; lines below the current level cost one comparison. */
export interface Logger {
  readonly namespace: string;
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
}

/**
 * Creates a logger for one component.
 *
 * @param namespace - `twin:device:<component>`
 * @returns the logger
 */
export function createLogger(namespace: string): Logger {
  const log = (level: Exclude<LogLevel, 'off'>, message: string): void => {
    const current = state();
    if (ORDER[current.level] >= ORDER[level]) current.sink(namespace, level, message);
  };
  return {
    namespace,
    error: (message) => {
      log('error', message);
    },
    warning: (message) => {
      log('warning', message);
    },
    info: (message) => {
      log('info', message);
    },
    verbose: (message) => {
      log('verbose', message);
    },
  };
}
