/**
 * Who a device-side credential proves the peer to be, and exactly what it reaches. Every device
 * endpoint (MQTT CONNECT, AMQP SASL PLAIN and CBS put-token, and their WebSocket forms) hands its
 * credential here, so the rules cannot drift between protocols:
 *
 * - A SAS token signed with a **device's** key reaches that device only: not another device, not
 *   the device's modules ("use the individual device credentials to scope access to that device
 *   only", https://learn.microsoft.com/azure/iot-hub/iot-hub-dev-guide-sas, "Access control and
 *   permissions"; the Node SDK signs `<host>/devices/<id>` with the device key,
 *   Azure/azure-iot-sdk-node `device/core/src/sak_authentication_provider.ts`).
 * - A SAS token signed with a **module's** key reaches that module only (the module identity has
 *   its own keys; `<host>/devices/<id>/modules/<mid>`, same SDK file).
 * - A token signed with a **shared access policy** that has `DeviceConnect` reaches every device and
 *   module its `sr` covers: `sr` is the "URI prefix (by segment) of the endpoints that can be
 *   accessed with this token" (same dev guide, "Security token structure"), so `<host>` reaches
 *   every identity and `<host>/devices/d1` reaches d1 and its modules.
 * - An **X.509** certificate reaches the one self-signed identity whose registered thumbprint it
 *   matches.
 *
 * Device and module ids are case-sensitive (IoT Hub device identity properties: "A case-sensitive
 * string", https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-identity-registry); only the
 * host name is compared case-insensitively. A disabled device (and every module of it) reaches
 * nothing.
 */
