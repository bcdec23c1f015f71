/**
 * Device and module identities: the registry record, its JSON shape (docs/internals/wire-contract.md#identities), key
 * generation and the rules for create/update request bodies.
 */
import { randomBytes } from 'node:crypto';
import {
  formatTimestamp,
  type AuthenticationType,
  type ConnectionState,
  type DeviceStatus,
  type X509Thumbprint,
} from '@twinkit/twin-model';
import { hubFailure } from '../rest/hub-failure.js';

/** The zero timestamp IoT Hub uses for "never" (.NET `DateTime.MinValue`). */
export const NEVER = '0001-01-01T00:00:00Z';

/** A device or module identity as the hub stores it. */
export interface IdentityRecord {
  deviceId: string;
  moduleId?: string;
  /** Changes each time an identity with this id is created (docs/internals/wire-contract.md#identities). */
  generationId: string;
  /** The number behind `etag` (base64 of its decimal string); bumped on every identity change. */
  etagNumber: number;
  status: DeviceStatus;
  statusReason: string | null;
  statusUpdatedTime: string;
  connectionState: ConnectionState;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: {
    type: AuthenticationType;
    symmetricKey: { primaryKey: string | null; secondaryKey: string | null };
    x509Thumbprint: X509Thumbprint;
  };
  capabilities: { iotEdge: boolean };
  managedBy?: string;
  deviceScope?: string;
  parentScopes?: string[];
  modelId: string;
}

/** JSON of a device identity (docs/internals/wire-contract.md#identities). */
export type DeviceIdentityJson = Record<string, unknown>;

const ID_PATTERN = /^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$/;
const AUTH_TYPES: readonly AuthenticationType[] = [
  'sas',
  'selfSigned',
  'certificateAuthority',
  'none',
];

/**
 * Checks a device or module id against IoT Hub's rules: ≤128 ASCII characters from
 * `A-Z a-z 0-9 - : . + % _ # * ? ! ( ) , = @ ; $ '` (docs/internals/wire-contract.md#device-connection-strings).
 *
 * @param id - the id
 * @param what - `DeviceId` or `ModuleId`, for the message
 * @throws a 400 ArgumentInvalid HubError when it breaks the rules
 */
export function assertValidId(id: string, what: 'DeviceId' | 'ModuleId'): void {
  if (!ID_PATTERN.test(id)) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `${what} '${id.slice(0, 140)}' is invalid. It must be 1-128 characters of A-Z, a-z, 0-9 and - : . + % _ # * ? ! ( ) , = @ ; $ '.`,
    );
  }
}

/**
 * A primary and secondary key from one draw of 64 random bytes (one system call instead of two,
 * which matters when a bulk import creates thousands of identities).
 *
 * @returns two independent 32-byte keys, base64
 */
export function generateKeyPair(): { primaryKey: string; secondaryKey: string } {
  const bytes = randomBytes(64);
  return {
    primaryKey: bytes.subarray(0, 32).toString('base64'),
    secondaryKey: bytes.subarray(32).toString('base64'),
  };
}

let generationSequence = 0;

/**
 * A generationId in the style of the real hub (a .NET ticks-like decimal string).
 *
 * @param now - the creation time
 */
export function generateGenerationId(now: Date): string {
  // .NET ticks of the creation time; the sequence keeps ids made in the same millisecond distinct.
  generationSequence = (generationSequence + 1) % 10_000;
  const ticks =
    BigInt(now.getTime()) * 10_000n + 621_355_968_000_000_000n + BigInt(generationSequence);
  return ticks.toString();
}

/**
 * The identity etag: base64 of the decimal string of the etag number, like the real hub's
 * `deviceEtag` (`OTA4NTk1Mjg=` is `"90859528"`).
 *
 * @param etagNumber - the record's etag number
 */
export function formatIdentityEtag(etagNumber: number): string {
  return Buffer.from(String(etagNumber), 'utf8').toString('base64');
}

function isValidKey(key: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) return false;
  const length = Buffer.from(key, 'base64').length;
  return length >= 16 && length <= 64;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** What a create or update request asked for, after validation. */
export interface IdentityRequest {
  status?: DeviceStatus;
  statusReason?: string | null;
  authentication?: IdentityRecord['authentication'];
  /** True when the symmetric keys were empty or null: generate on create, keep on update. */
  keysOmitted: boolean;
  capabilities?: { iotEdge: boolean };
  managedBy?: string;
  etag?: string;
}

