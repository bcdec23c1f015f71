/**
 * Bundles a runtime program from the packed app with esbuild, the way an app's bundler would:
 * bare imports resolve from the app's node_modules through the export conditions given.
 */
import { build } from 'esbuild';

/** A bundle and the installed files it took in. */
export interface Bundle {
  code: string;
  /** Input paths relative to the app, e.g. `node_modules/@twinkit/device/dist/web/index.js`. */
  inputs: string[];
}

/** Options of {@link bundleFromApp}. */
export interface BundleOptions {
  platform: 'browser' | 'neutral';
  /** Export conditions (esbuild adds `import`/`default`, and `browser` for that platform). */
  conditions: string[];
}

/**
 * Bundles `entry` (relative to `appDir`) as one ES module.
 *
 * @param appDir - the packed app (the working directory, so inputs are relative to it)
 */
export async function bundleFromApp(
  appDir: string,
  entry: string,
  options: BundleOptions,
): Promise<Bundle> {
  const result = await build({
    absWorkingDir: appDir,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: options.platform,
    conditions: options.conditions,
    mainFields: ['browser', 'module', 'main'],
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text ?? '';
  return { code, inputs: Object.keys(result.metafile.inputs) };
}