import { parseSasToken, verifySasToken, type ParsedSasToken } from '@twinkit/twin-model/protocol';
import { sameIdentity, type DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import { scopeCovers } from '../auth/scope-covers.js';
import type { HubCore } from '../hub-core.js';
import { signingKeys } from '../state/identity.js';

/** What a verified credential reaches. */
export type CredentialReach =
  | {
      /** A device or module key, or an X.509 certificate: exactly this identity. */
      readonly kind: 'identity';
      readonly identity: DeviceIdentity;
    }
  | {
      /** A shared access policy with DeviceConnect: every identity its scope covers. */
      readonly kind: 'policy';
      readonly policyName: string;
      /** The token's decoded `sr` (`<host>[/devices/<id>[/modules/<mid>]]`). */
      readonly scope: string;
    };

/** A verified credential of one connection. */
export interface Grant {
  readonly reach: CredentialReach;
  /** When it stops being valid (SAS `se`), in ms since the epoch; `undefined` for certificates. */
  readonly expiresAtMs: number | undefined;
  /** The token text (a fault may refuse it from then on); never logged. */
  readonly token: string | undefined;
}

/**
 * Why a credential was refused:
 * - `unknown-identity`: no such device or module.
 * - `disabled`: the device exists but is disabled.
 * - `bad-credentials`: wrong signature, wrong scope, malformed token, no matching thumbprint.
 * - `expired`: the token's `se` has passed (or a fault expired it).
 * - `no-credentials`: neither a token nor a client certificate was offered.
 */
export type AuthenticationFailureReason =
  'unknown-identity' | 'disabled' | 'bad-credentials' | 'expired' | 'no-credentials';

/** Outcome of an authentication. Messages never contain keys or tokens. */
export type AuthenticationResult =
  | { readonly ok: true; readonly grant: Grant }
  | {
      readonly ok: false;
      readonly reason: AuthenticationFailureReason;
      readonly message: string;
    };

/** The X.509 client certificate a TLS (or WSS) connection presented, as thumbprints. */
export interface ClientCertificate {
  /** SHA-1 of the DER bytes, 40 upper-case hex digits (IoT Hub's classic thumbprint). */
  readonly sha1Thumbprint: string;
  /** SHA-256 of the DER bytes, 64 upper-case hex digits. */
  readonly sha256Thumbprint: string;
}

/** What a peer offered to prove who it is. */
export interface DeviceCredential {
  /** A `SharedAccessSignature …` token. */
  readonly sasToken?: string | undefined;
  /** The TLS client certificate. */
  readonly clientCertificate?: ClientCertificate | undefined;
  /**
   * The identity the peer claims (MQTT's client id). Without one (AMQP CBS), the token's `sr`
   * names it, or a policy's scope covers many.
   */
  readonly claimed?: DeviceIdentity | undefined;
  /**
   * The resource the peer says the token is for (AMQP put-token `name`); it must name the
   * token's `sr`. MQTT has none.
   */
  readonly audience?: string | undefined;
}

function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function pathAfterHost(resource: string): string {
  const slash = resource.indexOf('/');
  return slash === -1 ? '' : resource.slice(slash).replace(/\/+$/, '');
}

/**
 * Whether a put-token audience names the same resource as the token's `sr`. Both are
 * percent-decoded; only the part after the host counts, because C# with `GatewayHostName` names
 * the gateway host in the audience but the hub host in `sr` (docs/internals/wire-contract.md#amqp-cbs). Ids are compared
 * exactly (case-sensitive).
 *
 * @param audience - the `name` application property
 * @param resourceUri - the token's decoded `sr`
 * @returns whether they agree
 */
export function audienceMatches(audience: string, resourceUri: string): boolean {
  return pathAfterHost(decodeOnce(audience)) === pathAfterHost(resourceUri);
}

function describe(identity: DeviceIdentity): string {
  return identity.moduleId === undefined
    ? `Device '${identity.deviceId}'`
    : `Module '${identity.deviceId}/${identity.moduleId}'`;
}

function fail(reason: AuthenticationFailureReason, message: string): AuthenticationResult {
  return { ok: false, reason, message };
}

/**
 * The resource of an identity as a token's `sr` names it, for scope checks.
 *
 * @param hostName - the hub host name
 * @param identity - the device or module
 * @returns `<host>/devices/<id>[/modules/<mid>]`
 */
export function identityResource(hostName: string, identity: DeviceIdentity): string {
  const module = identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`;
  return `${hostName}/devices/${identity.deviceId}${module}`;
}

/**
 * The identity a token's decoded `sr` names exactly: `<host>/devices/<id>[/modules/<mid>]`.
 *
 * @param resourceUri - the decoded `sr`
 * @returns the identity, or `undefined` for a hub- or `/devices`-wide scope
 */
export function identityOfResource(resourceUri: string): DeviceIdentity | undefined {
  const segments = resourceUri.replace(/\/+$/, '').split('/');
  const [, devices, deviceId, modules, moduleId] = segments;
  if (devices !== 'devices' || deviceId === undefined || deviceId === '') return undefined;
  if (segments.length === 3) return { deviceId };
  if (segments.length === 5 && modules === 'modules' && moduleId !== undefined && moduleId !== '')
    return { deviceId, moduleId };
  return undefined;
}

/**
 * Tells whether a grant reaches an identity now (ids case-sensitive; see the file comment).
 *
 * @param grant - the grant
 * @param hostName - the hub host name
 * @param identity - the device or module to act as
 * @param nowMs - the current time
 * @returns whether the grant lets the peer act as that identity
 */
export function grantReaches(
  grant: Grant,
  hostName: string,
  identity: DeviceIdentity,
  nowMs: number,
): boolean {
  if (grant.expiresAtMs !== undefined && grant.expiresAtMs <= nowMs) return false;
  if (grant.reach.kind === 'identity') return sameIdentity(grant.reach.identity, identity);
  return scopeCovers(grant.reach.scope, hostName, identityResource(hostName, identity));
}

/**
 * Refuses an identity that does not exist or whose device is disabled (a module of a disabled
 * device is refused too).
 *
 * @param hub - the hub core
 * @param identity - the device or module
 * @returns a failure, or `undefined` when the identity may connect
 */
export function checkIdentityUsable(
  hub: HubCore,
  identity: DeviceIdentity,
): AuthenticationResult | undefined {
  const who = describe(identity);
  if (hub.getEntry(identity.deviceId, identity.moduleId) === undefined)
    return fail('unknown-identity', `${who} is not registered.`);
  if (hub.getEntry(identity.deviceId)?.identity.status === 'disabled')
    return fail('disabled', `${who} is disabled.`);
  return undefined;
}

function normalizeThumbprint(value: string | null | undefined): string {
  return (value ?? '').replaceAll(':', '').trim().toUpperCase();
}

function authenticateCertificate(
  hub: HubCore,
  identity: DeviceIdentity,
  certificate: ClientCertificate,
): AuthenticationResult {
  const unusable = checkIdentityUsable(hub, identity);
  if (unusable !== undefined) return unusable;
  const entry = hub.getEntry(identity.deviceId, identity.moduleId);
  const who = describe(identity);
  const { type, x509Thumbprint } = entry?.identity.authentication ?? {};
  if (type !== 'selfSigned' || x509Thumbprint === undefined) {
    // CA-signed identities would need the hub to hold verified CA certificates, which it does not.
    return fail(
      'bad-credentials',
      `${who} uses authentication type '${String(type)}'; only 'selfSigned' identities can connect with a certificate.`,
    );
  }
  const presented = [certificate.sha1Thumbprint, certificate.sha256Thumbprint];
  const registered = [x509Thumbprint.primaryThumbprint, x509Thumbprint.secondaryThumbprint]
    .map(normalizeThumbprint)
    .filter((value) => value !== '');
  if (!registered.some((value) => presented.includes(value))) {
    return fail(
      'bad-credentials',
      `The client certificate does not match the thumbprints of ${who.toLowerCase()}.`,
    );
  }
  return {
    ok: true,
    grant: { reach: { kind: 'identity', identity }, expiresAtMs: undefined, token: undefined },
  };
}

function hostOf(resourceUri: string): string {
  const slash = resourceUri.indexOf('/');
  return (slash === -1 ? resourceUri : resourceUri.slice(0, slash)).replace(/:\d+$/, '');
}

/** The keys that may have signed a token, and what the token then reaches. */
function signerOf(
  hub: HubCore,
  parsed: ParsedSasToken,
  claimed: DeviceIdentity | undefined,
): { keys: string[]; reach: CredentialReach } | AuthenticationResult {
  if (parsed.keyName !== undefined) {
    const policy = hub.policies.find((candidate) => candidate.keyName === parsed.keyName);
    if (policy === undefined) return fail('bad-credentials', `Unknown policy '${parsed.keyName}'.`);
    if (!policy.rights.includes('DeviceConnect'))
      return fail('bad-credentials', `Policy '${policy.keyName}' lacks DeviceConnect.`);
    const keys = [policy.primaryKey, policy.secondaryKey].filter(
      (key): key is string => key !== undefined && key !== '',
    );
    return {
      keys,
      reach: { kind: 'policy', policyName: policy.keyName, scope: parsed.resourceUri },
    };
  }
  // A key of one identity: the claimed one (MQTT), or the one the token's sr names (CBS).
  const identity = claimed ?? identityOfResource(parsed.resourceUri);
  if (identity === undefined) {
    return fail(
      'bad-credentials',
      'A token for a whole hub must be signed with a shared access policy (skn).',
    );
  }
  // The key is the identity's, and the token must still be scoped to it (docs/internals/wire-contract.md#sas-resource-uris).
  if (!scopeCovers(parsed.resourceUri, hub.hostName, identityResource(hub.hostName, identity))) {
    return fail(
      'bad-credentials',
      `The token's resource does not cover ${describe(identity).toLowerCase()}.`,
    );
  }
  const unusable = checkIdentityUsable(hub, identity);
  if (unusable !== undefined) return unusable;
  const entry = hub.getEntry(identity.deviceId, identity.moduleId);
  const keys = entry === undefined ? [] : signingKeys(entry.identity);
  if (keys.length === 0) {
    return fail(
      'bad-credentials',
      `${describe(identity)} does not use symmetric keys (authentication type ${String(entry?.identity.authentication.type)}).`,
    );
  }
  return { keys, reach: { kind: 'identity', identity } };
}

