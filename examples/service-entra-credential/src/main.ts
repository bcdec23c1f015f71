/**
 * @summary A back end that signs in with Microsoft Entra ID instead of a shared access key: the
 * Registry takes any `TokenCredential` (such as `DefaultAzureCredential` from `@azure/identity`),
 * asks it for scope `https://iothubs.azure.net/.default`, sends `Authorization: Bearer …` and
 * caches the token until it nears expiry. On the local hub the example uses a tiny test credential
 * whose tokens the hub accepts (`tokenIssuer` + `createTestAccessToken`); the role in the token
 * decides what the back end may do. Against Azure it uses `DefaultAzureCredential`.
 */
import { check, openPlayground } from '@twinkit/example-shared';
import { createTestAccessToken } from '@twinkit/hub/testing';
import {
  IOT_HUB_TOKEN_SCOPE,
  Registry,
  isUnauthorizedError,
  type AccessToken,
  type TokenCredential,
} from '@twinkit/service';

/** The key the local hub checks Bearer tokens with, standing in for Entra ID's signing keys. */
const signingKey = 'local-entra-stand-in-signing-key-0123456789';

/** A TokenCredential like `@azure/identity`'s, minting tokens with fixed roles for the local hub. */
class TestTokenCredential implements TokenCredential {
  readonly requests: string[] = [];
  constructor(readonly roles: string[]) {}

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.requests.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return createTestAccessToken({ key: signingKey, roles: this.roles });
  }
}

await using playground = await openPlayground({ hub: { tokenIssuer: { key: signingKey } } });
const { deviceId } = await playground.addDevice('thermostat-1');
const hostName = playground.registry.hostName;
const hub = playground.testHub?.hub;
const fetch =
  hub === undefined
    ? undefined
    : (input: string | URL | Request, init?: RequestInit) => hub.fetch(input, init);

console.log('1. A Registry built from a host name and a token credential; no key in sight.');
let contributor: TokenCredential;
if (playground.kind === 'local') {
  contributor = new TestTokenCredential(['IoT Hub Twin Contributor']);
} else {
  const { DefaultAzureCredential } = await import('@azure/identity');
  contributor = new DefaultAzureCredential();
}
const registry = new Registry(hostName, contributor, fetch === undefined ? {} : { fetch });
const twin = await registry.getTwin(deviceId);
const updated = await registry.updateTwin(
  twin,
  { tags: { signedInWith: 'entra' } },
  { onlyIfUnchanged: true },
);
await registry.getTwin(deviceId);
check(updated.tags?.signedInWith === 'entra', 'read and updated the twin with Bearer tokens');

if (contributor instanceof TestTokenCredential) {
  check(
    contributor.requests.every((scope) => scope === IOT_HUB_TOKEN_SCOPE),
    `asked for scope ${contributor.requests[0] ?? 'none'}`,
  );
  check(
    contributor.requests.length === 1,
    `one token served three calls (${contributor.requests.length} getToken call)`,
  );

  console.log('2. A credential whose token carries only a reader role may read but not write.');
  const reader = new Registry(
    hostName,
    new TestTokenCredential(['IoT Hub Data Reader']),
    fetch === undefined ? {} : { fetch },
  );
  check((await reader.getTwin(deviceId)).deviceId === deviceId, 'the reader read the twin');
  try {
    await reader.updateTwin(deviceId, { tags: { signedInWith: 'reader' } });
    throw new Error('Unexpected result: a reader token wrote a twin');
  } catch (error) {
    if (!isUnauthorizedError(error)) throw error;
    check(error.statusCode === 401, `the write was refused: ${error.name} ${error.statusCode}`);
  }
}

console.log('\nThe back end authenticated with Entra-style tokens.');
