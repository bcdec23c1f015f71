#!/usr/bin/env node
// API reports: one `etc/<entry>.api.md` per public entry of every publishable package, written by
// API Extractor from the built declarations (run `pnpm build` first). `--check` (CI) fails when a
// report differs from what is committed, so a public API change is always reviewed in a diff;
// without it, the reports are rewritten (`pnpm api:update`).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const changed = [];
let failures = 0;

for (const folder of readdirSync(join(root, 'packages'))) {
  const packageFolder = join(root, 'packages', folder);
  const manifestPath = join(packageFolder, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (manifest.private === true) continue;
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target !== 'object' || typeof target.types !== 'string') continue;
    const entryName = subpath === '.' ? 'index' : subpath.slice(2).replaceAll('/', '-');
    const reportFolder = join(packageFolder, 'etc');
    mkdirSync(reportFolder, { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: packageFolder,
        mainEntryPointFilePath: join(packageFolder, target.types),
        compiler: {
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022',
              lib: ['ES2023', 'DOM'],
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              types: ['node'],
              strict: true,
              skipLibCheck: true,
            },
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: `${entryName}.api.md`,
          reportFolder,
          reportTempFolder: join(packageFolder, 'temp'),
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        // Our own packages (twin-model from device/service) stay imports in the report.
        bundledPackages: [],
        messages: {
          compilerMessageReporting: { default: { logLevel: 'warning' } },
          extractorMessageReporting: {
            default: { logLevel: 'warning' },
            // Types reached from an entry but exported only under another name or entry are
            // listed in the report itself; they are not errors of the public surface.
            'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
            'ae-missing-release-tag': { logLevel: 'none' },
            'ae-undocumented': { logLevel: 'none' },
            // TSDoc links to globals (TypeError) and overloads; typedoc checks the docs' links.
            'ae-unresolved-link': { logLevel: 'none' },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
      configObjectFullPath: join(packageFolder, 'api-extractor.json'),
      packageJsonFullPath: manifestPath,
    });
    const result = Extractor.invoke(config, { localBuild: !check, showVerboseMessages: false });
    const name = `${manifest.name}${subpath === '.' ? '' : subpath.slice(1)}`;
    if (!result.succeeded) {
      if (result.apiReportChanged) changed.push(name);
      else failures += 1;
    }
  }
}

if (changed.length > 0) {
  console.error(
    `\nThe public API changed without a reviewed report: ${changed.join(', ')}.\n` +
      'Run `pnpm build && pnpm api:update`, review the diff of packages/*/etc/*.api.md and commit it.',
  );
}
if (changed.length > 0 || failures > 0) process.exit(1);
console.log(check ? 'API reports match the built declarations.' : 'API reports written.');
