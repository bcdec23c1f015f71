/**
 * What the global setup hands to the tests (through vitest's `provide`/`inject`): where the
 * temporary app with the installed tarballs lives.
 */

/** The temporary app outside the workspace, with every publishable package installed by npm. */
export interface PackedApp {
  /** The app's directory (under the OS temp dir); runtime programs are copied to `runtimes/`. */
  appDir: string;
  /** Package name → absolute path of its tarball, as `pnpm pack` wrote it. */
  tarballs: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    packedApp: PackedApp;
  }
}
