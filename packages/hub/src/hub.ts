/**
 * `createHub()`: the local IoT Hub as a library. It opens storage, loads or creates the
 * development CA, and answers the service REST API through `hub.fetch(request)`. It opens no
 * sockets; `listen()` (node/listen.ts) serves it.
 */
import { randomBytes } from 'node:crypto';
import {
  formatDeviceConnectionString,
  formatServiceConnectionString,
} from '@twinkit/twin-model/protocol';
import { RequestAuthenticator, type TokenIssuerOptions } from './auth/authenticate-request.js';
import {
  WELL_KNOWN_POLICIES,
  assertValidPolicies,
  type SharedAccessPolicy,
} from './auth/policies.js';
import { FaultInjector, type HubFaults } from './faults/fault-injector.js';
import type { DeviceEndpointFaults } from './faults/device-endpoint-faults.js';
import { HubCore } from './hub-core.js';
import { TwinTimeline } from './explorer/twin-timeline.js';
import { attachAmqpEndpoint, type AmqpEndpoint } from './amqp/amqp-endpoint.js';
import { attachMqttEndpoint } from './mqtt/mqtt-protocol-endpoint.js';
import {
  resolveDeviceEndpointLimits,
  type DeviceEndpointLimits,
} from './device-endpoint/limits.js';
import type { MqttEndpoint } from './mqtt/mqtt-endpoint.js';
import { createRestApp } from './rest/app.js';
import { assertValidCorsOrigins } from './rest/cors.js';
import { assertValidId, type IdentityRecord } from './state/identity.js';
import { loadOrCreateDevCertificates, type DevCertificates } from './tls/dev-certificates.js';

/** Options of {@link createHub}. */
export interface HubOptions {
  /**
   * The hub's host name: what SAS `sr` values and connection strings use, and a name on the TLS
   * certificate. Default `localhost`.
   */
  hostName?: string;
  /** Directory for the SQLite database and the development CA. Omitted → everything in memory. */
  dataDir?: string;
  /**
   * Shared access policies. Default: the well-known development policies (`iothubowner`,
   * `service`, `device`, `registryRead`, `registryReadWrite`) with the fixed keys in the README.
   */
  policies?: SharedAccessPolicy[];
  /** Accept `Authorization: Bearer <JWT>` (HS256) signed with this key, for `@azure/identity`-style apps. */
  tokenIssuer?: TokenIssuerOptions;
  /**
   * How to treat an unquoted `If-Match`: `strict` (default) compares it; `ignore-unquoted` skips
   * the check like hubs observed in 2019-2020 (docs/internals/wire-contract.md#etags-and-if-match).
   */
  ifMatchMode?: 'strict' | 'ignore-unquoted';
  /** Largest query page (clamps `x-ms-max-item-count`); default 100. */
  maxPageSize?: number;
  /**
   * Limits of the device endpoints (MQTT and AMQP, over TLS and WebSocket): packet, frame and
   * message sizes, the authentication deadline, the AMQP idle timeout and the in-flight twin
   * request cap. Each one left out keeps its default; see {@link DeviceEndpointLimits} and
   * docs/security.md.
   */
  limits?: Partial<DeviceEndpointLimits>;
  /**
   * Origins allowed to call the REST API from a web page (CORS), such as
   * `http://localhost:5173`, or `*` for any. Default none: browsers then refuse cross-origin
   * calls, as they do against Azure IoT Hub.
   */
  corsOrigins?: readonly string[];
}

/** A device or module identity created through {@link Hub.createDevice} / {@link Hub.createModule}. */
export interface CreatedIdentity {
  deviceId: string;
  primaryKey: string;
  secondaryKey: string;
  /**
   * `HostName=<hostName>[:<port>];DeviceId=…[;ModuleId=…];SharedAccessKey=<primary key>`, for the
   * default transport (MQTT over TLS): while the hub is served by `listen()` on a port other than
   * IoT Hub's 8883, the host name carries the MQTT port.
   */
  connectionString: string;
  /** The same credentials with the port of each endpoint (no port on IoT Hub's standard ones). */
  connectionStrings: DeviceConnectionStrings;
}

