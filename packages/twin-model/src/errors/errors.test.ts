import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  ConnectionRefusedError,
  DeviceNotFoundError,
  HubError,
  KnownHubErrorCode,
  OperationTimeoutError,
  PayloadTooLargeError,
  PreconditionFailedError,
  QuerySyntaxError,
  QuotaExceededError,
  ServiceUnavailableError,
  ThrottledError,
  TlsTrustError,
  TransportError,
  TwinValidationError,
  UnauthorizedError,
  UnexpectedResponseError,
  UnsupportedRuntimeError,
  createHubError,
  defaultHubErrorCode,
  formatDeviceErrorBody,
  formatRestErrorBody,
  isBadRequestError,
  isConflictError,
  isConnectionRefusedError,
  isDeviceNotFoundError,
  isHubError,
  isOperationTimeoutError,
  isPayloadTooLargeError,
  isPreconditionFailedError,
  isQuerySyntaxError,
  isQuotaExceededError,
  isRetryableError,
  isRetryableStatus,
  isServiceUnavailableError,
  isThrottledError,
  isTlsTrustError,
  isTransportError,
  isTwinValidationError,
  isUnauthorizedError,
  isUnexpectedResponseError,
  isUnsupportedRuntimeError,
  lookupHubErrorCode,
  parseHubErrorBody,
} from '@twinkit/twin-model/errors';

describe('createHubError', () => {
  it.each([
    [400, BadRequestError, 'ArgumentInvalid'],
    [401, UnauthorizedError, 'IotHubUnauthorizedAccess'],
    [403, QuotaExceededError, 'IotHubQuotaExceeded'],
    [404, DeviceNotFoundError, 'DeviceNotFound'],
    [409, ConflictError, 'DeviceAlreadyExists'],
    [412, PreconditionFailedError, 'PreconditionFailed'],
    [413, PayloadTooLargeError, 'MessageTooLarge'],
    [429, ThrottledError, 'ThrottlingException'],
    [500, ServiceUnavailableError, 'ServerError'],
    [503, ServiceUnavailableError, 'ServiceUnavailable'],
    [504, ServiceUnavailableError, 'GatewayTimeout'],
    [502, ServiceUnavailableError, 'ServerError'],
  ])('maps status %i to %o with default code %s', (statusCode, ErrorClass, code) => {
    const error = createHubError({ statusCode });
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(HubError);
    expect(error.code).toBe(code);
    expect(error.statusCode).toBe(statusCode);
  });

  it('keeps an unknown status as a plain HubError', () => {
    const error = createHubError({ statusCode: 418, code: 'Teapot' });
    expect(error.constructor).toBe(HubError);
    expect(error.name).toBe('HubError');
    expect(error.code).toBe('Teapot');
    expect(error.retryable).toBe(false);
  });

  it('normalises a numeric or differently cased code to its name', () => {
    expect(createHubError({ statusCode: 412, code: 412001 }).code).toBe('PreconditionFailed');
    expect(createHubError({ statusCode: 404, code: 'devicenotfound' }).code).toBe('DeviceNotFound');
    expect(createHubError({ statusCode: 404, code: 'ModuleNotFound' }).code).toBe('ModuleNotFound');
    expect(createHubError({ statusCode: 400, code: '' }).code).toBe('ArgumentInvalid');
  });

  it('writes a message that names the operation, target, status, code and what to do', () => {
    const error = createHubError({
      statusCode: 412,
      code: 'PreconditionFailed',
      operation: 'Twin update',
      deviceId: 'dev-1',
      message: 'etag mismatch',
      requestId: 'r-1',
    });
    expect(error.message).toBe(
      "Twin update for device 'dev-1' failed (412 PreconditionFailed): etag mismatch. The ETag or version is stale. Re-read the twin and retry with the new value.",
    );
    expect(error.requestId).toBe('r-1');
    expect(error.deviceId).toBe('dev-1');
  });

  it('names a module target and uses generic advice for 5xx', () => {
    const error = createHubError({ statusCode: 500, deviceId: 'd', moduleId: 'm' });
    expect(error.message).toBe("Request for module 'd/m' failed (500 ServerError). Retry later.");
    expect(error.moduleId).toBe('m');
  });

  it('marks throttling and server errors retryable and keeps retryAfterInMs and cause', () => {
    const cause = new Error('socket');
    const error = createHubError({ statusCode: 429, retryAfterInMs: 2000, cause });
    expect(error.retryable).toBe(true);
    expect(error.retryAfterInMs).toBe(2000);
    expect(error.cause).toBe(cause);
    expect(createHubError({ statusCode: 400 }).retryable).toBe(false);
    expect(createHubError({ statusCode: 408, code: 'Timeout' }).retryable).toBe(true);
  });
});

