/**
 * `twinkit-hub start --limit NAME=VALUE`: the hub's limits from the command line. Each name is a
 * field of `HubOptions.limits` (what the device endpoints accept) or `ListenOptions.limits` (what
 * each listener accepts); docs/security.md explains every one. They are checked here, with the
 * rules between limits, so a bad one is a usage error before anything starts.
 */
import {
  DEFAULT_DEVICE_ENDPOINT_LIMITS,
  DEFAULT_LISTENER_LIMITS,
  resolveDeviceEndpointLimits,
  resolveListenerLimits,
  type DeviceEndpointLimits,
  type ListenerLimits,
} from '../device-endpoint/limits.js';
import { usageError } from './cli-failure.js';

/** The limits given on the command line, split by where they apply. */
export interface LimitFlags {
  hub: Partial<DeviceEndpointLimits>;
  listener: Partial<ListenerLimits>;
}

/** Every name `--limit` accepts, for the help text and error messages. */
export const LIMIT_NAMES: readonly string[] = Object.freeze([
  ...Object.keys(DEFAULT_DEVICE_ENDPOINT_LIMITS),
  ...Object.keys(DEFAULT_LISTENER_LIMITS),
]);

/**
 * Reads `--limit` flags.
 *
 * @param flags - each `NAME=VALUE` as given, in order (a later one wins)
 * @returns the limits for `createHub` and for `listen`
 * @throws a usage error naming the flag for an unknown name or a value that is not a positive integer
 */
export function parseLimitFlags(flags: readonly string[]): LimitFlags {
  const result: LimitFlags = { hub: {}, listener: {} };
  for (const flag of flags) {
    const at = flag.indexOf('=');
    const name = at === -1 ? flag : flag.slice(0, at);
    const text = at === -1 ? '' : flag.slice(at + 1);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw usageError(
        `--limit ${flag}: give NAME=VALUE with a positive whole number, e.g. --limit maxConnections=500.`,
      );
    }
    if (Object.hasOwn(DEFAULT_DEVICE_ENDPOINT_LIMITS, name)) {
      result.hub[name as keyof DeviceEndpointLimits] = value;
    } else if (Object.hasOwn(DEFAULT_LISTENER_LIMITS, name)) {
      result.listener[name as keyof ListenerLimits] = value;
    } else {
      throw usageError(
        `--limit ${flag}: unknown limit '${name}'; known: ${LIMIT_NAMES.join(', ')}.`,
      );
    }
  }
  try {
    resolveDeviceEndpointLimits(result.hub);
    resolveListenerLimits(result.listener);
  } catch (error) {
    throw usageError(`--limit: ${error instanceof Error ? error.message : String(error)}`);
  }
  return result;
}
