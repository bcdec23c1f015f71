/**
 * The `workerd` npm package ships no types. Its main module's default export is the path of the
 * platform binary (workerd's npm/lib/node-path.ts), which miniflare spawns the same way.
 */
declare module 'workerd' {
  const binaryPath: string;
  export default binaryPath;
  export const compatibilityDate: string;
  export const version: string;
}
