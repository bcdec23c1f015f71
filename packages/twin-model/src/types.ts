/**
 * The shapes of a twin: JSON values, the service view (full document with identity fields,
 * versions, ETag and `$metadata`), the device view (what a device's GET returns) and patches.
 *
 * @see docs/internals/twin-semantics.md#twin-document
 */

/** A JSON primitive. */
export type JsonPrimitive = string | number | boolean | null;

/** Any JSON value. */
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The three writable sections of a twin. */
export type TwinSectionName = 'tags' | 'desired' | 'reported';

/**
 * A JSON merge patch (RFC 7386 style, as IoT Hub applies it): objects merge recursively,
 * `null` deletes a key, anything else (arrays included) replaces the old value wholesale.
 */
export type MergePatch<T = JsonObject> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: MergePatch<T[K]> | null }
    : T;

/**
 * `$metadata` of a desired or reported section. Each node carries `$lastUpdated` (and, in
 * desired, `$lastUpdatedVersion`); object nodes hold their children's nodes under the same keys.
 */
export interface TwinMetadata {
  $lastUpdated: string;
  $lastUpdatedVersion?: number;
  [key: string]: TwinMetadata | string | number | undefined;
}

/** A desired or reported section in the service view: user content plus `$version` and `$metadata`. */
export type TwinPropertiesSection<T extends object = JsonObject> = T & {
  $version: number;
  $metadata: TwinMetadata;
};

/** A desired or reported section in the device view: user content plus `$version`, no `$metadata`. */
export type DeviceTwinSection<T extends object = JsonObject> = T & { $version: number };

/** `authenticationType` of a device or module identity. */
export type AuthenticationType = 'sas' | 'selfSigned' | 'certificateAuthority' | 'none';

/** `status` of a device or module identity. */
export type DeviceStatus = 'enabled' | 'disabled';

/** `connectionState` of a device or module (PascalCase on the wire). */
export type ConnectionState = 'Connected' | 'Disconnected';

/** X.509 thumbprints of an identity. */
export interface X509Thumbprint {
  primaryThumbprint: string | null;
  secondaryThumbprint: string | null;
}

/**
 * A device or module twin as the service API returns it (`GET /twins/{id}`, queries).
 *
 * @typeParam TDesired - the app's desired-properties shape
 * @typeParam TReported - the app's reported-properties shape
 * @typeParam TTags - the app's tags shape
 */
export interface Twin<
  TDesired extends object = JsonObject,
  TReported extends object = JsonObject,
  TTags extends object = JsonObject,
> {
  deviceId: string;
  moduleId?: string;
  /** The twin ETag: base64 of an 8-byte big-endian counter. Opaque to clients. */
  etag: string;
  deviceEtag?: string;
  /** Whole-twin version: +1 on every accepted write of any section. */
  version: number;
  status?: DeviceStatus;
  statusReason?: string;
  statusUpdateTime?: string;
  connectionState?: ConnectionState;
  lastActivityTime?: string;
  cloudToDeviceMessageCount?: number;
  authenticationType?: AuthenticationType;
  x509Thumbprint?: X509Thumbprint;
  modelId?: string;
  capabilities?: { iotEdge: boolean };
  deviceScope?: string;
  parentScopes?: string[];
  configurations?: Record<string, { status: string }>;
  /** Back-end-only tags; absent when the twin has none. */
  tags?: TTags;
  properties: {
    desired: TwinPropertiesSection<TDesired>;
    reported: TwinPropertiesSection<TReported>;
  };
}

/** What a device receives for a twin GET (MQTT or AMQP): no tags, no identity fields, no `$metadata`. */
export interface DeviceTwin<
  TDesired extends object = JsonObject,
  TReported extends object = JsonObject,
> {
  desired: DeviceTwinSection<TDesired>;
  reported: DeviceTwinSection<TReported>;
}

/** The body of a service twin update (PATCH) or replace (PUT): only `tags` and `properties.desired` count. */
export interface TwinUpdate<
  TDesired extends object = JsonObject,
  TTags extends object = JsonObject,
> {
  tags?: MergePatch<TTags> | null;
  properties?: { desired?: MergePatch<TDesired> | null };
}
