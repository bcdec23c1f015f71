/**
 * The credentials a {@link Registry} accepts. They are declared structurally so that
 * `@azure/identity` credentials (`DefaultAzureCredential`, …) and `@azure/core-auth`'s
 * `AzureNamedKeyCredential` fit without this package depending on any `@azure/*` package.
 */

/** An access token as `@azure/identity` returns it. */
export interface AccessToken {
  /** The bearer token. */
  token: string;
  /** When it expires, in milliseconds since the Unix epoch. */
  expiresOnTimestamp: number;
  /** When the credential suggests refreshing it, in milliseconds since the Unix epoch. */
  refreshAfterTimestamp?: number;
}

/** Options passed to {@link TokenCredential.getToken}. */
export interface GetTokenOptions {
  abortSignal?: AbortSignal;
}

/**
 * A Microsoft Entra ID token source, such as `DefaultAzureCredential` from `@azure/identity`.
 * The registry asks for scope {@link IOT_HUB_TOKEN_SCOPE} and sends `Authorization: Bearer …`
 * (docs/internals/wire-contract.md#entra-tokens).
 */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null>;
}

/**
 * A shared access policy name and key, e.g. `iothubowner` and its base64 key. `AzureNamedKeyCredential`
 * from `@azure/core-auth` and {@link SasKeyCredential} both fit.
 */
export interface NamedKeyCredential {
  readonly name: string;
  readonly key: string;
}

/** What `new Registry(hostName, credential)` accepts. */
export type RegistryCredential = TokenCredential | NamedKeyCredential;

/** The Entra ID scope for IoT Hub data-plane calls (docs/internals/wire-contract.md#entra-tokens). */
export const IOT_HUB_TOKEN_SCOPE = 'https://iothubs.azure.net/.default';

/**
 * A shared access policy key that signs SAS tokens for the service API. The registry caches each
 * token and renews it before it expires; {@link SasKeyCredential.update} rotates the key in place.
 *
 * @example
 * ```ts
 * const credential = new SasKeyCredential('service', process.env.HUB_SERVICE_KEY!);
 * const registry = new Registry('myhub.azure-devices.net', credential);
 * ```
 */
export class SasKeyCredential implements NamedKeyCredential {
  #name: string;
  #key: string;

  /**
   * @param name - the shared access policy name (`skn`), e.g. `service`
   * @param key - the policy's base64 key
   * @throws {@link TypeError} when either is empty or not a string
   */
  constructor(name: string, key: string) {
    assertNamedKey(name, key);
    this.#name = name;
    this.#key = key;
  }

  /** The shared access policy name. */
  get name(): string {
    return this.#name;
  }

  /** The policy's base64 key. */
  get key(): string {
    return this.#key;
  }

  /**
   * Rotates the key (and optionally the policy); tokens signed with the old key are replaced on
   * the next request.
   *
   * @param key - the new base64 key
   * @param name - the new policy name, if it changes too
   * @throws {@link TypeError} when the key or name is empty
   */
  update(key: string, name: string = this.#name): void {
    assertNamedKey(name, key);
    this.#name = name;
    this.#key = key;
  }

  /** Keeps the key out of `JSON.stringify` and inspection output. */
  toJSON(): { name: string } {
    return { name: this.#name };
  }
}

function assertNamedKey(name: unknown, key: unknown): void {
  if (typeof name !== 'string' || name === '')
    throw new TypeError('The shared access policy name must be a non-empty string');
  if (typeof key !== 'string' || key === '')
    throw new TypeError('The shared access key must be a non-empty base64 string');
}

/**
 * Tells a token credential from a named key.
 *
 * @param credential - any value
 * @returns `true` when it has a `getToken` method
 */
export function isTokenCredential(credential: unknown): credential is TokenCredential {
  return (
    typeof credential === 'object' &&
    credential !== null &&
    typeof (credential as Partial<TokenCredential>).getToken === 'function'
  );
}

/**
 * Tells a named key credential (`{ name, key }` strings) from anything else.
 *
 * @param credential - any value
 * @returns `true` when `name` and `key` are non-empty strings
 */
export function isNamedKeyCredential(credential: unknown): credential is NamedKeyCredential {
  if (typeof credential !== 'object' || credential === null) return false;
  const { name, key } = credential as Partial<NamedKeyCredential>;
  return typeof name === 'string' && name !== '' && typeof key === 'string' && key !== '';
}