/** One device connection string per endpoint the device can dial. */
export interface DeviceConnectionStrings {
  /** MQTT over TLS (`mqtt()`); IoT Hub's port is 8883. */
  mqtt: string;
  /** AMQP over TLS (`amqp()`); IoT Hub's port is 5671. */
  amqp: string;
  /** MQTT or AMQP over WebSocket (`mqtt({ webSocket: true })`), on the HTTPS port; IoT Hub's is 443. */
  webSocket: string;
}

/** The ports `listen()` serves a hub on, so connection strings can name them. @internal */
export interface ServedPorts {
  https?: number;
  mqtt?: number;
  amqp?: number;
}

/** IoT Hub's own ports: a connection string names a port only when the hub serves another one. */
export const STANDARD_PORTS = Object.freeze({ https: 443, mqtt: 8883, amqp: 5671 });

/** A module identity created through {@link Hub.createModule}. */
export interface CreatedModuleIdentity extends CreatedIdentity {
  moduleId: string;
}

/**
 * Fault injection of a hub: REST failures and delays (`failNext`, `delayNext`, which MQTT twin
 * and AMQP twin requests honour too under `deviceGetTwin` / `deviceUpdateReported`), and each device
 * endpoint's own faults (dropped connections, expired tokens, duplicated or reordered desired notifications).
 */
export interface HubFaultControls extends HubFaults {
  /** Faults of the MQTT endpoint. */
  readonly mqtt: DeviceEndpointFaults;
  /** Faults of the AMQP endpoint (the same interface as {@link HubFaultControls.mqtt}). */
  readonly amqp: DeviceEndpointFaults;
}

/** The local IoT Hub: REST handler, registry shortcuts, fault injection. No sockets. */
export interface Hub extends AsyncDisposable {
  /** The host name SAS tokens and connection strings use. */
  readonly hostName: string;
  /**
   * `HostName=<hostName>[:<port>];SharedAccessKeyName=iothubowner;SharedAccessKey=…` (the first
   * policy when iothubowner is not configured); while `listen()` serves the hub on a port other
   * than 443, the host name carries the HTTPS port.
   */
  readonly serviceConnectionString: string;
  /** PEM of the development CA that signed the hub's TLS certificate. */
  readonly caCertificate: string;
  /** Path of `ca.pem` in the data directory, when the hub has one. */
  readonly caFile: string | undefined;
  /** Fault injection for the REST pipeline and the device endpoints. */
  readonly faults: HubFaultControls;
  /**
   * Answers one service REST request (twins, identities, queries, bulk) plus `GET /health`. It
   * has the standard `fetch` signature and is a bound property, so `{ fetch: hub.fetch }` can be
   * handed to anything that takes a `fetch`, such as the service `Registry`.
   *
   * @param input - a URL (string or `URL`) or a standard `Request`; the origin is ignored
   * @param init - method, headers, body, as for `fetch`; a `Request` is built only when it is given
   * @returns the response IoT Hub would send
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /**
   * Registers a device identity with generated SAS keys.
   *
   * @param deviceId - the id
   * @param options - initial status (default `enabled`)
   * @returns its keys and connection string
   * @throws {@link ConflictError} when it exists
   */
  createDevice(
    deviceId: string,
    options?: { status?: 'enabled' | 'disabled' },
  ): Promise<CreatedIdentity>;
  /**
   * Registers a module identity with generated SAS keys.
   *
   * @param deviceId - the existing device
   * @param moduleId - the module id
   * @returns its keys and connection string
   * @throws {@link DeviceNotFoundError} when the device is missing, {@link ConflictError} when the module exists
   */
  createModule(deviceId: string, moduleId: string): Promise<CreatedModuleIdentity>;
  /** Flushes pending writes and closes storage. Idempotent. */
  close(): Promise<void>;
}

interface HubInternals {
  core: HubCore;
  certificates: DevCertificates;
  mqtt: MqttEndpoint;
  amqp: AmqpEndpoint;
  /** The last changes of each twin, for the explorer (kept from the hub's start). */
  timeline: TwinTimeline;
  /** Set by `listen()` while it serves the hub. */
  served: ServedPorts;
}

