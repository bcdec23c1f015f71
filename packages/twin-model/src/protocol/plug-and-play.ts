/**
 * IoT Plug and Play conventions on the wire (docs/internals/wire-contract.md#model-id,
 * docs/internals/wire-contract.md#writable-property-acknowledgements): how a device announces
 * its model id (over AMQP: `TWIN_LINK_PROPERTY.modelId`), what a writable-property acknowledgement looks like and how a component is
 * marked, so the device SDK, the service SDK and the hub spell them once.
 */

/** Query parameter of the MQTT CONNECT username that announces the model id (docs/internals/wire-contract.md#model-id). */
export const MQTT_MODEL_ID_PARAMETER = 'model-id';

/** Longest model id twinkit accepts (DTDL caps a DTMI at 2048 characters, docs/internals/wire-contract.md#model-id). */
export const MAX_MODEL_ID_LENGTH = 2048;

// A path segment starts with a letter, has letters, digits and underscores, and does not end
// with an underscore; the version is 1..999999999 with an optional minor version (DTDL v3).
const SEGMENT = '[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?';
const DTMI = /* @__PURE__ */ (() =>
  new RegExp(`^dtmi:${SEGMENT}(?::${SEGMENT})*;[1-9][0-9]{0,8}(?:\\.[1-9][0-9]{0,5})?$`))();

/**
 * Tells whether a text is a digital twin model identifier such as `dtmi:com:example:Thermostat;1`
 * (docs/internals/wire-contract.md#model-id).
 *
 * @param text - The candidate model id.
 * @returns Whether it is a versioned DTMI no longer than {@link MAX_MODEL_ID_LENGTH}.
 * @example
 * ```ts
 * isModelId('dtmi:com:example:Thermostat;1'); // true
 * isModelId('dtmi:com:example:Thermostat'); // false: no version
 * ```
 */
export function isModelId(text: unknown): text is string {
  return typeof text === 'string' && text.length <= MAX_MODEL_ID_LENGTH && DTMI.test(text);
}

/**
 * The marker property of a component in the reported properties: `"__t": "c"`
 * (docs/internals/wire-contract.md#writable-property-acknowledgements).
 */
export const COMPONENT_MARKER = /* @__PURE__ */ Object.freeze({ key: '__t', value: 'c' } as const);

/**
 * Field names of a writable-property acknowledgement
 * (docs/internals/wire-contract.md#writable-property-acknowledgements).
 */
export const ACK_FIELD = /* @__PURE__ */ Object.freeze({
  value: 'value',
  status: 'ac',
  version: 'av',
  description: 'ad',
} as const);

/**
 * Acknowledgement codes a device reports in `ac` (HTTP-like;
 * docs/internals/wire-contract.md#writable-property-acknowledgements).
 */
export const KnownAckCode = /* @__PURE__ */ Object.freeze({
  /** Applied. */
  completed: 200,
  /** Accepted and still being applied; a final answer follows. */
  inProgress: 202,
  /** Refused: the value is not valid for the property. */
  badRequest: 400,
  /** The device failed while applying it. */
  internalError: 500,
} as const);

/**
 * A writable-property acknowledgement as reported by a device
 * (docs/internals/wire-contract.md#writable-property-acknowledgements).
 */
export interface WritablePropertyAck<T = unknown> {
  /** The value the device now holds (or is moving to). */
  value: T;
  /** HTTP-like status: 200 applied, 202 in progress, 4xx refused, 5xx failed. */
  ac: number;
  /** The desired `$version` this answers. */
  av: number;
  /** A human-readable description, mostly of why it failed. */
  ad?: string;
}

/**
 * Tells whether a reported value has the shape of a writable-property acknowledgement.
 *
 * @param value - A reported property value.
 * @returns Whether it is an object with a numeric `ac` and `av`.
 */
export function isWritablePropertyAck(value: unknown): value is WritablePropertyAck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record[ACK_FIELD.status] === 'number' && typeof record[ACK_FIELD.version] === 'number'
  );
}
