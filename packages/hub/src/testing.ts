/**
 * Test helpers: `startTestHub()` starts an in-memory hub listening on 127.0.0.1 with ephemeral
 * ports, disposable with `await using`; `startAmqpTestHub()` adds the AMQP endpoint's fault
 * controls and a desired-update helper for transport tests; `createTestAccessToken()` mints
 * Bearer JWTs for a hub configured with a `tokenIssuer`; `createTestClientCertificate()` makes a
 * self-signed certificate for X.509 devices; `createTestCertificates()` gives a CA and a server
 * certificate for tests that serve TLS themselves.
 *
 * @example
 * ```ts
 * import { startTestHub } from '@twinkit/hub/testing';
 *
 * await using testHub = await startTestHub();
 * const device = await testHub.createDevice('dev-1');
 * // testHub.serviceConnectionString → HostName=localhost:<port>;SharedAccessKeyName=iothubowner;…
 * ```
 *
 * @module @twinkit/hub/testing
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { SignJWT } from 'jose';
import { IOT_HUB_AUDIENCE } from './auth/authenticate-request.js';
import { createHub, type CreatedIdentity, type Hub, type HubOptions } from './hub.js';
import { listen, type HubServer } from './node/listen.js';
import { loadOrCreateDevCertificates } from './tls/dev-certificates.js';
import { createCertificate } from './tls/x509-certificate-builder.js';

export { startAmqpTestHub, type AmqpTestHub } from './amqp/amqp-test-hub.js';
export type { DeviceIdentity } from './device-endpoint/endpoint-support.js';
export type { KeyedIdentity } from './device-endpoint/endpoint-test-hub.js';

/** Options of {@link startTestHub}. */
export interface StartTestHubOptions extends HubOptions {
  /** Serve over HTTPS on 127.0.0.1 (ephemeral ports). Default `true`; `false` gives a socket-free hub. */
  listen?: boolean;
}

/** A started test hub. */
export interface TestHub extends AsyncDisposable {
  hub: Hub;
  /** The server, when listening. */
  server?: HubServer;
  /** `hub.fetch`, for socket-free tests. */
  fetch: Hub['fetch'];
  /** iothubowner connection string; `HostName=<host>:<https port>` when listening. */
  serviceConnectionString: string;
  /** PEM of the development CA to trust. */
  caCertificate: string;
  httpsPort?: number;
  mqttPort?: number;
  amqpPort?: number;
  /**
   * Registers a device with generated keys.
   *
   * @param deviceId - the id
   * @returns its keys and connection strings: `connectionString` names the MQTT port when
   *   listening, `connectionStrings` one per endpoint (MQTT, AMQP, WebSocket)
   */
  createDevice(deviceId: string): Promise<CreatedIdentity>;
  /** Stops the server and closes the hub. */
  close(): Promise<void>;
}

/**
 * Starts an in-memory hub for a test, listening on 127.0.0.1 with ephemeral ports unless
 * `listen: false`.
 *
 * @param options - hub options plus `listen`
 * @returns the test hub; dispose it (`await using`) or call `close()`
 * @example
 * ```ts
 * await using testHub = await startTestHub({ listen: false });
 * const response = await testHub.fetch(new Request('https://localhost/health'));
 * ```
 */
export async function startTestHub(options: StartTestHubOptions = {}): Promise<TestHub> {
  const { listen: shouldListen = true, ...hubOptions } = options;
  const hub = await createHub(hubOptions);
  let server: HubServer | undefined;
  if (shouldListen) {
    try {
      server = await listen(hub, { host: '127.0.0.1', httpsPort: 0, mqttPort: 0, amqpPort: 0 });
    } catch (error) {
      await hub.close();
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await server?.close();
      await hub.close();
    })();
    return closing;
  };
  const testHub: TestHub = {
    hub,
    fetch: (input, init) => hub.fetch(input, init),
    serviceConnectionString: hub.serviceConnectionString,
    caCertificate: hub.caCertificate,
    createDevice: (deviceId) => hub.createDevice(deviceId),
    close,
    [Symbol.asyncDispose]: close,
  };
  if (server !== undefined) {
    testHub.server = server;
    testHub.httpsPort = server.ports.https;
    if (server.ports.mqtt !== undefined) testHub.mqttPort = server.ports.mqtt;
    if (server.ports.amqp !== undefined) testHub.amqpPort = server.ports.amqp;
  }
  return testHub;
}