const internals = new WeakMap<Hub, HubInternals>();

/**
 * The core and TLS material behind a hub, for `listen()` and the protocol endpoints.
 *
 * @param hub - a hub made by {@link createHub}
 * @returns its internals
 * @throws {@link TypeError} for an object that was not made by `createHub`
 * @internal
 */
export function hubInternals(hub: Hub): HubInternals {
  const found = internals.get(hub);
  if (found === undefined) throw new TypeError('Not a hub created by createHub().');
  return found;
}

class LocalHub implements Hub {
  readonly hostName: string;
  readonly caCertificate: string;
  readonly caFile: string | undefined;
  readonly faults: HubFaultControls;
  readonly served: ServedPorts = {};
  readonly #serviceCredentials: { keyName: string; key: string } | undefined;
  readonly #core: HubCore;
  readonly #mqtt: MqttEndpoint;
  readonly #amqp: AmqpEndpoint;
  readonly #fetch: (request: Request) => Promise<Response>;
  #closing: Promise<void> | undefined;

  constructor(
    core: HubCore,
    mqtt: MqttEndpoint,
    amqp: AmqpEndpoint,
    certificates: DevCertificates,
    fetch: (request: Request) => Promise<Response>,
  ) {
    this.#core = core;
    this.#mqtt = mqtt;
    this.#amqp = amqp;
    this.#fetch = fetch;
    this.hostName = core.hostName;
    const rest = core.faults;
    this.faults = {
      failNext: (options) => {
        rest.failNext(options);
      },
      delayNext: (options) => {
        rest.delayNext(options);
      },
      clear: () => {
        rest.clear();
        mqtt.faults.clear();
        amqp.faults.clear();
      },
      mqtt: mqtt.faults,
      amqp: amqp.faults,
    };
    this.caCertificate = certificates.caCertificate;
    this.caFile = certificates.caFile;
    const policy =
      core.policies.find((candidate) => candidate.keyName === 'iothubowner') ?? core.policies[0];
    this.#serviceCredentials =
      policy === undefined ? undefined : { keyName: policy.keyName, key: policy.primaryKey };
  }

  get serviceConnectionString(): string {
    if (this.#serviceCredentials === undefined) return '';
    return formatServiceConnectionString({
      hostName: this.#hostFor('https'),
      sharedAccessKeyName: this.#serviceCredentials.keyName,
      sharedAccessKey: this.#serviceCredentials.key,
    });
  }

  /** The host name, with the port the hub serves `endpoint` on unless it is IoT Hub's own. */
  #hostFor(endpoint: keyof ServedPorts): string {
    const port = this.served[endpoint];
    return port === undefined || port === STANDARD_PORTS[endpoint]
      ? this.hostName
      : `${this.hostName}:${String(port)}`;
  }

