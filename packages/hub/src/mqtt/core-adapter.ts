/**
 * Maps the hub's internal core onto the narrow {@link MqttHubCore} the MQTT endpoint speaks,
 * and wraps the endpoint as a `ProtocolEndpoint` that `listen()` starts next to HTTPS.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { serveListener } from '../device-endpoint/endpoint-support.js';
import { DEVICE_TWIN_FAULT_OPERATIONS } from '../faults/device-endpoint-faults.js';
import type { HubCore, ProtocolEndpoint } from '../hub-core.js';
import { wireTextOf } from '../rest/hub-failure.js';
import {
  createMqttEndpoint,
  type MqttEndpoint,
  type MqttEndpointOptions,
} from './mqtt-endpoint.js';
import type {
  MqttAuthenticationFailureReason,
  MqttAuthenticationResult,
  MqttClientCertificate,
  MqttCredentials,
  MqttHubCore,
  MqttIdentity,
} from './mqtt-hub-core.js';
import { createMqttTlsServer } from './tls-server.js';
import { isMqttWebSocketRequest } from './websocket.js';

const SAS_REASONS: Readonly<Record<string, MqttAuthenticationFailureReason>> = {
  'not-found': 'unknown-identity',
  disabled: 'disabled',
  expired: 'expired',
};

function normalizeThumbprint(value: string | null | undefined): string {
  return (value ?? '').replaceAll(':', '').trim().toUpperCase();
}

function describe(identity: MqttIdentity): string {
  return identity.moduleId === undefined
    ? `Device '${identity.deviceId}'`
    : `Module '${identity.deviceId}/${identity.moduleId}'`;
}

function authenticateCertificate(
  core: HubCore,
  identity: MqttIdentity,
  certificate: MqttClientCertificate,
): MqttAuthenticationResult {
  const entry = core.getEntry(identity.deviceId, identity.moduleId);
  const who = describe(identity);
  if (entry === undefined)
    return { ok: false, reason: 'unknown-identity', message: `${who} is not registered.` };
  if (core.getEntry(identity.deviceId)?.identity.status === 'disabled') {
    return { ok: false, reason: 'disabled', message: `${who} is disabled.` };
  }
  const { type, x509Thumbprint } = entry.identity.authentication;
  if (type !== 'selfSigned') {
    // CA-signed identities would need the hub to hold verified CA certificates, which it does not.
    return {
      ok: false,
      reason: 'bad-credentials',
      message: `${who} uses authentication type '${type}'; only 'selfSigned' identities can connect with a certificate.`,
    };
  }
  const presented = [certificate.sha1Thumbprint, certificate.sha256Thumbprint];
  const registered = [x509Thumbprint.primaryThumbprint, x509Thumbprint.secondaryThumbprint]
    .map(normalizeThumbprint)
    .filter((value) => value !== '');
  if (!registered.some((value) => presented.includes(value))) {
    return {
      ok: false,
      reason: 'bad-credentials',
      message: `The client certificate does not match the thumbprints of ${who.toLowerCase()}.`,
    };
  }
  return { ok: true };
}

/**
 * Adapts the hub core to what the MQTT endpoint needs.
 *
 * @param core - the hub core
 * @returns the MQTT view of it
 * @internal
 */
export function createMqttHubCore(core: HubCore): MqttHubCore {
  return {
    async authenticate(credentials: MqttCredentials): Promise<MqttAuthenticationResult> {
      const { identity, sasToken, clientCertificate } = credentials;
      if (sasToken !== undefined) {
        const result = await core.authenticateDevice(sasToken, identity);
        if (result.ok) return { ok: true, expiresOnInSeconds: result.expiresOnInSeconds };
        return {
          ok: false,
          reason: SAS_REASONS[result.reason] ?? 'bad-credentials',
          message: result.message,
        };
      }
      if (clientCertificate !== undefined)
        return authenticateCertificate(core, identity, clientCertificate);
      return {
        ok: false,
        reason: 'no-credentials',
        message: 'CONNECT carried neither a SAS token nor a client certificate.',
      };
    },
    getTwin: (identity) =>
      Promise.resolve().then(() => core.getDeviceTwin(identity.deviceId, identity.moduleId)),
    updateReported: (identity, patch, baseVersion) =>
      core.updateReported(identity.deviceId, identity.moduleId, patch, baseVersion),
    onDesiredChanged: (listener) =>
      core.onDesiredChanged((event) => {
        listener(event);
      }),
    setConnectionState: (identity, state) => {
      core.setConnectionState(identity.deviceId, identity.moduleId, state);
    },
    touchActivity: (identity) => {
      core.touchActivity(identity.deviceId, identity.moduleId);
    },
    onIdentityRevoked: (listener) =>
      core.onIdentityChanged((event) => {
        listener({ deviceId: event.deviceId, moduleId: event.moduleId });
      }),
    wireMessageOf: (error) => wireTextOf(error),
    async applyTwinFault(operation) {
      const failure = await core.faults.apply(DEVICE_TWIN_FAULT_OPERATIONS[operation]);
      if (failure === undefined) return undefined;
      return { statusCode: failure.statusCode, code: failure.code, message: failure.message };
    },
  };
}

/** The MQTT endpoint as registered with the hub core, so `listen()` can start it. */
export interface MqttProtocolEndpoint extends ProtocolEndpoint {
  readonly protocol: 'mqtt';
}

/**
 * Wraps the MQTT endpoint as the `ProtocolEndpoint` that `listen()` starts: MQTT over TLS on its
 * own port, and MQTT over WebSocket on `/$iothub/websocket` of the HTTPS port.
 *
 * @param endpoint - the MQTT endpoint
 * @returns the protocol endpoint to register with `core.registerEndpoint`
 * @internal
 */
export function toProtocolEndpoint(endpoint: MqttEndpoint): MqttProtocolEndpoint {
  return {
    protocol: 'mqtt',
    webSocketSubprotocols: ['mqtt', 'MQTT'],
    listen(options) {
      const server = createMqttTlsServer(endpoint, {
        key: options.tls.key,
        cert: options.tls.cert,
      });
      server.listen(options.port, options.host);
      return serveListener(server, 'connection', options.port);
    },
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
      if (isMqttWebSocketRequest(request)) endpoint.handleUpgrade(request, socket, head);
      else socket.destroy();
    },
  };
}

/**
 * Creates the MQTT endpoint for a hub core and registers it, so `listen()` serves MQTT over TLS
 * and over WebSocket. Close the returned endpoint before closing the core.
 *
 * @param core - the hub core
 * @param options - endpoint options
 * @returns the endpoint
 * @internal
 */
export async function attachMqttEndpoint(
  core: HubCore,
  options: MqttEndpointOptions = {},
): Promise<MqttEndpoint> {
  const endpoint = await createMqttEndpoint(createMqttHubCore(core), options);
  core.registerEndpoint(toProtocolEndpoint(endpoint));
  return endpoint;
}
