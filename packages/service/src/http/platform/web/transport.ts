/**
 * Browsers, Deno, Bun and worker runtimes: the registry's default transport is the runtime's own
 * `fetch`, the one HTTP client they all share.
 */
import { fetchTransport } from '../../transport.js';
import type { DefaultTransport } from '../types.js';

/**
 * `globalThis.fetch`, looked up when the registry is built, or `undefined` when there is none.
 *
 * @param target - the registry's origin and address
 * @returns the transport
 */
export const defaultTransport: DefaultTransport = (target) =>
  typeof globalThis.fetch === 'function'
    ? fetchTransport(globalThis.fetch.bind(globalThis), target)
    : undefined;
