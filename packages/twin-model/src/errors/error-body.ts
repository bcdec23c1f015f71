import { lookupHubErrorCode } from './codes.js';

/** A hub error body taken apart. */
export interface ParsedHubErrorBody {
  /** Code name, when the body names one (`PreconditionFailed`). */
  code?: string;
  /** Numeric code, when the body has one (`412001`). */
  numericCode?: number;
  /** The human-readable text. */
  message?: string;
  trackingId?: string;
}

function fromDeviceShape(value: Record<string, unknown>): ParsedHubErrorBody | undefined {
  const raw = value.errorCode;
  if (typeof raw !== 'number' && typeof raw !== 'string') return undefined;
  const info = lookupHubErrorCode(raw);
  const result: ParsedHubErrorBody = {};
  if (info) result.code = info.code;
  else if (typeof raw === 'string') result.code = raw;
  if (typeof raw === 'number') result.numericCode = raw;
  else if (info) result.numericCode = info.numericCode;
  if (typeof value.message === 'string') result.message = value.message;
  else if (typeof value.Message === 'string') result.message = value.Message;
  if (typeof value.trackingId === 'string') result.trackingId = value.trackingId;
  return result;
}

/**
 * Takes apart any error body IoT Hub sends: the classic REST form
 * `{"Message":"ErrorCode:<Code>;<text>"}`, the newer JSON-inside-`Message` form, and the device
 * form `{"errorCode":400004,"message":…}`. Never throws; unknown text comes back as `message`.
 *
 * @param body - the response body as text
 * @returns what could be read from it
 * @see docs/internals/wire-contract.md#rest-errors, docs/internals/wire-contract.md#device-errors
 */
export function parseHubErrorBody(body: string): ParsedHubErrorBody {
  const text = body.trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { message: text };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { message: text };
  const record = value as Record<string, unknown>;
  const device = fromDeviceShape(record);
  if (device) return device;
  const outer =
    typeof record.Message === 'string'
      ? record.Message
      : typeof record.message === 'string'
        ? record.message
        : undefined;
  if (outer === undefined) return { message: text };
  if (outer.trimStart().startsWith('{')) {
    const inner = parseHubErrorBody(outer);
    if (inner.code !== undefined || inner.numericCode !== undefined) return inner;
  }
  const match = /^ErrorCode:([^;]*);([\s\S]*)$/.exec(outer);
  if (!match) return { message: outer };
  const code = (match[1] ?? '').trim();
  const result: ParsedHubErrorBody = { message: (match[2] ?? '').trim() };
  if (code !== '') {
    result.code = lookupHubErrorCode(code)?.code ?? code;
    const numeric = lookupHubErrorCode(code)?.numericCode;
    if (numeric !== undefined) result.numericCode = numeric;
  }
  return result;
}

/**
 * The REST error body the hub sends (classic form, which every official SDK decodes).
 *
 * @param code - the code name, e.g. `DeviceNotFound`
 * @param message - the text after the code
 * @param trackingId - an id to put in `ExceptionMessage`
 * @param timestamp - when it happened, ISO 8601
 */
export function formatRestErrorBody(
  code: string,
  message: string,
  trackingId: string,
  timestamp: string,
): { Message: string; ExceptionMessage: string } {
  return {
    Message: `ErrorCode:${code};${message}`,
    ExceptionMessage: `Tracking ID:${trackingId}-TimeStamp:${timestamp}`,
  };
}

/**
 * The error body a device receives on a twin response (MQTT and AMQP): the official SDKs
 * detect failure by a non-zero numeric `errorCode`.
 *
 * @param code - the code name or number
 * @param message - the text
 * @param trackingId - an id for support
 * @param timestamp - when it happened, ISO 8601
 */
export function formatDeviceErrorBody(
  code: string | number,
  message: string,
  trackingId: string,
  timestamp: string,
): { errorCode: number; trackingId: string; message: string; timestampUtc: string } {
  const numeric =
    typeof code === 'number' ? code : (lookupHubErrorCode(code)?.numericCode ?? 500001);
  return { errorCode: numeric, trackingId, message, timestampUtc: timestamp };
}
