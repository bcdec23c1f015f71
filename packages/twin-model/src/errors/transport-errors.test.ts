import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ConnectionRefusedError,
  DeviceNotFoundError,
  type HubError,
  ModuleNotFoundError,
  NotFoundError,
  PreconditionFailedError,
  TlsTrustError,
  type TransportError,
  UnexpectedResponseError,
  createHubError,
  isConnectionRefusedError,
  isDeviceNotFoundError,
  isHubError,
  isModuleNotFoundError,
  isNotFoundError,
  isRetryableError,
  isTlsTrustError,
  isTransportError,
  isUnexpectedResponseError,
  toTransportError,
  type TransportFailureContext,
} from '@twinkit/twin-model/errors';

describe('404 classes', () => {
  it('tells a missing device, a missing module and an unknown route apart by code', () => {
    const device = createHubError({ statusCode: 404, code: 'DeviceNotFound' });
    const module = createHubError({ statusCode: 404, code: 404010 });
    const route = createHubError({ statusCode: 404, code: 'NotFound' });
    const hub = createHubError({ statusCode: 404, code: 'IotHubNotFound' });
    expect(device).toBeInstanceOf(DeviceNotFoundError);
    expect(module).toBeInstanceOf(ModuleNotFoundError);
    expect(module.code).toBe('ModuleNotFound');
    expect(route).toBeInstanceOf(NotFoundError);
    expect(hub).toBeInstanceOf(NotFoundError);
    expect(isDeviceNotFoundError(module)).toBe(false);
    expect(isModuleNotFoundError(module)).toBe(true);
    expect(isNotFoundError(route)).toBe(true);
    expect(isDeviceNotFoundError(route)).toBe(false);
    for (const error of [device, module, route]) expect(isHubError(error)).toBe(true);
  });

  it('keeps a codeless 404 a DeviceNotFoundError, as device twin responses send it', () => {
    expect(createHubError({ statusCode: 404 })).toBeInstanceOf(DeviceNotFoundError);
  });
});

describe('wireMessage', () => {
  it('carries the hub text undecorated while message adds the advice', () => {
    const error = createHubError({
      statusCode: 412,
      code: 'PreconditionFailed',
      message: 'Precondition failed: etag mismatch',
      deviceId: 'd1',
    });
    expect(error.wireMessage).toBe('Precondition failed: etag mismatch');
    expect(error.message).toContain('Re-read the twin');
    expect(createHubError({ statusCode: 500 }).wireMessage).toBeUndefined();
  });
});

describe('literal names', () => {
  it('types each class name as its literal, so a switch on name is checked', () => {
    expectTypeOf(
      new PreconditionFailedError('x', { statusCode: 412, code: 'x' }).name,
    ).toEqualTypeOf<'PreconditionFailedError'>();
    expectTypeOf(new TlsTrustError('x', 'CERT_HAS_EXPIRED').name).toEqualTypeOf<'TlsTrustError'>();
    expectTypeOf<HubError['name']>().not.toEqualTypeOf<string>();
    expectTypeOf<TransportError['name']>().toEqualTypeOf<
      'TransportError' | 'TlsTrustError' | 'ConnectionRefusedError'
    >();
    expect(new ModuleNotFoundError('x', { statusCode: 404, code: 'ModuleNotFound' }).name).toBe(
      'ModuleNotFoundError',
    );
    expect(new UnexpectedResponseError('x', 200, 'a twin').name).toBe('UnexpectedResponseError');
  });
});

const context: TransportFailureContext = {
  operation: 'getTwin',
  address: 'localhost:8443',
  portIsExplicit: true,
  trustAdvice: 'set NODE_EXTRA_CA_CERTS',
};

/** What undici's fetch throws: `TypeError: fetch failed` with the socket error as its cause. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('toTransportError', () => {
  it.each([
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ])('raises %s as a TlsTrustError that is not retried and says how to trust the CA', (code) => {
    const error = toTransportError(fetchFailed(withCode('cert problem', code)), context);
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(isTlsTrustError(error)).toBe(true);
    expect(isTransportError(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(isRetryableError(error)).toBe(false);
    expect(isTlsTrustError(error) && error.code).toBe(code);
    expect(error.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(error.message).toContain('localhost:8443');
  });

  it('raises a refused explicit port at once and keeps a default port retryable', () => {
    const refused = new AggregateError([
      withCode('connect ECONNREFUSED ::1:8443', 'ECONNREFUSED'),
      withCode('connect ECONNREFUSED 127.0.0.1:8443', 'ECONNREFUSED'),
    ]);
    const explicit = toTransportError(fetchFailed(refused), context);
    expect(explicit).toBeInstanceOf(ConnectionRefusedError);
    expect(isConnectionRefusedError(explicit)).toBe(true);
    expect(explicit.retryable).toBe(false);
    expect(explicit.message).toContain('Check the host and port');
    const implicit = toTransportError(fetchFailed(refused), { ...context, portIsExplicit: false });
    expect(implicit.retryable).toBe(true);
  });

  it('wraps anything else (undici terminated, resets) as a retryable TransportError', () => {
    const terminated = new TypeError('terminated', {
      cause: withCode('other side closed', 'UND_ERR_SOCKET'),
    });
    const error = toTransportError(terminated, context);
    expect(error.name).toBe('TransportError');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('terminated: other side closed');
    expect(toTransportError(error, context)).toBe(error);
  });

  it('recognises UnexpectedResponseError by name across copies', () => {
    expect(
      isUnexpectedResponseError(Object.assign(new Error('x'), { name: 'UnexpectedResponseError' })),
    ).toBe(true);
  });
});
