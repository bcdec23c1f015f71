/**
 * What a DeviceClient is built from: its options checked and completed with defaults, the
 * credentials behind `fromConnectionString` and `fromSasToken`, and the parameters each
 * connection is opened with. Construction does no I/O (docs/internals/architecture.md#client-conventions).
 *
 * @internal
 */
import {
  isModelId,
  parseDeviceConnectionString,
  parseSasToken,
  splitHostPort,
} from '@twinkit/twin-model/protocol';
import type { DeviceAuth, DeviceCredential, DeviceIdentity } from './auth/credential.js';
import { SasKeyCredential } from './auth/sas-key-credential.js';
import { SasTokenCredential } from './auth/sas-token-credential.js';
import { X509Credential } from './auth/x509-credential.js';
import { resolveRetryOptions, type ResolvedRetryOptions } from '@twinkit/twin-model/internal';
import { DEFAULT_RETRY_OPTIONS, type DeviceClientOptions } from './options.js';
import { DEFAULT_OUTBOX_OPTIONS } from './outbox/reported-outbox.js';
import type { ConnectParams } from './transport/transport.js';

/** Default deadline of every operation. */
export const DEFAULT_OPERATION_TIMEOUT_IN_MS = 30_000;
/** Default MQTT keep-alive. */
export const DEFAULT_KEEP_ALIVE_IN_SECONDS = 180;
/** Default SAS token lifetime. */
export const DEFAULT_TOKEN_VALIDITY_IN_SECONDS = 3600;
/** Default renewal margin before a token expires. */
export const DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS = 900;

/** {@link DeviceClientOptions} checked and completed. */
export interface ClientSettings {
  operationTimeoutInMs: number;
  keepAliveInSeconds: number;
  renewalMarginInSeconds: number;
  retry: ResolvedRetryOptions;
  ca: string | undefined;
  modelId: string | undefined;
  outbox: { enabled: boolean; maxPatches: number; maxBytes: number; maxPatchesInFlight: number };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!(resolved > 0) || !Number.isFinite(resolved)) {
    throw new RangeError(`${name} must be a positive, finite number (got ${String(value)})`);
  }
  return resolved;
}

/**
 * Checks a client's options and fills in the defaults.
 *
 * @param options - what the app passed
 * @returns the settings
 * @throws {@link RangeError} when an option is out of range
 */
export function resolveClientSettings(options: DeviceClientOptions): ClientSettings {
  const operationTimeoutInMs = positive(
    'operationTimeoutInMs',
    options.operationTimeoutInMs,
    DEFAULT_OPERATION_TIMEOUT_IN_MS,
  );
  const keepAliveInSeconds = positive(
    'keepAliveInSeconds',
    options.keepAliveInSeconds,
    DEFAULT_KEEP_ALIVE_IN_SECONDS,
  );
  const margin = options.tokenRenewalMarginInSeconds ?? DEFAULT_TOKEN_RENEWAL_MARGIN_IN_SECONDS;
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new RangeError('tokenRenewalMarginInSeconds must be a finite number >= 0');
  }
  if (options.modelId !== undefined && !isModelId(options.modelId)) {
    throw new TypeError(
      `modelId must be a versioned DTMI such as 'dtmi:com:example:Thermostat;1' (got ${JSON.stringify(options.modelId)})`,
    );
  }
  const outbox = options.outbox === false ? undefined : options.outbox;
  return {
    operationTimeoutInMs,
    keepAliveInSeconds,
    renewalMarginInSeconds: margin,
    retry: resolveRetryOptions(options.retryOptions, DEFAULT_RETRY_OPTIONS),
    ca: options.ca,
    modelId: options.modelId,
    outbox: {
      enabled: options.outbox !== false,
      maxPatches: outbox?.maxPatches ?? DEFAULT_OUTBOX_OPTIONS.maxPatches,
      maxBytes: outbox?.maxBytes ?? DEFAULT_OUTBOX_OPTIONS.maxBytes,
      maxPatchesInFlight: outbox?.maxPatchesInFlight ?? DEFAULT_OUTBOX_OPTIONS.maxPatchesInFlight,
    },
  };
}

/**
 * Checks that an identity's host names are `host[:port]`.
 *
 * @param identity - the identity
 * @throws {@link TypeError} when a host name is malformed
 */
export function assertValidHostNames(identity: DeviceIdentity): void {
  splitHostPort(identity.hostName);
  if (identity.gatewayHostName !== undefined) splitHostPort(identity.gatewayHostName);
}

