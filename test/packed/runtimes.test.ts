/**
 * The runtime matrix (issue 11, Deliver 5), from the packed packages: in Node, Deno, Bun, workerd
 * and headless Chromium, the service flow (getTwin, updateTwin with the ETag, a stale ETag refused
 * with 412, a query in pages of 2 over 5 devices) and the device flow over MQTT on WebSocket
 * (open, getTwin, report, receive a desired change the service made; then a stale update is
 * refused), against the installed CLI hub over TLS. Each runtime trusts the hub's CA its own way
 * (docs/local-hub.md, "Trusting the hub's CA"). Deno and Bun run both device builds: the one their
 * export condition picks (the Node build, see docs/device-guide.md) and the web build through
 * `--conditions=browser`.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleFromApp } from './helpers/bundle.ts';
import { launchTrustingChromium } from './helpers/chromium.ts';
import { startCliHub, type CliHub } from './helpers/cli-hub.ts';
import { resultOf, runProgram } from './helpers/run-program.ts';
import { startWorkerd } from './helpers/workerd.ts';

const { appDir } = inject('packedApp');
const bin = (name: string) =>
  fileURLToPath(new URL(`./node_modules/.bin/${name}`, import.meta.url));
const NODE_BUILD = 'node_modules/@twinkit/device/dist/node/index.js';
const WEB_BUILD = 'node_modules/@twinkit/device/dist/web/index.js';

let hub: CliHub;
let pageServer: Server;
let pageOrigin: string;
let pageInputs: string[];

beforeAll(async () => {
  // The page's origin must be known before the hub starts, for --cors.
  const page = await bundleFromApp(appDir, 'runtimes/browser.mjs', {
    platform: 'browser',
    conditions: [],
  });
  pageInputs = page.inputs;
  const html =
    '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/flows.js"></script>';
  pageServer = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else if (request.url === '/flows.js')
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(page.code);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  const address = pageServer.address();
  pageOrigin = `http://127.0.0.1:${String(typeof address === 'object' && address !== null ? address.port : 0)}`;
  return () => new Promise<void>((resolve) => pageServer.close(() => resolve()));
});

beforeAll(async () => {
  hub = await startCliHub(appDir, { corsOrigins: [pageOrigin] });
  return () => hub[Symbol.asyncDispose]();
});

/** The config every runtime program gets; `label` keeps runtimes' devices apart on one hub. */
function flowConfig(label: string) {
  return { serviceConnectionString: hub.readiness.serviceConnectionString, prefix: label, label };
}

const refused412 = {
  name: 'PreconditionFailedError',
  statusCode: 412,
  isPreconditionFailedError: true,
};

/** What both flows must report in every runtime. */
function expectedFlows(label: string) {
  return {
    ok: true,
    service: {
      etagChanged: true,
      desiredMode: 'eco',
      stale: refused412,
      pages: [[`${label}-0`, `${label}-1`], [`${label}-2`, `${label}-3`], [`${label}-4`]],
    },
    device: {
      openedDesiredVersion: 1,
      reportedVersion: 2,
      serviceSawReported: label,
      serviceSawReportedVersion: 2,
      desiredColor: `green-${label}`,
      staleUpdate: refused412,
    },
  };
}

/** Runs a runtime program in the app and checks both flows and which device build it loaded. */
async function expectProgramFlows(
  label: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  build: string,
): Promise<void> {
  const output = await runProgram(command, args, {
    cwd: appDir,
    env: { ...env, TWINKIT_FLOW: JSON.stringify(flowConfig(label)) },
  });
  const result = resultOf(output);
  const { deviceBuild, ...flows } = result;
  expect(flows).toEqual(expectedFlows(label));
  expect(String(deviceBuild)).toMatch(new RegExp(`${build}$`));
  expect(output.exitCode).toBe(0);
}

describe('the service and device flows from the install, per runtime', () => {
  it('runs in Node, trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
    await expectProgramFlows(
      'node',
      process.execPath,
      ['runtimes/node.mjs'],
      { NODE_EXTRA_CA_CERTS: hub.readiness.caFile },
      NODE_BUILD,
    );
  });

  // Deno's module cache goes in the temporary app, so nothing is left behind.
  const denoEnv = () => ({
    DENO_CERT: hub.readiness.caFile,
    DENO_DIR: join(appDir, '.deno'),
    DENO_NO_UPDATE_CHECK: '1',
  });
  const denoArgs = ['run', '--allow-net', '--allow-env', '--allow-read', 'runtimes/deno.mjs'];

  it('runs in Deno with the Node build, trusting the CA through DENO_CERT', async () => {
    await expectProgramFlows('deno', bin('deno'), denoArgs, denoEnv(), NODE_BUILD);
  });

  it('runs in Deno with the web build (--conditions=browser), trusting the CA through DENO_CERT', async () => {
    await expectProgramFlows(
      'deno-web',
      bin('deno'),
      ['run', '--conditions=browser', ...denoArgs.slice(1)],
      denoEnv(),
      WEB_BUILD,
    );
  });

  const bunEnv = () => ({
    NODE_EXTRA_CA_CERTS: hub.readiness.caFile,
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0',
  });

  it('runs in Bun with the Node build, trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
    await expectProgramFlows('bun', bin('bun'), ['runtimes/bun.mjs'], bunEnv(), NODE_BUILD);
  });

  it('runs in Bun with the web build (--conditions=browser), trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
    await expectProgramFlows(
      'bun-web',
      bin('bun'),
      ['--conditions=browser', 'runtimes/bun.mjs'],
      bunEnv(),
      WEB_BUILD,
    );
  });

  it('runs in workerd, bundled as wrangler does, trusting the CA through tlsOptions.trustedCertificates', async () => {
    const worker = await bundleFromApp(appDir, 'runtimes/worker.mjs', {
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
    });
    expect(worker.inputs).toContain(WEB_BUILD);
    await using workerd = await startWorkerd(worker.code, hub.readiness.caFile);
    const response = await fetch(workerd.url, {
      method: 'POST',
      body: JSON.stringify(flowConfig('workerd')),
    });
    expect(await response.json()).toEqual(expectedFlows('workerd'));
  });

  it('runs in headless Chromium, trusting the CA through the browser NSS database, with the hub’s --cors', async () => {
    expect(pageInputs).toContain(WEB_BUILD);
    await using chromium = await launchTrustingChromium(hub.readiness.caFile);
    const page = await chromium.browser.newPage();
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(message.text()));
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => 'runTwinkitFlows' in globalThis);
    const result = await page.evaluate(
      (config) =>
        (
          globalThis as unknown as { runTwinkitFlows: (c: unknown) => Promise<unknown> }
        ).runTwinkitFlows(config),
      flowConfig('chromium'),
    );
    expect(result, consoleLines.join('\n')).toEqual(expectedFlows('chromium'));
  });
});
