/**
 * The service REST API as a fetch handler (hono): twins, identities, queries and bulk
 * operations, each behind authentication and fault injection (protocol.md §6).
 */
import { Hono, type Context } from 'hono';
import { defaultHubErrorCode } from '@twinkit/twin-model/errors';
import type { RequestAuthenticator } from '../auth/authenticate-request.js';
import type { HubDataAction } from '../auth/policies.js';
import type { HubCore, HubEntry } from '../hub-core.js';
import {
  assertValidId,
  formatIdentityEtag,
  readIdentityRequest,
  toIdentityJson,
} from '../state/identity.js';
import { handleBulk } from './bulk.js';
import { corsMiddleware } from './cors.js';
import { errorResponse, jsonResponse, toErrorResponse } from './error-response.js';
import { hubFailure } from './hub-failure.js';
import { readJson } from './read-json.js';
import { handleQuery, type QueryPaging } from './query.js';

/** What the REST app needs from the hub. */
export interface RestAppOptions {
  core: HubCore;
  authenticator: RequestAuthenticator;
  paging: QueryPaging;
  /** Origins allowed to call the API from a web page; empty → no CORS headers at all. */
  corsOrigins: readonly string[];
}

type Handler = (request: Request, params: Record<string, string>) => Promise<Response>;

/**
 * Builds the REST fetch handler.
 *
 * @param options - core, authenticator, query paging settings
 * @returns `fetch(request)` answering like IoT Hub's service API
 * @internal
 */
export function createRestApp(options: RestAppOptions): (request: Request) => Promise<Response> {
  const { core, authenticator } = options;
  const app = new Hono({ strict: true });
  if (options.corsOrigins.length > 0) app.use(corsMiddleware(options.corsOrigins));

  const route =
    (
      operation: string,
      action: HubDataAction | ((request: Request) => Promise<HubDataAction>),
      handler: Handler,
    ) =>
    async (c: Context): Promise<Response> => {
      const request = c.req.raw;
      try {
        const path = decodePath(new URL(request.url).pathname);
        const needed = typeof action === 'function' ? await action(request.clone()) : action;
        await authenticator.authenticate(request.headers.get('authorization'), path, needed);
        const failure = await core.faults.apply(operation);
        if (failure !== undefined) {
          const headers: Record<string, string> = {};
          if (failure.retryAfterInSeconds !== undefined)
            headers['retry-after'] = String(failure.retryAfterInSeconds);
          return errorResponse(
            failure.statusCode,
            failure.code ?? defaultHubErrorCode(failure.statusCode),
            failure.message,
            headers,
          );
        }
        return await handler(request, c.req.param());
      } catch (error) {
        return toErrorResponse(error);
      }
    };

  app.get('/health', () =>
    jsonResponse(200, { status: 'ok', devices: core.deviceCount, modules: core.moduleCount }),
  );

  // ---- twins (§6.4)
  const getTwin: Handler = (_request, params) => {
    const entry = core.requireEntry(requireId(params.id, 'DeviceId'), optionalId(params.mid));
    return Promise.resolve(twinResponse(core, entry));
  };
  const writeTwin =
    (kind: 'update' | 'replace'): Handler =>
    async (request, params) => {
      const deviceId = requireId(params.id, 'DeviceId');
      const moduleId = optionalId(params.mid);
      const body = await readJson(request);
      const outcome = core.writeTwin({ deviceId, moduleId }, kind, body, {
        ifMatch: request.headers.get('if-match') ?? undefined,
        apiVersion: new URL(request.url).searchParams.get('api-version') ?? undefined,
      });
      await outcome.committed;
      return twinResponse(core, outcome.entry);
    };
  for (const path of ['/twins/:id', '/twins/:id/modules/:mid']) {
    app.get(path, route('getTwin', 'twins/read', getTwin));
    app.patch(path, route('updateTwin', 'twins/write', writeTwin('update')));
    app.put(path, route('replaceTwin', 'twins/write', writeTwin('replace')));
  }

  // ---- query (§6.6)
  app.post(
    '/devices/query',
    route('query', 'twins/read', (request) => handleQuery(core, request, options.paging)),
  );

  // ---- identities (§6.7)
  const listDevices: Handler = (request) => {
    const top = new URL(request.url).searchParams.get('top');
    const limit = top === null ? Number.POSITIVE_INFINITY : Number(top);
    if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) {
      throw hubFailure(400, 'ArgumentInvalid', `top must be an integer, got '${top ?? ''}'.`);
    }
    const list: unknown[] = [];
    for (const entry of core.deviceEntries()) {
      if (list.length >= limit) break;
      list.push(toIdentityJson(entry.identity));
    }
    return Promise.resolve(jsonResponse(200, list));
  };
  app.get('/devices', route('device', 'devices/read', listDevices));
  app.get('/devices/', route('device', 'devices/read', listDevices));

  const bulkAction = async (request: Request): Promise<HubDataAction> => {
    // Twin-only batches need ServiceConnect; anything touching identities needs RegistryWrite.
    try {
      const items: unknown = await request.json();
      if (Array.isArray(items) && items.length > 0 && items.every(isTwinImport))
        return 'twins/write';
    } catch {
      // The handler reports malformed JSON after authentication.
    }
    return 'devices/write';
  };
  const bulk: Handler = async (request) => handleBulk(core, await readJson(request));
  app.post('/devices', route('bulk', bulkAction, bulk));
  app.post('/devices/', route('bulk', bulkAction, bulk));

  const getIdentity: Handler = (_request, params) => {
    const entry = core.requireEntry(requireId(params.id, 'DeviceId'), optionalId(params.mid));
    return Promise.resolve(identityResponse(entry));
  };
  const putIdentity: Handler = async (request, params) => {
    const deviceId = requireId(params.id, 'DeviceId');
    const moduleId = optionalId(params.mid);
    const body = await readJson(request);
    const identity = readIdentityRequest(body);
    checkBodyIds(body, deviceId, moduleId);
    const ifMatch = request.headers.get('if-match') ?? undefined;
    // No If-Match creates (409 when it exists); any If-Match updates (protocol.md §6.5, §6.7).
    const outcome =
      ifMatch === undefined
        ? core.createIdentity({ deviceId, moduleId }, identity)
        : core.updateIdentity({ deviceId, moduleId }, identity, ifMatch);
    await outcome.committed;
    return identityResponse(outcome.entry);
  };
  const deleteIdentity: Handler = async (request, params) => {
    const deviceId = requireId(params.id, 'DeviceId');
    await core.deleteIdentity(
      { deviceId, moduleId: optionalId(params.mid) },
      request.headers.get('if-match') ?? undefined,
    );
    return new Response(null, { status: 204 });
  };
  const listModules: Handler = (_request, params) => {
    const modules = core.modulesOf(requireId(params.id, 'DeviceId'));
    return Promise.resolve(
      jsonResponse(
        200,
        modules.map((entry) => toIdentityJson(entry.identity)),
      ),
    );
  };
  for (const path of ['/devices/:id', '/devices/:id/modules/:mid']) {
    app.get(path, route('device', 'devices/read', getIdentity));
    app.put(path, route('device', 'devices/write', putIdentity));
    app.delete(path, route('device', 'devices/write', deleteIdentity));
  }
  app.get('/devices/:id/modules', route('device', 'devices/read', listModules));

  app.notFound((c) =>
    errorResponse(
      404,
      'NotFound',
      `The hub has no ${c.req.method} ${new URL(c.req.url).pathname} endpoint.`,
    ),
  );
  app.onError((error) => toErrorResponse(error));

  return async (request: Request) => app.fetch(request);
}

