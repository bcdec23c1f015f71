import { ConnectionRefusedError, TlsTrustError } from '@twinkit/twin-model/errors';
import { describe, expect, it } from 'vitest';
import { classifyConnectFailure } from './connect-failure.js';

const explicit = { address: '127.0.0.1:8884', portIsExplicit: true };
const byDefault = { address: 'hub.example:8883', portIsExplicit: false };

function socketError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyConnectFailure', () => {
  it.each([
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_UNTRUSTED',
    'CERT_REJECTED',
    'CERT_SIGNATURE_FAILURE',
  ])('makes %s a TlsTrustError that says how to trust the CA', (code) => {
    const cause = socketError(code, 'certificate problem');
    const error = classifyConnectFailure(cause, byDefault, 'Connect');
    expect(error).toBeInstanceOf(TlsTrustError);
    expect(error).toMatchObject({ code, retryable: false, cause });
    expect(error?.message).toContain('hub.example:8883');
    expect(error?.message).toContain('NODE_EXTRA_CA_CERTS=<ca.pem>');
    expect(error?.message).toContain('`ca` option');
    expect(error?.message).toContain(`(${code}: certificate problem)`);
  });

  it('says to use a host name the certificate names on a host name mismatch', () => {
    const error = classifyConnectFailure(
      socketError('ERR_TLS_CERT_ALTNAME_INVALID'),
      explicit,
      'Connect',
    );
    expect(error).toMatchObject({ name: 'TlsTrustError', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(error?.message).toMatch(/issued for other host names.*HostName or GatewayHostName/);
  });

  it.each(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])('says to check the clock for %s', (code) => {
    const error = classifyConnectFailure(socketError(code), explicit, 'Connect');
    expect(error).toMatchObject({ name: 'TlsTrustError', code });
    expect(error?.message).toContain('validity period');
  });

  it('finds the code anywhere in the cause chain, including inside an AggregateError', () => {
    const nested = new Error('wrapped', {
      cause: new AggregateError([
        socketError('ECONNRESET'),
        socketError('SELF_SIGNED_CERT_IN_CHAIN'),
      ]),
    });
    expect(classifyConnectFailure(nested, byDefault, 'Connect')).toMatchObject({
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
  });

  it('makes a refused explicit port a ConnectionRefusedError that says to check the port', () => {
    const cause = new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]);
    const error = classifyConnectFailure(cause, explicit, 'Connect');
    expect(error).toBeInstanceOf(ConnectionRefusedError);
    expect(error).toMatchObject({
      code: 'ECONNREFUSED',
      address: '127.0.0.1:8884',
      retryable: false,
      cause,
    });
    expect(error?.message).toMatch(/127\.0\.0\.1:8884 refused the connection/);
    expect(error?.message).toMatch(/Check the port .* and that the hub listens on it/);
  });

  it('leaves a refused default port and other failures to the retry policy', () => {
    expect(
      classifyConnectFailure(socketError('ECONNREFUSED'), byDefault, 'Connect'),
    ).toBeUndefined();
    expect(classifyConnectFailure(socketError('ECONNRESET'), explicit, 'Connect')).toBeUndefined();
    expect(classifyConnectFailure(socketError('ENOTFOUND'), explicit, 'Connect')).toBeUndefined();
    expect(classifyConnectFailure(undefined, explicit, 'Connect')).toBeUndefined();
    expect(classifyConnectFailure('text', explicit, 'Connect')).toBeUndefined();
  });
});
