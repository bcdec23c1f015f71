import { BEARER_SCHEME, createSasToken, HEADER } from '@twinkit/twin-model/protocol';
import {
  IOT_HUB_TOKEN_SCOPE,
  isTokenCredential,
  type NamedKeyCredential,
  type RegistryCredential,
  type TokenCredential,
} from '../../auth/credentials.js';
import { abortable } from '@twinkit/twin-model/internal';
import type { PipelinePolicy } from '../pipeline.js';

/** How long service SAS tokens live and when they are renewed. */
export interface SasTokenOptions {
  /** Lifetime of each token. Default 3600 s, as every SDK uses (docs/internals/wire-contract.md#token-lifetimes). */
  tokenLifetimeInSeconds: number;
  /** The clock, injectable for tests; milliseconds since the epoch. */
  now?: () => number;
}

/** Renew a bearer token this long before it expires (Node's rule, docs/internals/wire-contract.md#entra-tokens). */
const BEARER_REFRESH_MARGIN_IN_MS = 9 * 60 * 1000;

interface CachedToken {
  header: string;
  /** Milliseconds since the epoch after which a new token is fetched or signed. */
  renewAt: number;
  /** For SAS tokens: the name and key it was signed with, so a rotated key takes effect at once. */
  signedWith?: { name: string; key: string };
}

/**
 * Keeps one `Authorization` value and renews it before it expires, instead of signing an HMAC or
 * asking the token credential on every request. Concurrent requests share one renewal.
 */
class AuthorizationCache {
  readonly #credential: RegistryCredential;
  readonly #isTokenCredential: boolean;
  readonly #resourceUri: string;
  readonly #options: SasTokenOptions;
  #cached: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;

  constructor(credential: RegistryCredential, resourceUri: string, options: SasTokenOptions) {
    this.#credential = credential;
    this.#isTokenCredential = isTokenCredential(credential);
    this.#resourceUri = resourceUri;
    this.#options = options;
  }

  /**
   * The cached value when it is still good, synchronously, so the common case costs no await.
   *
   * @param now - the current time in milliseconds since the epoch
   * @returns the header value, or `undefined` when a renewal is due
   */
  current(now: number): string | undefined {
    const cached = this.#cached;
    if (cached === undefined || now >= cached.renewAt) return undefined;
    if (this.#isTokenCredential) return cached.header;
    // A rotated key (SasKeyCredential.update) must take effect on the very next request.
    const { name, key } = this.#credential as NamedKeyCredential;
    return cached.signedWith?.name === name && cached.signedWith.key === key
      ? cached.header
      : undefined;
  }

  /**
   * Renews the value (one renewal shared by every concurrent caller) and waits for it.
   *
   * @param now - the current time in milliseconds since the epoch
   * @param signal - stops this caller waiting; the renewal itself goes on for the others
   * @returns the new header value
   */
  async renew(now: number, signal: AbortSignal | undefined): Promise<string> {
    this.#pending ??= this.#renew(now).finally(() => {
      this.#pending = undefined;
    });
    const fresh = await abortable(this.#pending, signal);
    return fresh.header;
  }

  // One renewal serves every waiting request, so it runs under no single caller's signal; each
  // caller stops waiting on its own signal instead (see get()).
  async #renew(now: number): Promise<CachedToken> {
    const credential = this.#credential;
    const token = isTokenCredential(credential)
      ? await this.#bearer(credential, now)
      : await this.#sas(credential, now);
    this.#cached = token;
    return token;
  }

  async #bearer(credential: TokenCredential, now: number): Promise<CachedToken> {
    const access = await credential.getToken(IOT_HUB_TOKEN_SCOPE);
    if (access === null || typeof access.token !== 'string' || access.token === '') {
      throw new Error(
        `The token credential returned no token for scope ${IOT_HUB_TOKEN_SCOPE}; check that it is signed in and allowed to use the hub.`,
      );
    }
    const renewAt = Math.min(
      access.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY,
      access.expiresOnTimestamp - BEARER_REFRESH_MARGIN_IN_MS,
    );
    return { header: `${BEARER_SCHEME} ${access.token}`, renewAt: Math.max(renewAt, now) };
  }

  async #sas(credential: NamedKeyCredential, now: number): Promise<CachedToken> {
    const { name, key } = credential;
    const lifetime = this.#options.tokenLifetimeInSeconds;
    const expiresOnInSeconds = Math.ceil(now / 1000) + lifetime;
    const header = await createSasToken({
      resourceUri: this.#resourceUri,
      key,
      keyName: name,
      expiresOnInSeconds,
    });
    // Renew once three quarters of the lifetime are gone (900 s early for a one-hour token).
    return { header, renewAt: now + lifetime * 750, signedWith: { name, key } };
  }
}

/**
 * Sets `Authorization`: a cached service SAS token (`sr` = the hub host, `skn` = policy name) for
 * named keys, or `Bearer <token>` for token credentials (docs/internals/wire-contract.md#sas-resource-uris, docs/internals/wire-contract.md#entra-tokens). Runs on every
 * attempt, so a retry after a long backoff gets a fresh token if the old one is due. It signs
 * only requests to the registry's own origin: a policy that pointed a request elsewhere gets a
 * `TypeError`, and the credential never leaves.
 *
 * @param credential - the registry's credential
 * @param resourceUri - the host the SAS token is scoped to (without a port)
 * @param origin - `https://host[:port]`, the only origin that receives the credential
 * @param options - token lifetime
 * @returns the policy
 */
export function authPolicy(
  credential: RegistryCredential,
  resourceUri: string,
  origin: string,
  options: SasTokenOptions,
): PipelinePolicy {
  const cache = new AuthorizationCache(credential, resourceUri, options);
  const prefix = `${origin}/`;
  return {
    name: 'authPolicy',
    sendRequest(request, next) {
      if (!request.url.startsWith(prefix)) {
        return Promise.reject(
          new TypeError(
            `${request.operation}: refusing to send the registry's credential to ${new URL(request.url).origin}; it goes to ${origin} only (a custom policy changed the URL)`,
          ),
        );
      }
      // Read per request rather than captured once, so a replaced clock (fake timers) is honoured.
      const time = options.now?.() ?? Date.now();
      const current = cache.current(time);
      // Not an async function: the common case (a cached token) adds no promise of its own.
      if (current !== undefined) {
        request.headers[HEADER.authorization] = current;
        return next(request);
      }
      return cache.renew(time, request.signal).then((renewed) => {
        request.headers[HEADER.authorization] = renewed;
        return next(request);
      });
    },
  };
}
