/**
 * Claims-based security for the AMQP endpoint (protocol.md §5.2): reading a put-token request,
 * checking the token, and the per-connection grants that decide which twin links may attach.
 * Socket-free, so the rules can be tested on their own.
 */
import {
  CBS_PROPERTY,
  CBS_PUT_TOKEN_OPERATION,
  KnownCbsTokenType,
  parseSasToken,
  verifySasToken,
  type ParsedSasToken,
} from '@twinkit/twin-model/protocol';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import { scopeCovers, type HubCore } from '../hub-core.js';

/** A put-token request taken apart. */
export interface PutTokenRequest {
  /** The `SharedAccessSignature …` text (never logged). */
  token: string;
  /** The `name` application property, as sent (Node sends it URL-encoded, C raw). */
  audience: string;
}

/** A CBS answer: `status-code` (an AMQP int) and `status-description`. */
export interface CbsStatus {
  statusCode: number;
  description: string;
}

/** A verified token: what it covers and until when. */
export interface CbsGrant {
  /** The token's decoded `sr`, lower-cased: the scope twin links are checked against (§3.3). */
  resource: string;
  /** The token's `se` in milliseconds since the epoch. */
  expiresAtMs: number;
  /** The token text, so a fault can refuse it later. */
  token: string;
  /** The identity the token was signed for, when its `sr` names one. */
  identity?: DeviceIdentity | undefined;
}

const TOKEN_TYPES: ReadonlySet<string> = new Set(Object.values(KnownCbsTokenType));

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  // A data-section body (rhea Section): `content` holds the bytes.
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const content = value.content;
    if (content instanceof Uint8Array) return Buffer.from(content).toString('utf8');
  }
  return undefined;
}

/**
 * Reads a put-token request from a message sent to `$cbs`.
 *
 * @param applicationProperties - the message's application properties
 * @param body - the message body (an amqp-value string; a data section is accepted too)
 * @returns the request, or the 400 to answer with
 */
