/**
 * The IndexedDB state store (`@twinkit/device/indexeddb-store`) in headless Chromium: a state
 * saved in one page load is there after a reload; a DeviceClient's queued patch survives a reload
 * through `flushState()`; another device's state, another format, another app's database and a
 * second user of the same store are the typed errors, and nothing is reset. The page is bundled
 * from fixtures/indexeddb-page.ts with esbuild (the web build of the device package) and served
 * from loopback HTTP.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';

interface Outcome {
  value?: unknown;
  error?: { name: string; message: string };
}

type PageApi = Record<string, (...args: string[]) => Promise<unknown>>;

let browser: Browser;
let server: Server;
let pageUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium`);
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/indexeddb-page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@twinkit/source'],
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  const html =
    '<!doctype html><title>store</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>';
  server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else if (request.url === '/page.js')
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  pageUrl = `http://127.0.0.1:${String(typeof address === 'object' && address !== null ? address.port : 0)}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
});

afterAll(async () => {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
});

async function openPage(): Promise<
  { page: Page; call: (name: string, ...args: string[]) => Promise<Outcome> } & AsyncDisposable
> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const load = async () => {
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'twinkitStore' in globalThis);
  };
  await load();
  return {
    page,
    call: (name, ...args) =>
      page.evaluate(
        ([method, parameters]) =>
          (globalThis as unknown as { twinkitStore: PageApi }).twinkitStore[method]!(...parameters),
        [name, args] as const,
      ) as Promise<Outcome>,
    [Symbol.asyncDispose]: () => context.close(),
  };
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => 'twinkitStore' in globalThis);
}

describe('createIndexedDbStore in Chromium', () => {
  it('loads nothing from a new database, and after a reload what was saved', async () => {
    await using tab = await openPage();
    expect(await tab.call('load', 'dev-1-state')).toEqual({ value: null });
    expect(await tab.call('save', 'dev-1-state', 'dev-1')).toEqual({ value: null });
    await reload(tab.page);
    expect(await tab.call('load', 'dev-1-state')).toEqual({
      value: {
        format: 'twinkit.device-state/1',
        identity: { hostName: 'hub.example', deviceId: 'dev-1' },
        outbox: [{ sequence: 1, patch: { firmware: '1.2.0' } }],
        desired: { version: 7, document: { interval: 30 } },
        acknowledged: {},
      },
    });
  });

  it("keeps a DeviceClient's queued patch across a reload once flushState() resolved", async () => {
    await using tab = await openPage();
    expect(await tab.call('queueReported', 'queued-state', 'dev-1')).toEqual({ value: null });
    await reload(tab.page);
    const { value } = await tab.call('load', 'queued-state');
    expect(value).toMatchObject({
      identity: { hostName: 'hub.example', deviceId: 'dev-1' },
      outbox: [{ sequence: 1, patch: { battery: 12 } }],
    });
  });

  it("refuses another device's store with StoreForeignError, and leaves it as it was", async () => {
    await using tab = await openPage();
    await tab.call('save', 'foreign-state', 'dev-1');
    const { error } = await tab.call('open', 'foreign-state', 'dev-2');
    expect(error?.name).toBe('StoreForeignError');
    expect(error?.message).toContain('belongs to hub.example/dev-1, not to hub.example/dev-2');
    const { value } = await tab.call('load', 'foreign-state');
    expect(value).toMatchObject({ identity: { deviceId: 'dev-1' } });
  });

  it('refuses a record of another format and a database of another app with StoreCorruptError', async () => {
    await using tab = await openPage();
    await tab.call('save', 'edited-state', 'dev-1');
    await tab.call('writeForeignRecord', 'edited-state');
    expect((await tab.call('load', 'edited-state')).error).toMatchObject({
      name: 'StoreCorruptError',
      message: expect.stringContaining('format marker is "something-else/3"') as unknown,
    });
    await tab.call('createOtherDatabase', 'other-app');
    expect((await tab.call('load', 'other-app')).error).toMatchObject({
      name: 'StoreCorruptError',
      message: expect.stringContaining("IndexedDB database 'other-app'") as unknown,
    });
  });

  it('refuses a second user of the same store with StoreLockedError (Web Locks)', async () => {
    await using tab = await openPage();
    const { value } = await tab.call('loadTwice', 'locked-state');
    expect((value as Outcome).error?.name).toBe('StoreLockedError');
  });
});