describe('lookupHubErrorCode', () => {
  it('finds codes by name, number and numeric string', () => {
    expect(lookupHubErrorCode('PreconditionFailed')?.numericCode).toBe(412001);
    expect(lookupHubErrorCode(400004)?.code).toBe('ArgumentInvalid');
    expect(lookupHubErrorCode('404001')?.code).toBe('DeviceNotFound');
    expect(lookupHubErrorCode('Nope')).toBeUndefined();
  });

  it('knows every KnownHubErrorCode', () => {
    for (const code of Object.values(KnownHubErrorCode)) {
      expect(lookupHubErrorCode(code)?.code).toBe(code);
    }
  });

  it('derives default codes and retryability from statuses', () => {
    expect(defaultHubErrorCode(599)).toBe('ServerError');
    expect(defaultHubErrorCode(418)).toBe('ArgumentInvalid');
    expect(isRetryableStatus(503)).toBe(true);
    expect(isRetryableStatus(404)).toBe(false);
  });
});

describe('parseHubErrorBody', () => {
  it('reads the classic REST form', () => {
    expect(
      parseHubErrorBody(
        '{"Message":"ErrorCode:DeviceNotFound;Device not found","ExceptionMessage":"Tracking ID:e4-G:11"}',
      ),
    ).toEqual({ code: 'DeviceNotFound', numericCode: 404001, message: 'Device not found' });
  });

  it('keeps an unknown classic code and text with semicolons', () => {
    expect(parseHubErrorBody('{"Message":"ErrorCode:Weird;a;b"}')).toEqual({
      code: 'Weird',
      message: 'a;b',
    });
    expect(parseHubErrorBody('{"Message":"ErrorCode:;text"}')).toEqual({ message: 'text' });
  });

  it('reads JSON inside Message', () => {
    const inner = JSON.stringify({ errorCode: 404001, trackingId: 't', message: 'gone' });
    expect(parseHubErrorBody(JSON.stringify({ Message: inner, ExceptionMessage: '' }))).toEqual({
      code: 'DeviceNotFound',
      numericCode: 404001,
      message: 'gone',
      trackingId: 't',
    });
  });

  it('reads the device form with a numeric or string errorCode', () => {
    expect(parseHubErrorBody('{"errorCode":400004,"message":"bad","trackingId":"x"}')).toEqual({
      code: 'ArgumentInvalid',
      numericCode: 400004,
      message: 'bad',
      trackingId: 'x',
    });
    expect(parseHubErrorBody('{"errorCode":"Custom","Message":"m"}')).toEqual({
      code: 'Custom',
      message: 'm',
    });
    expect(parseHubErrorBody('{"errorCode":"PreconditionFailed"}')).toEqual({
      code: 'PreconditionFailed',
      numericCode: 412001,
    });
    expect(parseHubErrorBody('{"errorCode":999999}')).toEqual({ numericCode: 999999 });
  });

  it('never throws on odd bodies', () => {
    expect(parseHubErrorBody('')).toEqual({});
    expect(parseHubErrorBody('not json')).toEqual({ message: 'not json' });
    expect(parseHubErrorBody('[1,2]')).toEqual({ message: '[1,2]' });
    expect(parseHubErrorBody('{"other":1}')).toEqual({ message: '{"other":1}' });
    expect(parseHubErrorBody('{"message":"plain text"}')).toEqual({ message: 'plain text' });
    expect(parseHubErrorBody('{"Message":"{not json"}')).toEqual({ message: '{not json' });
    expect(parseHubErrorBody('{"Message":"{\\"a\\":1}"}')).toEqual({ message: '{"a":1}' });
  });

  it('round-trips the bodies the hub formats', () => {
    const rest = formatRestErrorBody('PreconditionFailed', 'stale', 'abc', '2024-01-01T00:00:00Z');
    expect(rest.Message).toBe('ErrorCode:PreconditionFailed;stale');
    expect(rest.ExceptionMessage).toBe('Tracking ID:abc-TimeStamp:2024-01-01T00:00:00Z');
    expect(parseHubErrorBody(JSON.stringify(rest)).code).toBe('PreconditionFailed');

    const device = formatDeviceErrorBody('ArgumentInvalid', 'bad key', 't', '2024-01-01T00:00:00Z');
    expect(device).toEqual({
      errorCode: 400004,
      trackingId: 't',
      message: 'bad key',
      timestampUtc: '2024-01-01T00:00:00Z',
    });
    expect(formatDeviceErrorBody(412001, 'x', 't', 'now').errorCode).toBe(412001);
    expect(formatDeviceErrorBody('Unknown', 'x', 't', 'now').errorCode).toBe(500001);
  });
});