/**
 * The credential a device or module connection string describes.
 *
 * @param connectionString - `HostName=…;DeviceId=…;SharedAccessKey=…` (or `SharedAccessSignature=`, or `x509=true`)
 * @param options - token lifetime and client certificate
 * @returns the credential
 * @throws {@link TypeError} when the string is malformed, or `x509=true` comes without `clientCertificate`
 */
export function credentialFromConnectionString(
  connectionString: string,
  options: DeviceClientOptions,
): DeviceCredential {
  const parts = parseDeviceConnectionString(connectionString);
  const identity: DeviceIdentity = {
    hostName: parts.hostName,
    deviceId: parts.deviceId,
    ...(parts.moduleId === undefined ? {} : { moduleId: parts.moduleId }),
    ...(parts.gatewayHostName === undefined ? {} : { gatewayHostName: parts.gatewayHostName }),
  };
  if (parts.sharedAccessKey !== undefined) {
    return new SasKeyCredential(identity, parts.sharedAccessKey, {
      tokenValidityInSeconds: options.tokenValidityInSeconds ?? DEFAULT_TOKEN_VALIDITY_IN_SECONDS,
      ...(parts.sharedAccessKeyName === undefined
        ? {}
        : { sharedAccessKeyName: parts.sharedAccessKeyName }),
    });
  }
  if (parts.sharedAccessSignature !== undefined) {
    return new SasTokenCredential(identity, parts.sharedAccessSignature);
  }
  if (options.clientCertificate === undefined) {
    throw new TypeError(
      'An x509=true connection string needs options.clientCertificate ({ certificate, key })',
    );
  }
  return new X509Credential(identity, options.clientCertificate);
}

/**
 * The credential of a SAS token whose `sr` names a device or module.
 *
 * @param sasToken - `SharedAccessSignature sr=…&sig=…&se=…`
 * @param gatewayHostName - where to connect, when not the host in `sr`
 * @returns the credential (not renewable)
 * @throws {@link TypeError} when the token is malformed or its `sr` names no device
 */
export function credentialFromSasToken(
  sasToken: string,
  gatewayHostName: string | undefined,
): DeviceCredential {
  const { resourceUri } = parseSasToken(sasToken);
  const match = /^([^/]+)\/devices\/([^/]+)(?:\/modules\/([^/]+))?\/?$/.exec(resourceUri);
  if (match === null) {
    throw new TypeError(
      'The SAS token does not name a device: its sr must be <host>/devices/<id>[/modules/<mid>]',
    );
  }
  const [, hostName = '', deviceId = '', moduleId] = match;
  const identity: DeviceIdentity = {
    hostName,
    deviceId,
    ...(moduleId === undefined ? {} : { moduleId }),
    ...(gatewayHostName === undefined ? {} : { gatewayHostName }),
  };
  return new SasTokenCredential(identity, sasToken);
}

/**
 * The parameters of one connection: the hub host (SAS `sr`, MQTT username), where to dial
 * (`GatewayHostName`, else `HostName`, each with its optional `:port`), and the credential.
 *
 * @param identity - who connects, and where
 * @param auth - fresh authentication material
 * @param settings - CA, keep-alive and model id
 * @returns the parameters for the transport
 */
export function createConnectParams(
  identity: DeviceIdentity,
  auth: DeviceAuth,
  settings: Pick<ClientSettings, 'ca' | 'keepAliveInSeconds' | 'modelId'>,
): ConnectParams {
  const hub = splitHostPort(identity.hostName);
  const endpoint =
    identity.gatewayHostName === undefined ? hub : splitHostPort(identity.gatewayHostName);
  return {
    hostName: hub.host,
    endpointHost: endpoint.host,
    ...(endpoint.port === undefined ? {} : { endpointPort: endpoint.port }),
    deviceId: identity.deviceId,
    ...(identity.moduleId === undefined ? {} : { moduleId: identity.moduleId }),
    ...(auth.sasToken === undefined ? {} : { sasToken: auth.sasToken }),
    ...(auth.clientCertificate === undefined ? {} : { clientCertificate: auth.clientCertificate }),
    ...(settings.ca === undefined ? {} : { ca: settings.ca }),
    keepAliveInSeconds: settings.keepAliveInSeconds,
    ...(settings.modelId === undefined ? {} : { modelId: settings.modelId }),
  };
}