/**
 * Reads the writable fields of a device or module create/update body (docs/internals/wire-contract.md#identities). Empty
 * or null keys mean "generate" (create) or "keep" (update); read-only fields are ignored.
 *
 * @param body - the parsed request body
 * @returns the validated request
 * @throws a 400 ArgumentInvalid HubError for a bad status, auth type, key or thumbprint
 */
export function readIdentityRequest(body: unknown): IdentityRequest {
  const record = asRecord(body);
  if (record === undefined) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      'The request body must be a JSON object describing the identity.',
    );
  }
  const request: IdentityRequest = { keysOmitted: true };
  if (record.status !== undefined && record.status !== null) {
    if (record.status !== 'enabled' && record.status !== 'disabled') {
      throw hubFailure(
        400,
        'ArgumentInvalid',
        `Status ${JSON.stringify(record.status)} is invalid; use 'enabled' or 'disabled'.`,
      );
    }
    request.status = record.status;
  }
  if ('statusReason' in record) request.statusReason = optionalString(record.statusReason);
  if (typeof record.managedBy === 'string') request.managedBy = record.managedBy;
  if (typeof record.etag === 'string') request.etag = record.etag;
  const capabilities = asRecord(record.capabilities);
  if (capabilities !== undefined) request.capabilities = { iotEdge: capabilities.iotEdge === true };

  const auth = asRecord(record.authentication);
  if (auth !== undefined) {
    const symmetric = asRecord(auth.symmetricKey);
    const thumbprints = asRecord(auth.x509Thumbprint);
    const primaryKey = optionalString(symmetric?.primaryKey);
    const secondaryKey = optionalString(symmetric?.secondaryKey);
    const primaryThumbprint = optionalString(thumbprints?.primaryThumbprint);
    const secondaryThumbprint = optionalString(thumbprints?.secondaryThumbprint);
    let type: AuthenticationType;
    if (auth.type === undefined || auth.type === null) {
      // Node fills the type in the same way when it is missing (docs/internals/wire-contract.md#identities).
      type = primaryThumbprint !== null || secondaryThumbprint !== null ? 'selfSigned' : 'sas';
    } else if (
      typeof auth.type === 'string' &&
      (AUTH_TYPES as readonly string[]).includes(auth.type)
    ) {
      type = auth.type as AuthenticationType;
    } else {
      throw hubFailure(
        400,
        'ArgumentInvalid',
        `Authentication type ${JSON.stringify(auth.type)} is invalid; use sas, selfSigned, certificateAuthority or none.`,
      );
    }
    const authentication: IdentityRecord['authentication'] = {
      type,
      symmetricKey: { primaryKey: null, secondaryKey: null },
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    };
    if (type === 'sas') {
      if ((primaryKey === null) !== (secondaryKey === null)) {
        throw hubFailure(
          400,
          'ArgumentInvalid',
          'Give both symmetric keys, or neither to have them generated.',
        );
      }
      for (const key of [primaryKey, secondaryKey]) {
        if (key !== null && !isValidKey(key)) {
          throw hubFailure(
            400,
            'ArgumentInvalid',
            'A symmetric key must be base64 of 16 to 64 bytes.',
          );
        }
      }
      if (primaryKey !== null && secondaryKey !== null) {
        authentication.symmetricKey = { primaryKey, secondaryKey };
        request.keysOmitted = false;
      }
    } else if (type === 'selfSigned') {
      const valid = (value: string | null) =>
        value === null || /^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/.test(value);
      if (primaryThumbprint === null || !valid(primaryThumbprint) || !valid(secondaryThumbprint)) {
        throw hubFailure(
          400,
          'ArgumentInvalid',
          'A selfSigned identity needs a primary thumbprint (40 or 64 hex characters; SHA-1 or SHA-256).',
        );
      }
      authentication.x509Thumbprint = { primaryThumbprint, secondaryThumbprint };
      request.keysOmitted = false;
    } else {
      request.keysOmitted = false;
    }
    request.authentication = authentication;
  }
  return request;
}

/**
 * Builds a new identity record from a create request.
 *
 * @param ids - device id and, for a module, module id
 * @param request - what the caller asked for
 * @param etagNumber - the identity etag number to start with
 * @param now - creation time
 */
