/**
 * SAS signing and verification rate. Every MQTT CONNECT, CBS put-token and REST request the hub
 * authenticates goes through verifySasToken, and the service client signs a token per request.
 */
import { bench, describe } from 'vitest';
import { createSasToken, verifySasToken } from '../src/protocol/index.js';

const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const SECONDARY_KEY = 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
const RESOURCE = 'myhub.azure-devices.net/devices/dev1';
const EXPIRY = 1_700_000_000;
const TOKEN = await createSasToken({ resourceUri: RESOURCE, key: KEY, expiresOnInSeconds: EXPIRY });
const NOW = { nowInSeconds: EXPIRY - 60 };

describe('SAS tokens', () => {
  bench('createSasToken (device key)', async () => {
    await createSasToken({ resourceUri: RESOURCE, key: KEY, expiresOnInSeconds: EXPIRY });
  });

  bench('verifySasToken (one candidate key)', async () => {
    const result = await verifySasToken(TOKEN, [KEY], NOW);
    if (!result.ok) throw new Error('benchmark token must verify');
  });

  bench('verifySasToken (primary + secondary keys)', async () => {
    const result = await verifySasToken(TOKEN, [SECONDARY_KEY, KEY], NOW);
    if (!result.ok) throw new Error('benchmark token must verify');
  });
});
