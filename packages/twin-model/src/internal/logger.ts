/**
 * A tiny leveled logger with one level and one sink for every twinkit package: the service and
 * device clients both log through this module, and its state sits in one `globalThis` slot so
 * that two copies of twin-model (an app that bundles one and installs another) still agree.
 * `setLogLevel('info')` imported from either client turns logging on everywhere. Off by default.
 * Callers never pass keys, tokens or `Authorization` headers to it.
 */

/** Log levels from the most to the least verbose; `off` silences everything. */
export type LogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'off';

/** One log line as handed to the sink. */
export interface LogEntry {
  level: Exclude<LogLevel, 'off'>;
  /** Where it came from, e.g. `twin:service:http` or `twin:device:mqtt`. */
  namespace: string;
  message: string;
}

/** Receives every log line at or above the current level. */
export type LogSink = (entry: LogEntry) => void;

interface LoggerState {
  level: LogLevel;
  sink: LogSink;
}

const RANK: Readonly<Record<LogLevel, number>> = {
  verbose: 0,
  info: 1,
  warning: 2,
  error: 3,
  off: 4,
};

// Symbol.for so two copies of a package (or the device and service packages) share one state.
const STATE_KEY = Symbol.for('@twinkit/logger');

function defaultSink(entry: LogEntry): void {
  const line = `${entry.namespace} [${entry.level}] ${entry.message}`;
  // Logging to the console is this sink's whole purpose; users replace it with setLogSink.
  /* eslint-disable no-console -- see above */
  const write =
    entry.level === 'error'
      ? console.error
      : entry.level === 'warning'
        ? console.warn
        : console.debug;
  /* eslint-enable no-console */
  write(line);
}

function state(): LoggerState {
  const holder = globalThis as unknown as Record<symbol, LoggerState | undefined>;
  let current = holder[STATE_KEY];
  if (current === undefined) {
    current = { level: 'off', sink: defaultSink };
    holder[STATE_KEY] = current;
  }
  return current;
}

/**
 * Sets the log level for every twinkit package in this realm.
 *
 * @param level - `verbose`, `info`, `warning`, `error`, or `off` (the default)
 * @throws {@link RangeError} when `level` is not one of those
 * @example
 * ```ts
 * import { setLogLevel } from '@twinkit/service'; // or '@twinkit/device': the same setting
 * setLogLevel('info'); // one line per HTTP request and response, and per device connection event
 * ```
 */
export function setLogLevel(level: LogLevel): void {
  if (!(level in RANK))
    throw new RangeError(`Unknown log level '${level}'; use verbose, info, warning, error or off`);
  state().level = level;
}

/**
 * Reads the current log level.
 *
 * @returns the level set by {@link setLogLevel}, `off` by default
 */
export function getLogLevel(): LogLevel {
  return state().level;
}

/**
 * Replaces where log lines go (default: `console.debug`/`warn`/`error`).
 *
 * @param sink - a function receiving each {@link LogEntry}; pass `undefined` to restore the default
 */
export function setLogSink(sink: LogSink | undefined): void {
  state().sink = sink ?? defaultSink;
}

/** A logger bound to one namespace. */
export interface Logger {
  readonly namespace: string;
  /** Whether lines at `level` are currently emitted (to skip building expensive messages). */
  enabled(level: Exclude<LogLevel, 'off'>): boolean;
  verbose(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

/**
 * Creates a logger for one component.
 *
 * @param namespace - `twin:<package>:<component>`, e.g. `twin:service:http`
 * @returns a {@link Logger} that writes through the shared level and sink
 */
export function createLogger(namespace: string): Logger {
  const emit = (level: Exclude<LogLevel, 'off'>, message: string): void => {
    const current = state();
    if (RANK[level] >= RANK[current.level]) current.sink({ level, namespace, message });
  };
  return {
    namespace,
    enabled: (level) => RANK[level] >= RANK[state().level],
    verbose: (message) => {
      emit('verbose', message);
    },
    info: (message) => {
      emit('info', message);
    },
    warning: (message) => {
      emit('warning', message);
    },
    error: (message) => {
      emit('error', message);
    },
  };
}
