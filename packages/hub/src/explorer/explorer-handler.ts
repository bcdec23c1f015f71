/**
 * The explorer at `/explorer` on the hub's HTTPS port: its gate (explorer-access.ts), its page
 * and scripts, its live stream and its API. `listen()` routes every `/explorer` request here
 * with the TCP peer's address; `hub.fetch` never serves it, since it has no peer to check.
 */
import { hubInternals, type Hub } from '../hub.js';
import {
  EXPLORER_WRITE_HEADER,
  ExplorerGate,
  assertValidExplorerOptions,
  type ExplorerOptions,
} from './explorer-access.js';
import { createExplorerApi } from './explorer-api.js';
import { explorerAssets } from './explorer-assets.js';
import { ExplorerStreams } from './explorer-events.js';

/** The path the explorer is served under. */
export const EXPLORER_PATH = '/explorer';

/** The explorer's request handler. @internal */
export interface ExplorerHandler {
  /**
   * Answers one request under `/explorer`.
   *
   * @param request - the request
   * @param remoteAddress - the TCP peer's address (loopback checks use it)
   */
  fetch(request: Request, remoteAddress: string | undefined): Promise<Response>;
  /** Ends the live streams. */
  close(): void;
}

/**
 * Whether a path belongs to the explorer.
 *
 * @param pathname - a URL path
 */
export function isExplorerPath(pathname: string): boolean {
  return pathname === EXPLORER_PATH || pathname.startsWith(`${EXPLORER_PATH}/`);
}

// The page loads only its own files and talks only to its own origin; no other site may frame it.
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** Files the login page needs before a session exists. */
const PUBLIC_ASSETS = new Set(['login.html', 'explorer.css']);

/**
 * Builds the explorer of a hub.
 *
 * @param hub - a hub from `createHub()`
 * @param options - the token, if the explorer should answer peers off loopback
 * @returns the handler
 * @throws {@link RangeError} for a token shorter than 32 characters
 * @internal
 */
export function createExplorerHandler(hub: Hub, options?: ExplorerOptions): ExplorerHandler {
  assertValidExplorerOptions(options);
  const { core, timeline } = hubInternals(hub);
  const gate = new ExplorerGate(hub.hostName, options);
  const streams = new ExplorerStreams(core.changes, timeline);
  const api = createExplorerApi(hub, timeline);

  const answer = async (request: Request, remoteAddress: string | undefined) => {
    const url = new URL(request.url);
    const path = url.pathname === EXPLORER_PATH ? `${EXPLORER_PATH}/` : url.pathname;
    const name = path.slice(EXPLORER_PATH.length + 1) || 'index.html';
    const allowed = gate.isLocal(request, remoteAddress) || gate.hasSession(request);
    if (!allowed) {
      if (!gate.tokenMode) {
        return text(
          403,
          'The explorer answers only on loopback: open it from this machine as https://localhost:<port>/explorer. To reach it from elsewhere, start the hub with an explorer token (docs/security.md).',
        );
      }
      if (path === `${EXPLORER_PATH}/login` && request.method === 'POST')
        return login(gate, request, url);
      if (request.method === 'GET' && !path.startsWith(`${EXPLORER_PATH}/api/`)) {
        const asset = explorerAssets().get(PUBLIC_ASSETS.has(name) ? name : 'login.html');
        if (asset !== undefined) return file(asset, name === 'explorer.css' ? 200 : 401);
      }
      return Response.json({ message: 'Sign in to the explorer first.' }, { status: 401 });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const refusal = refuseCrossSite(request, url);
      if (refusal !== undefined) return refusal;
    }
    if (path === `${EXPLORER_PATH}/api/events` && request.method === 'GET') return streams.open();
    if (path.startsWith(`${EXPLORER_PATH}/api/`)) return api(request);
    const asset = explorerAssets().get(name);
    if (asset === undefined || request.method !== 'GET')
      return text(404, `The explorer has no ${name}.`);
    return file(asset, 200);
  };

  return {
    fetch: async (request, remoteAddress) => {
      const response = await answer(request, remoteAddress);
      for (const [header, value] of Object.entries(SECURITY_HEADERS))
        response.headers.set(header, value);
      if (!response.headers.has('cache-control')) response.headers.set('cache-control', 'no-store');
      return response;
    },
    close: () => {
      streams.close();
    },
  };
}

/**
 * Refuses a write that a page of another site could have sent: without the explorer's header
 * (a cross-site page cannot add one without a preflight the explorer never answers), or with
 * an `Origin` that is not the explorer's.
 */
function refuseCrossSite(request: Request, url: URL): Response | undefined {
  if (request.headers.get(EXPLORER_WRITE_HEADER) === null)
    return text(403, `Explorer writes need the ${EXPLORER_WRITE_HEADER} header.`);
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== sameOrigin(request, url))
    return text(403, `Explorer writes from ${origin} are refused (not the explorer's origin).`);
  return undefined;
}

function sameOrigin(request: Request, url: URL): string {
  return `${url.protocol}//${request.headers.get('host') ?? url.host}`;
}

async function login(gate: ExplorerGate, request: Request, url: URL): Promise<Response> {
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== sameOrigin(request, url))
    return text(403, 'Sign in from the explorer page itself.');
  let token = '';
  try {
    const body = await request.text();
    if (body.length <= 4096) token = new URLSearchParams(body).get('token') ?? '';
  } catch {
    // An unreadable body is a wrong token.
  }
  const cookie = gate.login(token, url.protocol === 'https:');
  if (cookie === undefined) {
    const page = explorerAssets().get('login.html');
    return page === undefined ? text(401, 'Wrong token.') : file(page, 401);
  }
  return new Response(null, {
    status: 303,
    headers: { location: `${EXPLORER_PATH}/`, 'set-cookie': cookie },
  });
}

function file(asset: { contentType: string; body: Uint8Array }, status: number): Response {
  return new Response(asset.body, { status, headers: { 'content-type': asset.contentType } });
}

function text(status: number, message: string): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}
