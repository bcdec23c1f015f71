import { describe, expect, it } from 'vitest';
import { createHub } from '../src/index.js';
import { serviceToken } from './helpers.js';

const origin = 'http://127.0.0.1:5173';
const preflight = (requestOrigin: string) =>
  new Request('https://localhost/twins/dev-1?api-version=2021-04-12', {
    method: 'OPTIONS',
    headers: {
      origin: requestOrigin,
      'access-control-request-method': 'PATCH',
      'access-control-request-headers': 'authorization, content-type, if-match',
    },
  });

describe('CORS', () => {
  it('answers no CORS headers by default, as Azure IoT Hub does', async () => {
    await using hub = await createHub();
    await hub.createDevice('dev-1');
    const response = await hub.fetch(
      new Request('https://localhost/twins/dev-1?api-version=2021-04-12', {
        headers: { origin, authorization: await serviceToken(hub) },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight from an allowed origin with the methods and headers the Registry sends', async () => {
    await using hub = await createHub({ corsOrigins: [origin] });
    const response = await hub.fetch(preflight(origin));
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-methods')).toContain('PATCH');
    const allowedHeaders = response.headers.get('access-control-allow-headers') ?? '';
    for (const header of ['authorization', 'content-type', 'if-match', 'x-ms-continuation']) {
      expect(allowedHeaders).toContain(header);
    }
  });

  it('gives a preflight from another origin no permission', async () => {
    await using hub = await createHub({ corsOrigins: [origin] });
    const response = await hub.fetch(preflight('http://evil.example'));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('exposes the ETag and continuation headers to an allowed page, and still requires credentials', async () => {
    await using hub = await createHub({ corsOrigins: ['*'] });
    await hub.createDevice('dev-1');
    const twin = await hub.fetch(
      new Request('https://localhost/twins/dev-1?api-version=2021-04-12', {
        headers: { origin, authorization: await serviceToken(hub) },
      }),
    );
    expect(twin.headers.get('access-control-allow-origin')).toBe(origin);
    const exposed = twin.headers.get('access-control-expose-headers') ?? '';
    for (const header of ['etag', 'x-ms-continuation', 'iothub-errorcode']) {
      expect(exposed).toContain(header);
    }
    const anonymous = await hub.fetch(
      new Request('https://localhost/twins/dev-1?api-version=2021-04-12', { headers: { origin } }),
    );
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('refuses an origin with a path, naming it', async () => {
    await expect(createHub({ corsOrigins: ['http://localhost:5173/app'] })).rejects.toThrow(
      /Invalid CORS origin 'http:\/\/localhost:5173\/app'/,
    );
  });
});
