/**
 * The suite every `DeviceTransport` must pass, for authors of transports:
 * {@link describeTransportContract} declares it with vitest's `describe`/`it`, so this entry
 * needs `vitest` (an optional peer dependency of `@twinkit/device`); `@twinkit/device/testing`
 * (the fake transport) does not.
 *
 * @example
 * ```ts
 * import { describeTransportContract } from '@twinkit/device/testing/contract';
 *
 * describeTransportContract('my transport', async () => myFixture());
 * ```
 *
 * @module @twinkit/device/testing/contract
 */
export {
  describeTransportContract,
  type TransportContractFixture,
} from './transport/transport.contract.js';
