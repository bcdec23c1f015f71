import { mqttHubFixture } from '../../../test/fixtures/mqtt-hub-fixture.js';
import { describeTransportContract } from '../transport.contract.js';

describeTransportContract('mqtt over TCP+TLS (local hub)', () => mqttHubFixture(false));
describeTransportContract('mqtt over WebSocket (local hub)', () => mqttHubFixture(true));