  // A bound property rather than a method, so `{ fetch: hub.fetch }` works as tests and docs pass it.
  // A Request passed alone goes through untouched; (url, init) as the Registry calls it needs one.
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    this.#fetch(
      init === undefined && typeof input === 'object' && !(input instanceof URL)
        ? input
        : new Request(input, init),
    );

  async createDevice(
    deviceId: string,
    options: { status?: 'enabled' | 'disabled' } = {},
  ): Promise<CreatedIdentity> {
    assertValidId(deviceId, 'DeviceId');
    const request =
      options.status === undefined
        ? { keysOmitted: true }
        : { keysOmitted: true, status: options.status };
    const entry = await this.#core.createIdentity({ deviceId }, request).committed;
    return this.#describe(entry.identity);
  }

  async createModule(deviceId: string, moduleId: string): Promise<CreatedModuleIdentity> {
    assertValidId(deviceId, 'DeviceId');
    assertValidId(moduleId, 'ModuleId');
    const entry = await this.#core.createIdentity({ deviceId, moduleId }, { keysOmitted: true })
      .committed;
    return { ...this.#describe(entry.identity), moduleId };
  }

  #describe(identity: IdentityRecord): CreatedIdentity {
    const primaryKey = identity.authentication.symmetricKey.primaryKey ?? '';
    const secondaryKey = identity.authentication.symmetricKey.secondaryKey ?? '';
    const format = (endpoint: keyof ServedPorts) =>
      formatDeviceConnectionString({
        hostName: this.#hostFor(endpoint),
        deviceId: identity.deviceId,
        ...(identity.moduleId === undefined ? {} : { moduleId: identity.moduleId }),
        sharedAccessKey: primaryKey,
      });
    const connectionStrings: DeviceConnectionStrings = {
      mqtt: format('mqtt'),
      amqp: format('amqp'),
      webSocket: format('https'),
    };
    return {
      deviceId: identity.deviceId,
      primaryKey,
      secondaryKey,
      connectionString: connectionStrings.mqtt,
      connectionStrings,
    };
  }

  close(): Promise<void> {
    // The endpoints go first so their final "Disconnected" updates still reach an open core.
    this.#closing ??= Promise.all([this.#mqtt.close(), this.#amqp.close()]).then(() =>
      this.#core.close(),
    );
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a local IoT Hub: storage (SQLite file in `dataDir`, or in memory), the development
 * CA and TLS certificate, and the REST handler. Opens no sockets; pass the hub to `listen()` to
 * serve it.
 *
 * @param options - host name, data directory, policies, Bearer token issuer, If-Match mode, page size
 * @returns the hub
 * @throws {@link TypeError} for invalid policies or host name, or an unknown limit
 * @throws {@link RangeError} for an invalid `maxPageSize` or limit
 * @throws {@link HubStorageError} when the data directory is not writable, is held by another
 *   hub, lost data since the last run (its WAL deleted or cut short, `hub.db` emptied), or holds
 *   a corrupt database or row; the message names the file and what to do
 * @example
 * ```ts
 * import { createHub } from '@twinkit/hub';
 *
 * await using hub = await createHub();
 * const device = await hub.createDevice('dev-1');
 * const response = await hub.fetch(new Request('https://localhost/twins/dev-1?api-version=2021-04-12', {
 *   headers: { authorization: await serviceToken() },
 * }));
 * ```
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const hostName = options.hostName ?? 'localhost';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(hostName))
    throw new TypeError(`Invalid hub host name '${hostName}'.`);
  const policies = options.policies ?? WELL_KNOWN_POLICIES.map((policy) => ({ ...policy }));
  assertValidPolicies(policies);
  if (
    options.maxPageSize !== undefined &&
    (!Number.isInteger(options.maxPageSize) || options.maxPageSize < 1)
  ) {
    throw new RangeError(
      `maxPageSize must be a positive integer, got ${String(options.maxPageSize)}.`,
    );
  }
  const limits = resolveDeviceEndpointLimits(options.limits);
  const corsOrigins = options.corsOrigins ?? [];
  assertValidCorsOrigins(corsOrigins);
  const faults = new FaultInjector();
  // Storage first: it takes the data directory's lock before anything (the CA) is written there.
  const core = new HubCore({
    hostName,
    dataDir: options.dataDir,
    policies,
    faults,
    ifMatchMode: options.ifMatchMode ?? 'strict',
  });
  let certificates: DevCertificates;
  try {
    certificates = loadOrCreateDevCertificates({ hostName, dataDir: options.dataDir });
  } catch (error) {
    await core.close();
    throw error;
  }
  const authenticator = new RequestAuthenticator(hostName, policies, options.tokenIssuer);
  const fetch = createRestApp({
    core,
    authenticator,
    paging: { maxPageSize: options.maxPageSize, secret: randomBytes(32).toString('base64') },
    corsOrigins,
  });
  const mqtt = await attachMqttEndpoint(core, { limits });
  const amqp = attachAmqpEndpoint(core, { limits });
  const hub = new LocalHub(core, mqtt, amqp, certificates, fetch);
  const timeline = new TwinTimeline(core.changes);
  internals.set(hub, { core, certificates, mqtt, amqp, timeline, served: hub.served });
  return hub;
}
