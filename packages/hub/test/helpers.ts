/**
 * Shared helpers for the hub's tests: signed REST calls through `hub.fetch`.
 */
import { createSasToken, parseServiceConnectionString } from '@twinkit/twin-model/protocol';
import type { Hub } from '../src/index.js';

/** Options of {@link call}. */
export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Authorization header; default an iothubowner SAS token; `null` sends none. */
  authorization?: string | null;
  apiVersion?: string;
}

/**
 * A SAS token for a policy of the hub's service connection string (or another policy).
 *
 * @param hub - the hub
 * @param policy - optional policy name and key
 */
export async function serviceToken(
  hub: Pick<Hub, 'serviceConnectionString'>,
  policy?: { keyName: string; key: string; resourceUri?: string; expiresOnInSeconds?: number },
): Promise<string> {
  const parts = parseServiceConnectionString(hub.serviceConnectionString);
  return createSasToken({
    resourceUri: policy?.resourceUri ?? parts.hostName,
    key: policy?.key ?? parts.sharedAccessKey,
    keyName: policy?.keyName ?? parts.sharedAccessKeyName,
    expiresOnInSeconds: policy?.expiresOnInSeconds ?? Math.floor(Date.now() / 1000) + 3600,
  });
}

/**
 * Calls the hub's REST API through `hub.fetch`.
 *
 * @param hub - the hub
 * @param method - HTTP method
 * @param path - path starting with `/`, without api-version
 * @param options - body, headers, authorization
 * @returns status, headers and parsed JSON body (undefined when empty)
 */
export async function call(
  hub: Pick<Hub, 'fetch' | 'serviceConnectionString'>,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  const authorization =
    options.authorization === undefined ? await serviceToken(hub) : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  const separator = path.includes('?') ? '&' : '?';
  const url = `https://localhost${path}${separator}api-version=${options.apiVersion ?? '2021-04-12'}`;
  const response = await hub.fetch(
    new Request(url, { method, headers, ...(body === undefined ? {} : { body }) }),
  );
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/**
 * The base64 ETag of a counter (test expectations; docs/internals/twin-semantics.md#etags-and-concurrency).
 *
 * @param counter - the ETag counter
 */
export function etagOf(counter: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(counter));
  return bytes.toString('base64');
}