/** Options of {@link createTestAccessToken}. */
export interface TestAccessTokenOptions {
  /** The hub's `tokenIssuer.key`. */
  key: string | Uint8Array;
  /** Role names, e.g. `['IoTHub.Service.Connect']` or `['IoT Hub Data Contributor']` (see the README). */
  roles: readonly string[];
  /** `aud`; default `https://iothubs.azure.net`. */
  audience?: string;
  /** `iss`, when the hub's tokenIssuer names one. */
  issuer?: string;
  /** `sub`; default `twinkit-test`. */
  subject?: string;
  /** Lifetime; default 3600 s. Negative values make an already expired token. */
  expiresInSeconds?: number;
}

/**
 * Mints an HS256 Bearer JWT the hub accepts when created with the same `tokenIssuer.key`: the
 * offline stand-in for a Microsoft Entra token from `@azure/identity`.
 *
 * @param options - key, roles and optional claims
 * @returns the JWT (without the `Bearer ` prefix) and its expiry in ms since the epoch
 * @example
 * ```ts
 * const { token, expiresOnTimestamp } = await createTestAccessToken({ key, roles: ['IoT Hub Data Contributor'] });
 * const credential = { getToken: async () => ({ token, expiresOnTimestamp }) };
 * ```
 */
export async function createTestAccessToken(
  options: TestAccessTokenOptions,
): Promise<{ token: string; expiresOnTimestamp: number }> {
  const key = typeof options.key === 'string' ? new TextEncoder().encode(options.key) : options.key;
  const now = Math.floor(Date.now() / 1000);
  const expires = now + (options.expiresInSeconds ?? 3600);
  let jwt = new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(options.audience ?? IOT_HUB_AUDIENCE)
    .setSubject(options.subject ?? 'twinkit-test')
    .setIssuedAt(now)
    .setExpirationTime(expires);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  return { token: await jwt.sign(key), expiresOnTimestamp: expires * 1000 };
}

/** A self-signed client certificate from {@link createTestClientCertificate}. */
export interface TestClientCertificate {
  /** PEM certificate, for the device's TLS `cert`. */
  cert: string;
  /** PKCS#8 PEM private key, for the device's TLS `key`. */
  key: string;
  /** Upper-case hex SHA-1 thumbprint, what a self-signed X.509 device identity registers. */
  sha1Thumbprint: string;
  /** Upper-case hex SHA-256 thumbprint. */
  sha256Thumbprint: string;
}

/**
 * Creates a self-signed ECDSA P-256 client certificate for testing X.509 (thumbprint)
 * authentication against the hub: register the thumbprint on a device, then connect with the
 * certificate and key.
 *
 * @param commonName - the subject CN; IoT Hub expects the device id
 * @param options - `validForDays` (default 1)
 * @returns the PEM certificate, key and thumbprints
 * @example
 * ```ts
 * const certificate = createTestClientCertificate('dev-1');
 * // register certificate.sha1Thumbprint as the device's primary thumbprint
 * ```
 */
export function createTestClientCertificate(
  commonName: string,
  options: { validForDays?: number } = {},
): TestClientCertificate {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const dayInMs = 86_400_000;
  const cert = createCertificate({
    subject: { commonName },
    notBefore: new Date(now - dayInMs),
    notAfter: new Date(now + (options.validForDays ?? 1) * dayInMs),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['clientAuth'],
  });
  const raw = new X509Certificate(cert).raw;
  const thumbprint = (algorithm: string) =>
    createHash(algorithm).update(raw).digest('hex').toUpperCase();
  return {
    cert,
    key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    sha1Thumbprint: thumbprint('sha1'),
    sha256Thumbprint: thumbprint('sha256'),
  };
}

/** PEM material from {@link createTestCertificates}. */
export interface TestCertificates {
  /** The CA clients trust (`ca` option). */
  caCertificate: string;
  /** A server certificate for `localhost`, `127.0.0.1` and `::1`, signed by the CA. */
  serverCertificate: string;
  /** Its PKCS#8 private key. */
  serverKey: string;
}

/**
 * A fresh development CA and server certificate, in memory, like the ones a hub serves TLS with:
 * for tests that stand up a TLS peer of their own (for example a deliberately misbehaving
 * broker) which clients trust with `ca: caCertificate`.
 *
 * @returns the CA and the server's certificate and key
 * @example
 * ```ts
 * const { caCertificate, serverCertificate, serverKey } = await createTestCertificates();
 * const server = tls.createServer({ cert: serverCertificate, key: serverKey }, onSocket);
 * ```
 */
export function createTestCertificates(): Promise<TestCertificates> {
  const { caCertificate, serverCertificate, serverKey } = loadOrCreateDevCertificates({
    hostName: 'localhost',
  });
  return Promise.resolve({ caCertificate, serverCertificate, serverKey });
}
