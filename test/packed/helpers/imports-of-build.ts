/**
 * The bare module specifiers an installed package's JavaScript imports, to check that each one is
 * declared (the issue-11 bug: `@twinkit/device/testing` imported vitest, which no package.json
 * named, so the entry failed in every app without vitest).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const builtins = new Set(builtinModules);

/** Static `import … from 'x'`, `export … from 'x'`, side-effect `import 'x'`, and `import('x')`. */
const specifierPatterns = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

/** `lodash/fp` → `lodash`, `@scope/pkg/sub` → `@scope/pkg`. */
function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function javaScriptFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...javaScriptFiles(path));
    else if (/\.[cm]?js$/.test(entry.name)) files.push(path);
  }
  return files;
}

/**
 * The packages (not Node built-ins, not relative paths) that the JavaScript under `dir` imports.
 *
 * @param dir - e.g. the installed package's `dist`
 */
export function importedPackages(dir: string): string[] {
  const found = new Set<string>();
  for (const file of javaScriptFiles(dir)) {
    // Drop comment lines first: TSDoc examples in the build mention packages the code never loads.
    const code = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(?:\*|\/\*|\/\/)/.test(line))
      .join('\n');
    for (const pattern of specifierPatterns) {
      for (const match of code.matchAll(pattern)) {
        const specifier = match[1] ?? '';
        if (specifier === '' || specifier.startsWith('.') || specifier.startsWith('node:'))
          continue;
        if (builtins.has(specifier)) continue;
        found.add(packageNameOf(specifier));
      }
    }
  }
  return [...found].sort();
}