function twinResponse(core: HubCore, entry: HubEntry): Response {
  const document = core.serviceDocument(entry);
  const etag = typeof document.etag === 'string' ? document.etag : '';
  return jsonResponse(200, document, { etag: `"${etag}"` });
}

function identityResponse(entry: HubEntry): Response {
  return jsonResponse(200, toIdentityJson(entry.identity), {
    etag: `"${formatIdentityEtag(entry.identity.etagNumber)}"`,
  });
}

function decodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join('/');
}

function requireId(value: string | undefined, what: 'DeviceId' | 'ModuleId'): string {
  const id = value ?? '';
  assertValidId(id, what);
  return id;
}

function optionalId(value: string | undefined): string | undefined {
  return value === undefined ? undefined : requireId(value, 'ModuleId');
}

function checkBodyIds(body: unknown, deviceId: string, moduleId: string | undefined): void {
  const record = body as Record<string, unknown>;
  if (typeof record.deviceId === 'string' && record.deviceId !== deviceId) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `The deviceId in the body ('${record.deviceId}') does not match the URL ('${deviceId}').`,
    );
  }
  if (
    moduleId !== undefined &&
    typeof record.moduleId === 'string' &&
    record.moduleId !== moduleId
  ) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `The moduleId in the body ('${record.moduleId}') does not match the URL ('${moduleId}').`,
    );
  }
}

function isTwinImport(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const mode = (item as Record<string, unknown>).importMode;
  return typeof mode === 'string' && /^updatetwin(ifmatchetag)?$/i.test(mode);
}
