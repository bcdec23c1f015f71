import {
  BadRequestError,
  PreconditionFailedError,
  ServiceUnavailableError,
  ThrottledError,
  TransportError,
  UnauthorizedError,
} from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import { translateConnectionError, translateTwinResponse } from './translate-error.js';

const context = { operation: 'Twin read', deviceId: 'dev-1' };

describe('translateTwinResponse', () => {
  it('treats 2xx without an errorCode as success', () => {
    expect(
      translateTwinResponse(200, '{"desired":{"$version":1},"reported":{"$version":1}}', context),
    ).toBeUndefined();
    expect(translateTwinResponse(204, '', context)).toBeUndefined();
  });

  it('maps the status and the device error body to the HubError subclass', () => {
    const error = translateTwinResponse(
      412,
      '{"errorCode":412001,"message":"version mismatch"}',
      context,
    );
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error?.code).toBe('PreconditionFailed');
    expect(error?.message).toContain('version mismatch');
    expect(error?.deviceId).toBe('dev-1');
  });

  it('fails a status of 300 or more even when the body has no errorCode', () => {
    expect(translateTwinResponse(503, '', context)).toBeInstanceOf(ServiceUnavailableError);
    expect(translateTwinResponse(429, 'not json', context)).toBeInstanceOf(ThrottledError);
  });

  it('fails a 2xx whose body carries a non-zero errorCode, as the Node SDK reads it', () => {
    expect(
      translateTwinResponse(200, '{"errorCode":400004,"message":"bad"}', context),
    ).toBeInstanceOf(BadRequestError);
    expect(translateTwinResponse(200, '{"errorCode":0}', context)).toBeUndefined();
  });
});

describe('translateConnectionError', () => {
  it('maps CONNACK 4 and 5 to UnauthorizedError and 3 to a disabled device', () => {
    expect(
      translateConnectionError(Object.assign(new Error('refused'), { code: 5 }), context),
    ).toBeInstanceOf(UnauthorizedError);
    expect(
      translateConnectionError(Object.assign(new Error('refused'), { code: 4 }), context),
    ).toBeInstanceOf(UnauthorizedError);
    const disabled = translateConnectionError(
      Object.assign(new Error('refused'), { code: 3 }),
      context,
    );
    expect(disabled).toBeInstanceOf(UnauthorizedError);
    expect((disabled as UnauthorizedError).code).toBe('DeviceDisabled');
  });

  it('maps socket failures to a retryable TransportError that keeps the cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const error = translateConnectionError(cause, context);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retryable).toBe(true);
    expect(error.cause).toBe(cause);
  });
});
