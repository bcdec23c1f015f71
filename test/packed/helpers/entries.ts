/** The export entries of the installed `@twinkit/*` packages, read from their package.json. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every specifier the installed `@twinkit/*` packages export (`@twinkit/device/amqp`, …), except
 * their package.json, sorted.
 *
 * @param appDir - the packed app
 */
export function installedEntries(appDir: string): string[] {
  const scopeDir = join(appDir, 'node_modules/@twinkit');
  const entries: string[] = [];
  for (const dir of readdirSync(scopeDir)) {
    const manifest = JSON.parse(readFileSync(join(scopeDir, dir, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, unknown>;
    };
    for (const key of Object.keys(manifest.exports)) {
      if (key === './package.json') continue;
      entries.push(key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`);
    }
  }
  return entries.sort();
}
