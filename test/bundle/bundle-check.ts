import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** A runtime to bundle for: esbuild platform plus the export conditions that runtime's bundlers use. */
export interface BundleTarget {
  name: string;
  platform: 'browser' | 'neutral' | 'node';
  conditions: string[];
}

export const bundleTargets: readonly BundleTarget[] = [
  { name: 'browser', platform: 'browser', conditions: ['@twinkit/source', 'browser'] },
  { name: 'worker', platform: 'neutral', conditions: ['@twinkit/source', 'worker', 'browser'] },
];

/** What bundling one program produced. */
export interface BundleReport {
  /** Node built-ins the bundle would import (must be empty). */
  nodeImports: string[];
  /** Minified output size in bytes. */
  bytes: number;
  code: string;
  /** Every file bundled, as esbuild names it (paths relative to this folder). */
  inputs: string[];
}

/**
 * Bundles `source` (a small ES module) for `target` and lists any Node built-in it needs.
 * esbuild fails outright on an unresolvable built-in for the browser platform; for the neutral
 * platform we read the metafile, where such imports stay external.
 */
export async function bundleProgram(source: string, target: BundleTarget): Promise<BundleReport> {
  const result = await build({
    stdin: { contents: source, resolveDir: here, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: target.platform,
    conditions: target.conditions,
    mainFields: ['browser', 'module', 'main'],
    metafile: true,
    logLevel: 'silent',
    treeShaking: true,
  });
  const nodeImports = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (nodeBuiltins.has(imported.path)) nodeImports.add(imported.path);
    }
  }
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (nodeBuiltins.has(imported.path)) nodeImports.add(imported.path);
    }
  }
  const code = result.outputFiles[0]?.text ?? '';
  return {
    nodeImports: [...nodeImports].sort(),
    bytes: Buffer.byteLength(code),
    code,
    inputs: Object.keys(result.metafile.inputs),
  };
}