async function authenticateToken(
  hub: HubCore,
  token: string,
  credential: DeviceCredential,
  nowMs: number,
): Promise<AuthenticationResult> {
  const { claimed, audience } = credential;
  let parsed: ParsedSasToken;
  try {
    parsed = parseSasToken(token);
  } catch (error) {
    return fail('bad-credentials', error instanceof Error ? error.message : 'Malformed SAS token.');
  }
  if (audience !== undefined && !audienceMatches(audience, parsed.resourceUri))
    return fail('bad-credentials', "The audience does not match the token's resource.");
  if (hostOf(parsed.resourceUri).toLowerCase() !== hub.hostName.toLowerCase())
    return fail('bad-credentials', `The token is not for hub '${hub.hostName}'.`);
  const signer = signerOf(hub, parsed, claimed);
  if ('ok' in signer) return signer;
  const verdict = await verifySasToken(parsed, signer.keys, {
    nowInSeconds: Math.floor(nowMs / 1000),
  });
  if (!verdict.ok)
    return fail(verdict.reason === 'expired' ? 'expired' : 'bad-credentials', verdict.message);
  const grant: Grant = {
    reach: signer.reach,
    expiresAtMs: parsed.expiresOnInSeconds * 1000,
    token,
  };
  if (claimed !== undefined) {
    if (!grantReaches(grant, hub.hostName, claimed, nowMs))
      return fail(
        'bad-credentials',
        `The token's resource does not cover ${describe(claimed).toLowerCase()}.`,
      );
    const unusable = checkIdentityUsable(hub, claimed);
    if (unusable !== undefined) return unusable;
  }
  return { ok: true, grant };
}

/**
 * Verifies a device-side credential: a SAS token (device, module or policy key) or a client
 * certificate, for the identity it claims or, without a claim, for what its `sr` names.
 *
 * @param hub - the hub core (identities, policies, host name)
 * @param credential - what the peer offered
 * @param nowMs - the current time
 * @returns the grant, or why the credential was refused
 */
export async function authenticateCredential(
  hub: HubCore,
  credential: DeviceCredential,
  nowMs: number,
): Promise<AuthenticationResult> {
  const { sasToken, clientCertificate, claimed } = credential;
  if (sasToken !== undefined) return authenticateToken(hub, sasToken, credential, nowMs);
  if (clientCertificate !== undefined && claimed !== undefined)
    return authenticateCertificate(hub, claimed, clientCertificate);
  return fail(
    'no-credentials',
    'The connection offered neither a SAS token nor a client certificate.',
  );
}
