/**
 * Headless Chromium (Debian's, driven by playwright-core) that trusts the hub's CA through its
 * own trust store: on Linux Chromium reads the NSS database in `$HOME/.pki/nssdb`, so the browser
 * runs with a temporary HOME whose database holds the CA (made with `certutil` from Debian's
 * libnss3-tools). Certificate errors are never ignored.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const run = promisify(execFile);
const chromiumPath = '/usr/bin/chromium';

/** A browser and the temporary HOME it trusts the CA in. */
export interface TrustingBrowser extends AsyncDisposable {
  readonly browser: Browser;
}

/**
 * Launches Chromium trusting the CA in `caFile`.
 *
 * @throws Error saying what to install when Chromium or certutil is missing
 */
export async function launchTrustingChromium(caFile: string): Promise<TrustingBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not at ${chromiumPath}: apt-get install -y chromium`);
  }
  const home = await mkdtemp(join(tmpdir(), 'twinkit-packed-chromium-'));
  try {
    const database = `sql:${join(home, '.pki/nssdb')}`;
    await mkdir(join(home, '.pki/nssdb'), { recursive: true });
    try {
      await run('certutil', ['-d', database, '-N', '--empty-password']);
    } catch (error) {
      throw new Error('certutil failed or is missing: apt-get install -y libnss3-tools', {
        cause: error,
      });
    }
    // Trust flags "C,,": a CA trusted to issue server certificates (not mail or code signing).
    await run('certutil', [
      '-d',
      database,
      '-A',
      '-t',
      'C,,',
      '-n',
      'twinkit-hub development CA',
      '-i',
      caFile,
    ]);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      env: { ...process.env, HOME: home },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return {
      browser,
      async [Symbol.asyncDispose]() {
        await browser.close();
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}