export function createIdentityRecord(
  ids: { deviceId: string; moduleId?: string | undefined },
  request: IdentityRequest,
  etagNumber: number,
  now: Date,
): IdentityRecord {
  const authentication = request.authentication ?? {
    type: 'sas',
    symmetricKey: { primaryKey: null, secondaryKey: null },
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
  };
  if (authentication.type === 'sas' && request.keysOmitted) {
    authentication.symmetricKey = generateKeyPair();
  }
  const record: IdentityRecord = {
    deviceId: ids.deviceId,
    generationId: generateGenerationId(now),
    etagNumber,
    status: request.status ?? 'enabled',
    statusReason: request.statusReason ?? null,
    statusUpdatedTime: NEVER,
    connectionState: 'Disconnected',
    connectionStateUpdatedTime: NEVER,
    lastActivityTime: NEVER,
    cloudToDeviceMessageCount: 0,
    authentication,
    capabilities: request.capabilities ?? { iotEdge: false },
    modelId: '',
  };
  if (ids.moduleId !== undefined) {
    record.moduleId = ids.moduleId;
    if (request.managedBy !== undefined) record.managedBy = request.managedBy;
  }
  return record;
}

/**
 * Applies an update request to a copy of a record (keys kept when the request left them empty).
 *
 * @param record - the current record
 * @param request - the update
 * @param etagNumber - the new identity etag number
 * @param now - update time
 * @returns the updated copy
 */
export function updateIdentityRecord(
  record: IdentityRecord,
  request: IdentityRequest,
  etagNumber: number,
  now: Date,
): IdentityRecord {
  const next: IdentityRecord = structuredClone(record);
  next.etagNumber = etagNumber;
  if (request.status !== undefined && request.status !== record.status) {
    next.status = request.status;
    next.statusUpdatedTime = formatTimestamp(now);
  }
  if (request.statusReason !== undefined) next.statusReason = request.statusReason;
  if (request.capabilities !== undefined && record.moduleId === undefined)
    next.capabilities = request.capabilities;
  if (request.managedBy !== undefined && record.moduleId !== undefined)
    next.managedBy = request.managedBy;
  const auth = request.authentication;
  if (auth !== undefined) {
    if (auth.type === 'sas' && request.keysOmitted) {
      // Node's update sends empty keys when the app gave none; keep the current keys rather than
      // rotating them silently (or generate them when the identity switches to sas).
      const current =
        record.authentication.type === 'sas' ? record.authentication.symmetricKey : undefined;
      next.authentication = {
        type: 'sas',
        symmetricKey:
          current?.primaryKey && current.secondaryKey ? { ...current } : generateKeyPair(),
        x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      };
    } else {
      next.authentication = auth;
    }
  }
  return next;
}

/**
 * The JSON the REST API returns for an identity (docs/internals/wire-contract.md#identities).
 *
 * @param record - the identity
 */
export function toIdentityJson(record: IdentityRecord): DeviceIdentityJson {
  const json: DeviceIdentityJson = { deviceId: record.deviceId };
  if (record.moduleId !== undefined) {
    json.moduleId = record.moduleId;
    json.managedBy = record.managedBy ?? null;
  }
  json.generationId = record.generationId;
  json.etag = formatIdentityEtag(record.etagNumber);
  json.connectionState = record.connectionState;
  if (record.moduleId === undefined) {
    json.status = record.status;
    json.statusReason = record.statusReason;
  }
  json.connectionStateUpdatedTime = record.connectionStateUpdatedTime;
  if (record.moduleId === undefined) json.statusUpdatedTime = record.statusUpdatedTime;
  json.lastActivityTime = record.lastActivityTime;
  json.cloudToDeviceMessageCount = record.cloudToDeviceMessageCount;
  json.authentication = {
    symmetricKey: { ...record.authentication.symmetricKey },
    x509Thumbprint: { ...record.authentication.x509Thumbprint },
    type: record.authentication.type,
  };
  if (record.moduleId === undefined) {
    json.capabilities = { ...record.capabilities };
    if (record.deviceScope !== undefined) json.deviceScope = record.deviceScope;
    if (record.parentScopes !== undefined) json.parentScopes = [...record.parentScopes];
  }
  return json;
}

/**
 * The symmetric keys of an identity that may sign device SAS tokens (none for X.509 identities).
 *
 * @param record - the identity
 */
export function signingKeys(record: IdentityRecord): string[] {
  if (record.authentication.type !== 'sas') return [];
  const { primaryKey, secondaryKey } = record.authentication.symmetricKey;
  return [primaryKey, secondaryKey].filter(
    (key): key is string => typeof key === 'string' && key !== '',
  );
}
