/**
 * @summary A device in a web page, which the official Node SDK cannot do: src/page.ts uses
 * DeviceClient with `mqtt({ webSocket: true })`, bundled for the browser by esbuild and served from
 * a loopback HTTP server. Headless Chromium (driven by playwright-core) opens the page, which
 * connects to the hub's HTTPS port over WebSocket and reports a property; Node checks the twin with
 * the Registry, then sets a desired `theme` and waits for the page to show it. Needs Debian's
 * Chromium at /usr/bin/chromium (`apt-get install -y chromium`) and fails with that advice if it is
 * missing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { check, openPlayground } from '@twinkit/example-shared';
import {
  formatDeviceConnectionString,
  parseDeviceConnectionString,
} from '@twinkit/twin-model/protocol';
import type { PageGlobals } from './page.js';

const chromiumPath = '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  throw new Error(
    `Chromium is not installed at ${chromiumPath}. Install it with: apt-get update && apt-get install -y chromium`,
  );
}

await using playground = await openPlayground();
const { registry, testHub } = playground;
const device = await playground.addDevice('kiosk-1');
// A page speaks MQTT over WebSocket on the hub's HTTPS port (443 on Azure, ephemeral locally).
const connectionString =
  testHub === undefined
    ? device.connectionString
    : formatDeviceConnectionString({
        ...parseDeviceConnectionString(device.connectionString),
        hostName: `localhost:${String(testHub.httpsPort)}`,
      });

console.log('1. Bundle src/page.ts for the browser with esbuild.');
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // Resolves this repository's packages to their TypeScript sources; an app using the published
  // packages leaves it out (their `default` export condition is the browser build).
  conditions: ['@twinkit/source'],
  minify: true,
  logLevel: 'silent',
});
const script = bundle.outputFiles[0]?.text ?? '';
check(script.length > 0, `page bundle of ${Math.round(script.length / 1024)} KB`);

console.log('2. Serve it from a loopback HTTP server.');
const html =
  '<!doctype html><title>twinkit device</title><link rel="icon" href="data:,"><p>theme: <span id="theme">none</span></p><script type="module" src="/page.js"></script>';
const server = createServer((request, response) => {
  if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(html);
  else if (request.url === '/page.js')
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
  else response.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const pageUrl = `http://127.0.0.1:${String(typeof address === 'object' && address !== null ? address.port : 0)}/`;

console.log('3. Headless Chromium opens the page; the page connects over WebSocket and reports.');
const profile = await mkdtemp(join(tmpdir(), 'twinkit-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  headless: true,
  // The local hub's development CA is not in the browser's trust store.
  ignoreHTTPSErrors: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--ignore-certificate-errors',
  ],
});
try {
  const page = await browser.newPage();
  page.on('console', (message) => {
    console.log(`   [page] ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    console.log(`   [page error] ${error.message}`);
  });
  // The callbacks below are sent to the page and run there, where globalThis is the window.
  await page.goto(`${pageUrl}#${encodeURIComponent(connectionString)}`);
  await page.waitForFunction(
    () => (globalThis as unknown as PageGlobals).twinkitResult !== undefined,
    undefined,
    { timeout: 30_000 },
  );
  const result = await page.evaluate(() => (globalThis as unknown as PageGlobals).twinkitResult);
  check(result?.ok === true, `the page says ${JSON.stringify(result)}`);

  console.log('4. The back end reads what the page reported.');
  const twin = await registry.getTwin(device.deviceId);
  const reported = twin.properties.reported;
  check(
    JSON.stringify(reported.browser).includes('"webSocket":true'),
    `reported.browser.userAgent: ${JSON.stringify((reported.browser as { userAgent?: string } | undefined)?.userAgent)}`,
  );
  check(reported.$version === result?.reportedVersion, `reported $version ${reported.$version}`);

  console.log('5. The back end sets desired theme = dark; the page shows it.');
  await registry.updateTwin(device.deviceId, { properties: { desired: { theme: 'dark' } } });
  await page.waitForFunction(
    () =>
      (globalThis as unknown as PageGlobals).document.querySelector('#theme')?.textContent ===
      'dark',
    undefined,
    { timeout: 10_000 },
  );
  check(true, `the page shows theme: ${(await page.textContent('#theme')) ?? ''}`);
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
}

console.log('\nA browser page was a device, end to end.');
