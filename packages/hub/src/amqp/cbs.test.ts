import { describe, expect, it } from 'vitest';
import { readPutToken } from './cbs.js';

describe('readPutToken', () => {
  it('reads the audience and the token of a Node put-token', () => {
    const read = readPutToken(
      {
        operation: 'put-token',
        type: 'servicebus.windows.net:sastoken',
        name: 'hub%2Fdevices%2Fd',
      },
      ' SharedAccessSignature sr=hub%2Fdevices%2Fd&sig=x&se=1 ',
    );
    expect(read).toEqual({
      ok: true,
      request: {
        audience: 'hub%2Fdevices%2Fd',
        token: 'SharedAccessSignature sr=hub%2Fdevices%2Fd&sig=x&se=1',
      },
    });
  });

  it('accepts the C# token type and refuses other operations and types with 400', () => {
    expect(
      readPutToken({ operation: 'put-token', type: 'azure-devices.net:sastoken', name: 'h' }, 'tok')
        .ok,
    ).toBe(true);
    expect(
      readPutToken(
        { operation: 'get-token', type: 'azure-devices.net:sastoken', name: 'h' },
        'tok',
      ),
    ).toMatchObject({ ok: false, statusCode: 400 });
    expect(readPutToken({ operation: 'put-token', type: 'jwt', name: 'h' }, 'tok')).toMatchObject({
      ok: false,
      statusCode: 400,
    });
    expect(
      readPutToken(
        { operation: 'put-token', type: 'azure-devices.net:sastoken', name: 'h' },
        undefined,
      ),
    ).toMatchObject({ ok: false, statusCode: 400 });
  });
});