describe('local errors', () => {
  it('TwinValidationError summarises its issues', () => {
    const issues = [
      { path: 'a.b', rule: 'key-characters' as const, message: 'bad key a.b' },
      { path: 'c', rule: 'depth' as const, message: 'too deep' },
    ];
    const error = new TwinValidationError(issues, 'Reported update');
    expect(error.message).toBe('Reported update: bad key a.b (and 1 more)');
    expect(error.issues).toBe(issues);
    expect(new TwinValidationError([]).message).toBe('invalid twin');
    expect(new TwinValidationError([issues[1]!]).message).toBe('too deep');
  });

  it('QuerySyntaxError carries the position', () => {
    const error = new QuerySyntaxError('Unexpected FRM', 9);
    expect(error.position).toBe(9);
    expect(error.message).toBe('Unexpected FRM (at position 9)');
  });

  it('TransportError, OperationTimeoutError and UnsupportedRuntimeError carry their context', () => {
    const cause = new Error('reset');
    const transport = new TransportError('connection lost', { cause });
    expect(transport.retryable).toBe(true);
    expect(transport.cause).toBe(cause);
    expect(new TransportError('refused', { retryable: false }).retryable).toBe(false);
    const timeout = new OperationTimeoutError('getTwin', 3000);
    expect(timeout.message).toBe('getTwin got no answer within 3000 ms');
    expect(timeout.operation).toBe('getTwin');
    expect(timeout.timeoutInMs).toBe(3000);
    expect(new UnsupportedRuntimeError('AMQP needs Node').name).toBe('UnsupportedRuntimeError');
  });

  it('TlsTrustError and ConnectionRefusedError are TransportErrors that are never retryable', () => {
    const tlsCause = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const tls = new TlsTrustError('untrusted', 'SELF_SIGNED_CERT_IN_CHAIN', { cause: tlsCause });
    expect(tls).toBeInstanceOf(TransportError);
    expect(tls).toMatchObject({
      name: 'TlsTrustError',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      retryable: false,
      cause: tlsCause,
    });
    const refused = new ConnectionRefusedError('refused', '127.0.0.1:8883');
    expect(refused).toBeInstanceOf(TransportError);
    expect(refused).toMatchObject({
      name: 'ConnectionRefusedError',
      code: 'ECONNREFUSED',
      address: '127.0.0.1:8883',
      retryable: false,
    });
    expect(new ConnectionRefusedError('x', 'h:1', { code: 'ECONNRESET' }).code).toBe('ECONNRESET');
  });

  it('UnexpectedResponseError names what the protocol allows and is not retryable', () => {
    const error = new UnexpectedResponseError('bad $version', 204, 'a non-negative integer');
    expect(error).toMatchObject({
      name: 'UnexpectedResponseError',
      statusCode: 204,
      expected: 'a non-negative integer',
    });
    expect(error).not.toBeInstanceOf(TransportError);
    expect(isRetryableError(error)).toBe(false);
  });
});

