/**
 * The hub's explorer in headless Chromium (Debian's, driven by playwright-core): a device
 * appears in the list, its reported change arrives in the open twin without a reload, a desired
 * property edited in the page reaches a real DeviceClient, and a write based on a stale ETag
 * meets the 412 with a reload offered. The local hub's certificate is for a test only, so the
 * browser context ignores HTTPS errors (test/packed trusts the CA properly).
 *
 * `TWINKIT_UPDATE_SCREENSHOTS=1` also writes the screenshots docs/local-hub.md shows into
 * docs/images/; otherwise they are taken and checked but not written.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { mqtt } from '@twinkit/device';
import { startTestHub } from '@twinkit/hub/testing';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeviceClient, createRegistry } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const IMAGES = new URL('../../docs/images/', import.meta.url);
const writeScreenshots = process.env.TWINKIT_UPDATE_SCREENSHOTS === '1';

let browser: Awaited<ReturnType<typeof chromium.launch>>;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium`);
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
});

async function screenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: false });
  // A PNG signature: the page rendered.
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  if (writeScreenshots) await writeFile(fileURLToPath(new URL(name, IMAGES)), png);
}

it(
  'shows a device, its twin live, sends desired edits to the device, meets a 412, creates and deletes',
  { timeout: 60_000 },
  async () => {
    await using testHub = await startTestHub();
    const registry = createRegistry(testHub);
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1100, height: 800 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(testHub.server?.urls.explorer ?? '');
      await page.locator('#live', { hasText: 'live' }).waitFor();

      // A device created elsewhere appears in the list, and turns Connected when its app connects.
      const created = await testHub.createDevice('thermostat-7');
      const row = page.locator('tr[data-id="thermostat-7"]');
      await row.waitFor();
      const client = createDeviceClient(testHub, created.connectionString, { transport: mqtt() });
      const received: unknown[] = [];
      client.onDesired('targetTemperature', ({ value }) => {
        received.push(value);
      });
      await client.open();
      try {
        await row.locator('td.state', { hasText: 'Connected' }).waitFor();

        // Open the twin; the device's reported change arrives without a reload.
        await row.locator('a').click();
        await page.locator('#twin-title', { hasText: 'thermostat-7' }).waitFor();
        const reportedAt = Date.now();
        await client.updateReportedProperties({ temperature: 21.5, firmware: '1.4.2' });
        await page.locator('#twin-reported', { hasText: '"temperature": 21.5' }).waitFor();
        const liveInMs = Date.now() - reportedAt;
        console.log(
          `reported change shown ${String(liveInMs)} ms after the device's update returned`,
        );
        await page.locator('#timeline li', { hasText: 'device' }).first().waitFor();
        expect(await page.locator('#reported-version').textContent()).toBe('$version 2');

        // Edit a desired property in the page: the device receives it.
        await page.locator('#edit-desired').fill('{\n  "targetTemperature": 19\n}');
        await page.locator('#edit-save').click();
        await page.locator('#edit-result', { hasText: 'Saved' }).waitFor();
        await expect.poll(() => received, { timeout: 5_000 }).toContain(19);
        await page.locator('#timeline li', { hasText: 'service' }).first().waitFor();
        await screenshot(page, 'explorer-twin.png');

        // Another writer gets there first: the page's save, with the ETag it read, meets 412.
        await page.locator('#edit-desired').fill('{\n  "targetTemperature": 17\n}');
        await registry.updateTwin('thermostat-7', { properties: { desired: { mode: 'eco' } } });
        await page.locator('#twin-desired', { hasText: '"mode": "eco"' }).waitFor();
        await page.locator('#edit-save').click();
        await page.locator('#conflict', { hasText: '412' }).waitFor();
        await screenshot(page, 'explorer-conflict.png');
        expect(received).not.toContain(17);
        await page.locator('#conflict-reload').click();
        await expect
          .poll(() => page.locator('#edit-desired').inputValue())
          .toContain('"mode": "eco"');
        expect(await page.locator('#conflict').isHidden()).toBe(true);

        // The query console pages, and the fault controls reach the device's connection.
        await page.locator('#query-page-size').fill('1');
        await page.locator('#query-run').click();
        await page.locator('#query-status', { hasText: '1 item(s)' }).waitFor();
        await page.locator('#fault-drop').click();
        await page.locator('#fault-result', { hasText: 'dropped' }).waitFor();
        // Create a device from the page: its connection string is shown to copy, and it works.
        await page.locator('#create-device').fill('from-the-page');
        await page.locator('#create-form button[type="submit"]').click();
        const shown = page.locator('#created-cs', { hasText: 'DeviceId=from-the-page;' });
        await shown.waitFor();
        await page.locator('tr[data-id="from-the-page"]').waitFor();
        const pageDevice = createDeviceClient(testHub, (await shown.textContent()) ?? '', {
          transport: mqtt(),
        });
        await pageDevice.open();
        await page
          .locator('tr[data-id="from-the-page"] td.state', { hasText: 'Connected' })
          .waitFor();
        await pageDevice.close();
        // And delete it (the page asks first).
        page.once('dialog', (dialog) => void dialog.accept());
        await page.locator('tr[data-id="from-the-page"] button', { hasText: 'Delete' }).click();
        await page.locator('tr[data-id="from-the-page"]').waitFor({ state: 'detached' });
        await expect(registry.getDevice('from-the-page')).rejects.toThrow(/not found/i);
        expect(errors).toEqual([]);
      } finally {
        await client.close();
      }
    } finally {
      await context.close();
    }
  },
);
