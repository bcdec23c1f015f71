import {
  DeviceNotFoundError,
  OperationTimeoutError,
  PreconditionFailedError,
  ThrottledError,
  TransportError,
  UnauthorizedError,
} from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import { translateAmqpError, translateCbsStatus, translateTwinStatus } from './translate-error.js';

const context = { operation: 'Twin read', deviceId: 'dev-1' };

describe('translateTwinStatus', () => {
  it('treats 2xx and a missing status as success', () => {
    expect(translateTwinStatus(200, '{}', context)).toBeUndefined();
    expect(translateTwinStatus(204, undefined, context)).toBeUndefined();
    expect(translateTwinStatus(undefined, undefined, context)).toBeUndefined();
  });

  it('maps the status and the device error body to the HubError subclass', () => {
    const body = JSON.stringify({
      errorCode: 412001,
      trackingId: 't',
      message: 'stale',
      timestampUtc: 'now',
    });
    const error = translateTwinStatus(412, body, context);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error?.message).toContain('stale');
    expect(translateTwinStatus(429, undefined, context)).toBeInstanceOf(ThrottledError);
    expect(translateTwinStatus(404, 'not json', context)).toBeInstanceOf(DeviceNotFoundError);
  });
});

describe('translateCbsStatus', () => {
  it('maps a refused put-token to UnauthorizedError without repeating any token', () => {
    const error = translateCbsStatus(401, 'Unauthorized: the signature does not match.', context);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.code).toBe('IotHubUnauthorizedAccess');
    expect(translateCbsStatus(undefined, undefined, context)).toBeInstanceOf(UnauthorizedError);
  });
});

describe('translateAmqpError', () => {
  it('maps amqp:unauthorized-access with a JSON description to UnauthorizedError', () => {
    const description = JSON.stringify({ errorCode: 401002, message: 'token expired' });
    const error = translateAmqpError(
      { condition: 'amqp:unauthorized-access', description },
      context,
    );
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.message).toContain('token expired');
  });

  it('maps other link and socket errors to a retryable TransportError with the cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const error = translateAmqpError(cause, context);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(
      translateAmqpError({ condition: 'amqp:not-found', description: 'no such node' }, context)
        .message,
    ).toContain('amqp:not-found');
    expect(translateAmqpError(new OperationTimeoutError('connect', 10), context)).toBeInstanceOf(
      TransportError,
    );
  });
});
