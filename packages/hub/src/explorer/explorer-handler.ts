/**
 * The explorer at `/explorer` on the hub's HTTPS port: its gate (explorer-access.ts), its page
 * and scripts, its live stream and its API. `listen()` routes every `/explorer` request here
 * with the TCP peer's address; `hub.fetch` never serves it, since it has no peer to check.
 */
import { HEADER } from '@twinkit/twin-model/protocol';
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
 * Whether a request URL (absolute, as the Node adapter builds it) is under `/explorer`. Every
 * request of the HTTPS port asks, so it reads the string instead of parsing a URL.
 *
 * @param url - the request's absolute URL
 */
export function isExplorerUrl(url: string): boolean {
  const scheme = url.indexOf('//');
  const path = url.indexOf('/', scheme === -1 ? 0 : scheme + 2);
  if (path === -1 || !url.startsWith(EXPLORER_PATH, path)) return false;
  const next = url.charAt(path + EXPLORER_PATH.length);
  return next === '' || next === '/' || next === '?' || next === '#';
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
    } else if (path.startsWith(`${EXPLORER_PATH}/api/`)) {
      const refusal = refuseCrossSiteRead(request, url);
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
      // Answers passed on from the REST app may carry its --cors headers; the explorer's never do.
      for (const header of [...response.headers.keys()])
        if (header.startsWith('access-control-')) response.headers.delete(header);
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

/**
 * Refuses an API read that another site's page asked for: the browser says so in
 * `Sec-Fetch-Site` (or sends a foreign `Origin`). Such a page could not read the answer anyway
 * (the explorer grants no CORS), but it is not even computed.
 */
function refuseCrossSiteRead(request: Request, url: URL): Response | undefined {
  const site = request.headers.get('sec-fetch-site');
  const origin = request.headers.get('origin');
  if (
    (site !== null && site !== 'same-origin' && site !== 'none') ||
    (origin !== null && origin !== sameOrigin(request, url))
  )
    return text(403, 'The explorer answers its own page only.');
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
  return new Response(asset.body, { status, headers: { [HEADER.contentType]: asset.contentType } });
}

function text(status: number, message: string): Response {
  return new Response(message, {
    status,
    headers: { [HEADER.contentType]: 'text/plain; charset=utf-8' },
  });
}
