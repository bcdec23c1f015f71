/**
 * Test helpers for device apps: {@link createFakeTransport}, an in-memory transport with a
 * simulated hub (scriptable responses, faults, held requests, dropped connections, desired
 * pushes including duplicates, reorders and gaps). It needs no test framework; the transport
 * contract suite, which needs vitest, is `@twinkit/device/testing/contract`.
 *
 * @module @twinkit/device/testing
 */
export {
  FakeTransport,
  createFakeTransport,
  type FakeCall,
  type FakeOperation,
  type FakeTransportOptions,
  type HeldRequest,
} from './transport/fake/fake-transport.js';