export function readPutToken(
  applicationProperties: Record<string, unknown> | undefined,
  body: unknown,
): { ok: true; request: PutTokenRequest } | ({ ok: false } & CbsStatus) {
  const properties = applicationProperties ?? {};
  const operation = properties[CBS_PROPERTY.operation];
  if (operation !== CBS_PUT_TOKEN_OPERATION) {
    return {
      ok: false,
      statusCode: 400,
      description: `Unsupported CBS operation '${String(operation)}'.`,
    };
  }
  const type = properties[CBS_PROPERTY.type];
  if (typeof type !== 'string' || !TOKEN_TYPES.has(type)) {
    return { ok: false, statusCode: 400, description: `Unsupported token type '${String(type)}'.` };
  }
  const audience = properties[CBS_PROPERTY.name];
  if (typeof audience !== 'string' || audience === '') {
    return {
      ok: false,
      statusCode: 400,
      description: 'The put-token request has no audience (name).',
    };
  }
  const token = textOf(body);
  if (token === undefined || token.trim() === '') {
    return {
      ok: false,
      statusCode: 400,
      description: 'The put-token request has no token in its body.',
    };
  }
  return { ok: true, request: { token: token.trim(), audience } };
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
 * percent-decoded and compared case-insensitively; only the part after the host counts, because
 * C# with `GatewayHostName` names the gateway host in the audience but the hub host in `sr` (§5.2).
 *
 * @param audience - the `name` application property
 * @param resourceUri - the token's decoded `sr`
 * @returns whether they agree
 */
export function audienceMatches(audience: string, resourceUri: string): boolean {
  return (
    pathAfterHost(decodeOnce(audience)).toLowerCase() === pathAfterHost(resourceUri).toLowerCase()
  );
}

/**
 * The identity a token's decoded `sr` names: `<host>/devices/<id>[/modules/<mid>]`.
 *
 * @param resourceUri - the decoded `sr`
 * @returns the identity, or `undefined` for a hub- or `/devices`-wide scope
 */
export function identityOfResource(resourceUri: string): DeviceIdentity | undefined {
  const segments = resourceUri.replace(/\/+$/, '').split('/');
  if (segments[1] !== 'devices') return undefined;
  const deviceId = segments[2];
  if (deviceId === undefined || deviceId === '') return undefined;
  if (segments.length === 3) return { deviceId };
  const moduleId = segments[4];
  if (
    segments.length === 5 &&
    segments[3] === 'modules' &&
    moduleId !== undefined &&
    moduleId !== ''
  ) {
    return { deviceId, moduleId };
  }
  return undefined;
}

/**
 * Checks a put-token: the audience agrees with the token, and the token is signed by the
 * identity's key (or by a policy with DeviceConnect), unexpired, for this hub.
 *
 * @param core - the hub core
 * @param request - the put-token request
 * @param refusedTokens - tokens a fault expired early; refused whatever their `se` says
 * @returns the grant, or the 401 to answer with (descriptions never contain the token)
 */
export async function verifyPutToken(
  core: HubCore,
  request: PutTokenRequest,
  refusedTokens: ReadonlySet<string>,
): Promise<{ ok: true; grant: CbsGrant } | ({ ok: false } & CbsStatus)> {
  let parsed: ParsedSasToken;
  try {
    parsed = parseSasToken(request.token);
  } catch {
    return {
      ok: false,
      statusCode: 401,
      description: 'Unauthorized: the token is not a SharedAccessSignature.',
    };
  }
  if (refusedTokens.has(request.token)) {
    return { ok: false, statusCode: 401, description: 'Unauthorized: the token has expired.' };
  }
  if (!audienceMatches(request.audience, parsed.resourceUri)) {
    return {
      ok: false,
      statusCode: 401,
      description: "Unauthorized: the audience does not match the token's resource.",
    };
  }
  if (!hostMatches(parsed.resourceUri, core.hostName)) {
    return {
      ok: false,
      statusCode: 401,
      description: `Unauthorized: the token is not for hub '${core.hostName}'.`,
    };
  }
  const identity = identityOfResource(parsed.resourceUri);
  if (identity !== undefined) {
    const result = await core.authenticateDevice(request.token, identity);
    if (!result.ok)
      return { ok: false, statusCode: 401, description: `Unauthorized: ${result.message}` };
    return {
      ok: true,
      grant: {
        resource: parsed.resourceUri.toLowerCase(),
        expiresAtMs: parsed.expiresOnInSeconds * 1000,
        token: request.token,
        identity,
      },
    };
  }
  // A hub- or /devices-wide scope is only possible with a policy that may connect devices.
  const policy =
    parsed.keyName === undefined
      ? undefined
      : core.policies.find((candidate) => candidate.keyName === parsed.keyName);
  if (policy === undefined) {
    return {
      ok: false,
      statusCode: 401,
      description:
        'Unauthorized: a token for a whole hub must be signed with a shared access policy.',
    };
  }
  if (!policy.rights.includes('DeviceConnect')) {
    return {
      ok: false,
      statusCode: 401,
      description: `Unauthorized: policy '${policy.keyName}' lacks DeviceConnect.`,
    };
  }
  const keys = [
    policy.primaryKey,
    ...(policy.secondaryKey === undefined ? [] : [policy.secondaryKey]),
  ];
  const verdict = await verifySasToken(parsed, keys, {
    nowInSeconds: Math.floor(Date.now() / 1000),
  });
  if (!verdict.ok)
    return { ok: false, statusCode: 401, description: `Unauthorized: ${verdict.message}` };
  return {
    ok: true,
    grant: {
      resource: parsed.resourceUri.toLowerCase(),
      expiresAtMs: parsed.expiresOnInSeconds * 1000,
      token: request.token,
    },
  };
}

function hostMatches(resourceUri: string, hostName: string): boolean {
  const slash = resourceUri.indexOf('/');
  const host = (slash === -1 ? resourceUri : resourceUri.slice(0, slash)).replace(/:\d+$/, '');
  return host.toLowerCase() === hostName.toLowerCase();
}

/**
 * Whether a grant lets an identity's twin links attach: the token's scope is a segment prefix of
 * the identity's resource (host and ids compared case-insensitively, §3.3) and it has not expired.
 *
 * @param grant - the grant
 * @param hostName - the hub host name
 * @param identity - the identity of the link
 * @param nowMs - the current time
 * @returns whether it is covered
 */
export function grantCovers(
  grant: CbsGrant,
  hostName: string,
  identity: DeviceIdentity,
  nowMs: number,
): boolean {
  if (grant.expiresAtMs <= nowMs) return false;
  const host = hostName.toLowerCase();
  const resource = `${host}/devices/${identity.deviceId}${identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`}`;
  return scopeCovers(grant.resource, host, resource.toLowerCase());
}
