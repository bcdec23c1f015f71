/**
 * Vitest global setup of the `packed` project: packs every publishable package the way a release
 * would (`pnpm pack` rewrites `workspace:^` to real versions and applies `files`), installs the
 * tarballs with npm into a new app under the OS temp dir (no workspace links, no `@twinkit/source`
 * condition; dependencies come from the npm registry), copies the runtime programs into it, and
 * provides its location to the tests. Nothing is cached between runs except npm's own cache; the
 * app is deleted at the end (set TWINKIT_PACKED_KEEP=1 to keep it for debugging).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import type { PackedApp } from './packed-app.ts';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../..');
const packagesDir = join(repoRoot, 'packages');

/**
 * `@twinkit/device/testing` exports the transport contract suite, written against vitest: vitest
 * is its optional peer dependency, so an app that imports that entry installs vitest itself. The
 * app gets the version the workspace tests with.
 */
async function workspaceVitestVersion(): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(repoRoot, 'node_modules/vitest/package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

/**
 * A TypeScript app on Node has Node's types; the hub's declarations use them (node:http servers,
 * Buffer). The app gets the version the workspace builds with.
 */
async function workspaceNodeTypesVersion(): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(repoRoot, 'node_modules/@types/node/package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

/** The child environment: ours, minus what pnpm sets for its own scripts. */
function npmEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.npm_config_user_agent;
  return env;
}

async function publishablePackages(): Promise<{ name: string; dir: string }[]> {
  const found: { name: string; dir: string }[] = [];
  for (const entry of await readdir(packagesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(packagesDir, entry.name);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
    };
    if (manifest.private === true) continue;
    const built = await stat(join(dir, 'dist')).catch(() => undefined);
    if (built === undefined) {
      throw new Error(`${manifest.name} has no dist/: run "pnpm build" first (pnpm test does).`);
    }
    found.push({ name: manifest.name, dir });
  }
  return found;
}

/** Packs each package into `destination`; returns package name → tarball path. */
async function packAll(destination: string): Promise<Record<string, string>> {
  const tarballs: Record<string, string> = {};
  for (const { name, dir } of await publishablePackages()) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination, '--json'], {
      cwd: dir,
      env: npmEnvironment(),
    });
    const report = JSON.parse(stdout) as { filename: string };
    tarballs[name] = resolve(destination, report.filename);
  }
  return tarballs;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'twinkit-packed-'));
  const cleanup = async () => {
    if (process.env.TWINKIT_PACKED_KEEP === '1') console.log(`packed app kept in ${root}`);
    else await rm(root, { recursive: true, force: true });
  };
  try {
    const tarballDir = join(root, 'tarballs');
    const appDir = join(root, 'app');
    await mkdir(tarballDir);
    await mkdir(appDir);
    const tarballs = await packAll(tarballDir);
    await writeFile(
      join(appDir, 'package.json'),
      `${JSON.stringify({ name: 'twinkit-packed-app', private: true, type: 'module' }, null, 2)}\n`,
    );
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        ...Object.values(tarballs),
        `vitest@${await workspaceVitestVersion()}`,
        `@types/node@${await workspaceNodeTypesVersion()}`,
      ],
      { cwd: appDir, env: npmEnvironment(), maxBuffer: 16 * 1024 * 1024 },
    );
    await cp(join(here, '../runtimes'), join(appDir, 'runtimes'), { recursive: true });
    const app: PackedApp = { appDir, tarballs };
    project.provide('packedApp', app);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return cleanup;
}
