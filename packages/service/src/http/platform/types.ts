/**
 * What each platform's `#platform/transport` provides (node/ and web/ implement the same
 * signature; the package.json "imports" map picks one per runtime, as in @twinkit/device).
 */
import type { SendRequest, TransportTarget } from '../pipeline.js';

/**
 * The transport a Registry uses when it is given no `options.fetch`.
 *
 * @param target - the registry's origin and address
 * @returns the innermost pipeline step, or `undefined` when this runtime has no HTTP client
 */
export type DefaultTransport = (target: TransportTarget) => SendRequest | undefined;
