/**
 * Test helpers for device apps and transports: {@link createFakeTransport}, an in-memory
 * transport with a simulated hub (scriptable responses, faults, held requests, dropped
 * connections, desired pushes including duplicates, reorders and gaps), and
 * {@link describeTransportContract}, the suite every transport must pass.
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
export {
  describeTransportContract,
  type TransportContractFixture,
} from './transport/transport.contract.js';
