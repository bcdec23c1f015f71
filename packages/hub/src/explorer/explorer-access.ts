/**
 * Who may use the explorer. It can read every twin and key and change anything, so by default it
 * answers only a browser on the hub's own machine: the TCP peer must be a loopback address and
 * the `Host` header a loopback name (or the hub's host name), which stops DNS rebinding (a page
 * of evil.example whose name was re-pointed at 127.0.0.1 still sends `Host: evil.example`).
 * Started with a token, it answers any peer that shows the token instead: as a cookie set by
 * its login form, or as `Authorization: Bearer <token>`.
 *
 * Writes need the `x-twinkit-explorer` header, which a cross-site page cannot send without a
 * CORS preflight the explorer never grants, so a page elsewhere cannot drive it (CSRF).
 */
import { HEADER } from '@twinkit/twin-model/protocol';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** How the explorer is served; see docs/security.md. */
export interface ExplorerOptions {
  /** Serve the explorer at `/explorer`; default `true`. */
  enabled?: boolean;
  /**
   * A secret of at least 32 characters. Without it the explorer answers only loopback peers
   * that name a loopback host; with it, any peer that presents it (login form or
   * `Authorization: Bearer`).
   */
  token?: string;
}

/** The header every explorer write carries (its value is not checked, only its presence). */
export const EXPLORER_WRITE_HEADER = 'x-twinkit-explorer';

/** The session cookie the login form sets in token mode. */
export const EXPLORER_COOKIE = 'twinkit-explorer';

const MIN_TOKEN_LENGTH = 32;

/**
 * Validates explorer options.
 *
 * @param options - the options
 * @throws {@link RangeError} for a token shorter than 32 characters
 */
export function assertValidExplorerOptions(options: ExplorerOptions | undefined): void {
  const token = options?.token;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `The explorer token must have at least ${String(MIN_TOKEN_LENGTH)} characters (got ${String(token.length)}); generate one with: openssl rand -base64 33`,
    );
  }
}

/** Whether a socket's remote address is loopback (IPv4-mapped IPv6 included). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const bare = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** The host name of a `Host` header, without port or IPv6 brackets, lower-cased. */
function hostOf(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']'));
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

/** The explorer's gate: decides whether a request may reach it. @internal */
export class ExplorerGate {
  readonly #hostName: string;
  readonly #token: string | undefined;
  readonly #session: string | undefined;

  /**
   * @param hostName - the hub's host name (accepted in `Host` besides loopback names)
   * @param options - the token, if any
   */
  constructor(hostName: string, options: ExplorerOptions | undefined) {
    this.#hostName = hostName.toLowerCase();
    this.#token = options?.token;
    // The cookie holds a MAC of the token under a secret of this process, never the token itself.
    this.#session =
      this.#token === undefined
        ? undefined
        : createHmac('sha256', randomBytes(32)).update(this.#token).digest('base64url');
  }

  /** Whether the explorer needs a token (and so answers peers off loopback). */
  get tokenMode(): boolean {
    return this.#token !== undefined;
  }

  /**
   * Whether the request comes from a browser on this machine that names a loopback host.
   *
   * @param request - the request
   * @param remoteAddress - the TCP peer's address
   */
  isLocal(request: Request, remoteAddress: string | undefined): boolean {
    if (!isLoopbackAddress(remoteAddress)) return false;
    const host = hostOf(request.headers.get('host') ?? new URL(request.url).host);
    return (
      host === 'localhost' ||
      host === this.#hostName ||
      host === '::1' ||
      (isIP(host) === 4 && host.startsWith('127.'))
    );
  }

  /**
   * Whether the request presents the token (cookie or bearer). Always false without a token.
   *
   * @param request - the request
   */
  hasSession(request: Request): boolean {
    if (this.#token === undefined || this.#session === undefined) return false;
    const authorization = request.headers.get(HEADER.authorization) ?? '';
    if (authorization.startsWith('Bearer ') && sameText(authorization.slice(7), this.#token))
      return true;
    const cookie = readCookie(request.headers.get('cookie'), EXPLORER_COOKIE);
    return cookie !== undefined && sameText(cookie, this.#session);
  }

  /**
   * Checks a login attempt and returns the `Set-Cookie` value on success.
   *
   * @param token - what the user typed
   * @param secure - whether the page is served over HTTPS (the cookie is then `Secure`)
   * @returns the cookie to set, or undefined when the token is wrong
   */
  login(token: string, secure: boolean): string | undefined {
    if (this.#token === undefined || this.#session === undefined) return undefined;
    if (!sameText(token, this.#token)) return undefined;
    return `${EXPLORER_COOKIE}=${this.#session}; Path=/explorer; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index !== -1 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
