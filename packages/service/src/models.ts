/**
 * The entities the registry returns and accepts besides twins (which come from
 * `@twinkit/twin-model`): twin references, device and module identities, bulk update items and
 * results (docs/internals/wire-contract.md#identities, docs/internals/wire-contract.md#bulk-twin-updates).
 */
import type { HubError } from '@twinkit/twin-model/errors';
import type {
  AuthenticationType,
  ConnectionState,
  DeviceStatus,
  JsonObject,
  TwinUpdate,
  X509Thumbprint,
} from '@twinkit/twin-model';

/**
 * Which twin to act on: a device id, or an object naming the device (and module). A `Twin` read
 * earlier fits, and then its `etag` serves `onlyIfUnchanged`.
 */
export type TwinId = string | TwinReference;

/** An object that names a device or module twin, optionally with the ETag it was read at. */
export interface TwinReference {
  deviceId: string;
  moduleId?: string | undefined;
  etag?: string | undefined;
}

/** Symmetric keys of an identity; `null`/empty when the identity uses another method. */
export interface SymmetricKey {
  primaryKey: string | null;
  secondaryKey: string | null;
}

/** How an identity authenticates. */
export interface IdentityAuthentication {
  type: AuthenticationType;
  symmetricKey?: SymmetricKey;
  x509Thumbprint?: X509Thumbprint;
}

/** A device identity as the hub returns it (docs/internals/wire-contract.md#identities). */
export interface Device {
  deviceId: string;
  generationId?: string;
  /** Identity ETag (not the twin's). */
  etag: string;
  status: DeviceStatus;
  statusReason?: string | null;
  connectionState?: ConnectionState;
  connectionStateUpdatedTime?: string;
  statusUpdatedTime?: string;
  lastActivityTime?: string;
  cloudToDeviceMessageCount?: number;
  authentication: IdentityAuthentication;
  capabilities?: { iotEdge: boolean };
  deviceScope?: string;
  parentScopes?: string[];
}

/** A module identity as the hub returns it. */
export interface Module {
  deviceId: string;
  moduleId: string;
  generationId?: string;
  etag: string;
  managedBy?: string | null;
  connectionState?: ConnectionState;
  connectionStateUpdatedTime?: string;
  lastActivityTime?: string;
  cloudToDeviceMessageCount?: number;
  authentication: IdentityAuthentication;
}

/** What `createDevice` accepts: an id plus optional settings; empty keys mean "generate". */
export interface DeviceDescription {
  deviceId: string;
  status?: DeviceStatus;
  statusReason?: string | null;
  authentication?: Partial<IdentityAuthentication>;
  capabilities?: { iotEdge: boolean };
}

/** What `createModule` accepts. */
export interface ModuleDescription {
  deviceId: string;
  moduleId: string;
  managedBy?: string;
  authentication?: Partial<IdentityAuthentication>;
}

/**
 * One item of a bulk twin update: which twin, and a patch of its tags and desired properties.
 * A `Twin` whose sections you changed also fits; identity fields and `$metadata` are ignored.
 */
export interface BulkTwinUpdate<
  TDesired extends object = JsonObject,
  TTags extends object = JsonObject,
> extends TwinUpdate<TDesired, TTags> {
  deviceId: string;
  moduleId?: string | undefined;
  /** Needed with `onlyIfUnchanged`: apply only if the twin still has this ETag. */
  etag?: string | undefined;
}

/** The outcome of one item of a bulk update. */
export interface BulkTwinUpdateItemResult {
  deviceId: string;
  moduleId?: string;
  /** `true` when the hub reported no error for this twin. */
  succeeded: boolean;
  /** Why it failed, as the typed error the single-twin call would have thrown. */
  error?: HubError;
}

/** The outcome of `updateTwins`. */
export interface UpdateTwinsResult {
  /** `true` when every item succeeded. */
  isSuccessful: boolean;
  /** One entry per input item, in input order. */
  results: BulkTwinUpdateItemResult[];
  /** Warnings the hub sent, as it sent them. */
  warnings: { deviceId?: string; warningCode?: string; warningStatus?: string }[];
}
