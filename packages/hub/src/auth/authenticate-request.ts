/**
 * REST authentication: `Authorization: SharedAccessSignature …` signed with a shared access
 * policy key (docs/internals/wire-contract.md#sas-verification), or `Authorization: Bearer <JWT>` from the configured test token
 * issuer (docs/internals/wire-contract.md#entra-tokens). Either way the result is the set of data actions the caller may use.
 */
import { jwtVerify, errors as joseErrors } from 'jose';
import {
  BEARER_SCHEME,
  type ParsedSasToken,
  parseSasToken,
  SAS_TOKEN_PREFIX,
  verifySasToken,
} from '@twinkit/twin-model/protocol';
import { scopeCovers } from './scope-covers.js';
import { hubFailure } from '../rest/hub-failure.js';
import {
  BEARER_ROLE_ACTIONS,
  actionsForPermissions,
  type HubDataAction,
  type SharedAccessPolicy,
} from './policies.js';

/** The audience of Microsoft Entra tokens for IoT Hub data-plane calls (docs/internals/wire-contract.md#entra-tokens). */
export const IOT_HUB_AUDIENCE = 'https://iothubs.azure.net';

/** Configuration of the test token issuer whose Bearer JWTs the hub accepts. */
export interface TokenIssuerOptions {
  /** HS256 signing key (a string is used as its UTF-8 bytes). */
  key: string | Uint8Array;
  /** Expected `aud`; default `https://iothubs.azure.net` (a trailing slash is accepted too). */
  audience?: string;
  /** Expected `iss`; not checked when omitted. */
  issuer?: string;
}

/** Who called, and what they may do. */
export interface RequestPrincipal {
  kind: 'policy' | 'token';
  /** Policy name or the token subject. */
  name: string;
  actions: ReadonlySet<HubDataAction>;
}

const CACHE_LIMIT = 2000;

const ROLE_ACTIONS: ReadonlyMap<string, readonly HubDataAction[]> = new Map(
  Object.entries(BEARER_ROLE_ACTIONS),
);

/**
 * Verifies REST credentials.
 *
 * @internal
 */
export class RequestAuthenticator {
  readonly #hostName: string;
  readonly #policies: ReadonlyMap<string, SharedAccessPolicy>;
  readonly #issuer: { key: Uint8Array; audiences: string[]; issuer?: string } | undefined;
  // The same token is typically reused for a while by a client; skip the HMAC for repeats.
  readonly #cache = new Map<
    string,
    { principal: RequestPrincipal; audience: string; expiresOnInSeconds: number }
  >();

  /**
   * @param hostName - the hub host name tokens must be scoped to
   * @param policies - the shared access policies
   * @param tokenIssuer - the Bearer token issuer, if Bearer tokens are accepted
   */
  constructor(
    hostName: string,
    policies: readonly SharedAccessPolicy[],
    tokenIssuer?: TokenIssuerOptions,
  ) {
    this.#hostName = hostName;
    this.#policies = new Map(policies.map((policy) => [policy.keyName, policy]));
    if (tokenIssuer !== undefined) {
      const key =
        typeof tokenIssuer.key === 'string'
          ? new TextEncoder().encode(tokenIssuer.key)
          : tokenIssuer.key;
      if (key.length < 32)
        throw new RangeError('tokenIssuer.key must be at least 32 bytes (HS256).');
      const audience = (tokenIssuer.audience ?? IOT_HUB_AUDIENCE).replace(/\/+$/, '');
      this.#issuer = { key, audiences: [audience, `${audience}/`] };
      if (tokenIssuer.issuer !== undefined) this.#issuer.issuer = tokenIssuer.issuer;
    }
  }

  /**
   * Authenticates a request and checks it may perform an action.
   *
   * @param authorization - the Authorization header, or null
   * @param resourcePath - the decoded request path, e.g. `/twins/dev1`
   * @param action - the data action the route needs
   * @returns the caller
   * @throws a 401 IotHubUnauthorizedAccess HubError (the message never contains the token)
   */
  async authenticate(
    authorization: string | null,
    resourcePath: string,
    action: HubDataAction,
  ): Promise<RequestPrincipal> {
    const principal = await this.identify(authorization, resourcePath);
    this.authorize(principal, action);
    return principal;
  }

  /**
   * Verifies REST credentials without checking an action yet (for routes that must read their
   * body to know the action: the body is read only once the caller is known).
   *
   * @param authorization - the Authorization header, or null
   * @param resourcePath - the decoded request path
   * @returns the caller
   * @throws a 401 IotHubUnauthorizedAccess HubError
   */
  async identify(authorization: string | null, resourcePath: string): Promise<RequestPrincipal> {
    if (authorization === null || authorization.trim() === '') {
      throw unauthorized(
        `The request has no Authorization header; send a ${SAS_TOKEN_PREFIX} or ${BEARER_SCHEME} token.`,
      );
    }
    const text = authorization.trim();
    let principal: RequestPrincipal;
    if (hasScheme(text, SAS_TOKEN_PREFIX)) principal = await this.#fromSas(text, resourcePath);
    else if (hasScheme(text, BEARER_SCHEME))
      principal = await this.#fromBearer(text.slice(BEARER_SCHEME.length).trimStart());
    else
      throw unauthorized(
        `Unsupported Authorization scheme; use ${SAS_TOKEN_PREFIX} or ${BEARER_SCHEME}.`,
      );
    return principal;
  }