describe('guards', () => {
  const cases: [unknown, (e: unknown) => boolean][] = [
    [createHubError({ statusCode: 400 }), isBadRequestError],
    [createHubError({ statusCode: 401 }), isUnauthorizedError],
    [createHubError({ statusCode: 403 }), isQuotaExceededError],
    [createHubError({ statusCode: 404 }), isDeviceNotFoundError],
    [createHubError({ statusCode: 409 }), isConflictError],
    [createHubError({ statusCode: 412 }), isPreconditionFailedError],
    [createHubError({ statusCode: 413 }), isPayloadTooLargeError],
    [createHubError({ statusCode: 429 }), isThrottledError],
    [createHubError({ statusCode: 503 }), isServiceUnavailableError],
    [new TwinValidationError([]), isTwinValidationError],
    [new QuerySyntaxError('x', 0), isQuerySyntaxError],
    [new TransportError('x'), isTransportError],
    [new TlsTrustError('x', 'CERT_HAS_EXPIRED'), isTlsTrustError],
    [new TlsTrustError('x', 'CERT_HAS_EXPIRED'), isTransportError],
    [new ConnectionRefusedError('x', 'h:1'), isConnectionRefusedError],
    [new ConnectionRefusedError('x', 'h:1'), isTransportError],
    [new UnexpectedResponseError('x', 200, 'y'), isUnexpectedResponseError],
    [new OperationTimeoutError('x', 1), isOperationTimeoutError],
    [new UnsupportedRuntimeError('x'), isUnsupportedRuntimeError],
  ];

  it.each(cases)('recognises %o', (error, guard) => {
    expect(guard(error)).toBe(true);
    expect(guard(new Error('plain'))).toBe(false);
    expect(guard('string')).toBe(false);
  });

  it('falls back to the name, so errors from another realm or copy still match', () => {
    const foreign = Object.assign(new Error('stale'), {
      name: 'PreconditionFailedError',
      statusCode: 412,
    });
    expect(isPreconditionFailedError(foreign)).toBe(true);
    expect(isHubError(foreign)).toBe(true);
    expect(isHubError(Object.assign(new Error('x'), { name: 'PreconditionFailedError' }))).toBe(
      false,
    );
    expect(isTransportError(Object.assign(new Error('x'), { name: 'TlsTrustError' }))).toBe(true);
  });

  it('isRetryableError covers hub, transport and timeout errors', () => {
    expect(isRetryableError(createHubError({ statusCode: 429 }))).toBe(true);
    expect(isRetryableError(createHubError({ statusCode: 412 }))).toBe(false);
    expect(isRetryableError(new TransportError('lost'))).toBe(true);
    expect(isRetryableError(new TransportError('refused', { retryable: false }))).toBe(false);
    expect(isRetryableError(new OperationTimeoutError('getTwin', 1))).toBe(true);
    expect(isRetryableError(new TlsTrustError('untrusted', 'CERT_HAS_EXPIRED'))).toBe(false);
    expect(isRetryableError(new ConnectionRefusedError('refused', 'h:1'))).toBe(false);
    expect(isRetryableError(new Error('other'))).toBe(false);
  });
});
