/**
 * Device and module twins as functions of a small client: read, update (with ETags), replace,
 * update in bulk and query. The same operations as `Registry`'s twin methods (which call these),
 * but importable one by one, so a browser or worker bundle carries only what it uses: the
 * program below bundles to under 12 KB gzipped (test/bundle/service.test.ts). Errors are the
 * classes `@twinkit/service` re-exports. One difference: a Registry checks each patch against the
 * twin rules before sending it (`TwinValidationError`), these functions leave that to the hub
 * (`BadRequestError`, in the same words) unless you call {@link assertValidTwinUpdate} first, so
 * the rules and their texts are not in your bundle unless you ask for them. Pass a Registry as
 * the client and its checks apply.
 *
 * @example
 * ```ts
 * import {
 *   createTwinClientFromConnectionString,
 *   getTwin,
 *   queryTwins,
 *   updateTwin,
 * } from '@twinkit/service/twins';
 *
 * const client = createTwinClientFromConnectionString(process.env.IOTHUB_CONNECTION_STRING!);
 * const twin = await getTwin(client, 'dev-1');
 * await updateTwin(client, twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
 * for await (const t of queryTwins(client, "SELECT * FROM devices WHERE tags.site = 'lyon'")) {
 *   console.log(t.deviceId);
 * }
 * ```
 *
 * @module @twinkit/service/twins
 */

export {
  createTwinClient,
  createTwinClientFromConnectionString,
  type TwinClient,
} from './twin-client.js';
export {
  getModuleTwin,
  getTwin,
  query,
  queryTwins,
  replaceTwin,
  updateTwin,
  updateTwins,
  updateTwinWithRetry,
} from './twin-operations.js';
export { assertValidTwinUpdate } from '../twin-validation.js';
export type { RegistryCredential } from '../auth/credentials.js';
export type { BulkTwinUpdate, TwinId, UpdateTwinsResult } from '../models.js';
export type {
  GetTwinOptions,
  OperationOptions,
  QueryOptions,
  QueryTwinsOptions,
  RegistryOptions,
  ReplaceTwinOptions,
  UpdateTwinOptions,
  UpdateTwinsOptions,
  UpdateTwinWithRetryOptions,
} from '../options.js';