  /**
   * Checks that a caller may perform an action.
   *
   * @param principal - the caller, from {@link RequestAuthenticator.identify}
   * @param action - the data action
   * @throws a 401 IotHubUnauthorizedAccess HubError naming the permission needed
   */
  authorize(principal: RequestPrincipal, action: HubDataAction): void {
    if (principal.actions.has(action)) return;
    const what = principal.kind === 'policy' ? `Policy '${principal.name}'` : 'The bearer token';
    throw unauthorized(
      `${what} is not allowed to perform ${action} (${requiredPermission(action)} needed).`,
    );
  }

  async #fromSas(token: string, resourcePath: string): Promise<RequestPrincipal> {
    const nowInSeconds = Math.floor(Date.now() / 1000);
    const cached = this.#cache.get(token);
    if (cached !== undefined && cached.expiresOnInSeconds > nowInSeconds) {
      this.#checkScope(cached.audience, resourcePath);
      return cached.principal;
    }
    let parsed: ParsedSasToken;
    try {
      parsed = parseSasToken(token);
    } catch (error) {
      throw unauthorized(
        `Malformed ${SAS_TOKEN_PREFIX}: ${error instanceof Error ? error.message : 'unreadable'}.`,
      );
    }
    if (parsed.keyName === undefined) {
      throw unauthorized(
        'A device or module token cannot call the service API; use a shared access policy (skn).',
      );
    }
    const policy = this.#policies.get(parsed.keyName);
    if (policy === undefined)
      throw unauthorized(`Unknown shared access policy '${parsed.keyName}'.`);
    const keys =
      policy.secondaryKey === undefined
        ? [policy.primaryKey]
        : [policy.primaryKey, policy.secondaryKey];
    const verdict = await verifySasToken(parsed, keys, { nowInSeconds });
    if (!verdict.ok) {
      throw unauthorized(
        verdict.reason === 'expired'
          ? `The ${SAS_TOKEN_PREFIX} has expired; create a new token.`
          : verdict.reason === 'signature'
            ? `The ${SAS_TOKEN_PREFIX} signature does not match policy '${policy.keyName}'; check the key.`
            : verdict.message,
      );
    }
    this.#checkScope(parsed.resourceUri, resourcePath);
    const principal: RequestPrincipal = {
      kind: 'policy',
      name: policy.keyName,
      actions: actionsForPermissions(policy.rights),
    };
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(token, {
      principal,
      audience: parsed.resourceUri,
      expiresOnInSeconds: parsed.expiresOnInSeconds,
    });
    return principal;
  }

  #checkScope(audience: string, resourcePath: string): void {
    if (!scopeCovers(audience, this.#hostName, `${this.#hostName}${resourcePath}`)) {
      throw unauthorized(
        `The token's resource (sr) does not cover this hub (${this.#hostName}) and path.`,
      );
    }
  }

  async #fromBearer(jwt: string): Promise<RequestPrincipal> {
    if (this.#issuer === undefined) {
      throw unauthorized('Bearer tokens are not accepted: this hub has no tokenIssuer configured.');
    }
    let payload: Record<string, unknown>;
    try {
      const options: {
        audience: string[];
        algorithms: string[];
        requiredClaims: string[];
        issuer?: string;
      } = {
        audience: this.#issuer.audiences,
        algorithms: ['HS256'],
        // A token without `exp` would be valid forever; Entra ID tokens always carry one.
        requiredClaims: ['exp'],
      };
      if (this.#issuer.issuer !== undefined) options.issuer = this.#issuer.issuer;
      ({ payload } = await jwtVerify(jwt, this.#issuer.key, options));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw unauthorized('The bearer token has expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp')
        throw unauthorized('The bearer token has no valid expiry (exp); issue tokens that expire.');
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        throw unauthorized(
          `The bearer token was rejected: claim '${error.claim}' is not valid (${error.reason}).`,
        );
      }
      throw unauthorized('The bearer token was rejected: its signature or format is not valid.');
    }
    const roles = Array.isArray(payload.roles)
      ? payload.roles.filter((role): role is string => typeof role === 'string')
      : [];
    const actions = new Set<HubDataAction>();
    // A Map, not an object lookup: role names are data, and `__proto__` or `toString` must not
    // reach Object.prototype.
    for (const role of roles)
      for (const action of ROLE_ACTIONS.get(role) ?? []) actions.add(action);
    const name = typeof payload.sub === 'string' ? payload.sub : 'token';
    return { kind: 'token', name, actions };
  }
}

function requiredPermission(action: HubDataAction): string {
  switch (action) {
    case 'devices/read':
      return 'RegistryRead';
    case 'devices/write':
      return 'RegistryWrite';
    case 'twins/read':
    case 'twins/write':
      return 'ServiceConnect';
  }
}

/** Whether an Authorization value uses a scheme (case-insensitive, then whitespace). */
function hasScheme(value: string, scheme: string): boolean {
  return (
    value.slice(0, scheme.length).toLowerCase() === scheme.toLowerCase() &&
    /\s/.test(value.charAt(scheme.length))
  );
}

function unauthorized(text: string) {
  return hubFailure(401, 'IotHubUnauthorizedAccess', text);
}
