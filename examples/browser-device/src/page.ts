/**
 * The browser side of the example, bundled by esbuild for the browser: the same DeviceClient as
 * on Node, with MQTT over WebSocket (the only transport a page has). The connection string comes
 * in the URL fragment, which the browser never sends to the page's server. The page reports a
 * property, shows the desired `theme` as it changes, and publishes its outcome on
 * `window.twinkitResult` for the Node side to read.
 */
import { DeviceClient, mqtt } from '@twinkit/device';

/** What the page tells the Node side. */
export interface PageResult {
  ok: boolean;
  reportedVersion?: number;
  error?: string;
}

/** The few browser globals the page uses (the example typechecks without the DOM library). */
export interface PageGlobals {
  location: { hash: string };
  navigator: { userAgent: string };
  document: { querySelector(selector: string): { textContent: string | null } | null };
  twinkitResult?: PageResult;
}

const page = globalThis as unknown as PageGlobals;
const connectionString = decodeURIComponent(page.location.hash.slice(1));
const theme = page.document.querySelector('#theme');
try {
  const device = DeviceClient.fromConnectionString(connectionString, {
    transport: mqtt({ webSocket: true }),
  });
  device.onDesired('theme', ({ value }) => {
    if (theme !== null)
      theme.textContent = typeof value === 'string' ? value : JSON.stringify(value);
  });
  await device.open();
  await device.getTwin();
  const { version } = await device.updateReportedProperties({
    browser: { webSocket: true, userAgent: page.navigator.userAgent },
  });
  console.log(`reported from the page at version ${String(version)}`);
  page.twinkitResult = { ok: true, reportedVersion: version };
} catch (error) {
  page.twinkitResult = {
    ok: false,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}
