/**
 * The service REST API as a fetch handler (hono): twins, identities, queries and bulk
 * operations, each behind authentication and fault injection (docs/internals/wire-contract.md#rest).
 *
 * Bounded before trusted: a request is authenticated from its headers before a byte of its
 * body is read, and a body is then read up to the operation's cap (read-json.ts). A response
 * sent while the body is still unread asks the client to close the connection, so the unread
 * rest is never buffered.
 */
import { API_VERSION_PARAMETER, HEADER } from '@twinkit/twin-model/protocol';
import { Hono, type Context } from 'hono';
import type { RestOperationName } from '@twinkit/twin-model/protocol';
import { defaultHubErrorCode } from '@twinkit/twin-model/errors';
import type { RequestAuthenticator } from '../auth/authenticate-request.js';
import type { HubCore, HubEntry } from '../hub-core.js';
import {
  assertValidId,
  formatIdentityEtag,
  readIdentityRequest,
  toIdentityJson,
} from '../state/identity.js';
import { handleBulk, isTwinImport } from './bulk.js';
import { corsMiddleware } from './cors.js';
import { errorResponse, jsonResponse, toErrorResponse } from './error-response.js';
import { hubFailure } from './hub-failure.js';
import {
  operationRoutes,
  type Handler,
  type RouteAction,
  type RouteSpec,
} from './operation-routes.js';
import { REST_BODY_LIMITS, readJson } from './read-json.js';
import { handleQuery, type QueryPaging } from './query.js';

/** What the REST app needs from the hub. */
export interface RestAppOptions {
  core: HubCore;
  authenticator: RequestAuthenticator;
  paging: QueryPaging;
  /** Origins allowed to call the API from a web page; empty → no CORS headers at all. */
  corsOrigins: readonly string[];
}

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
    (operation: string, action: RouteAction, handler: Handler, bodyLimit?: number) =>
    async (c: Context): Promise<Response> => {
      const request = c.req.raw;
      let bodyRead = bodyLimit === undefined;
      try {
        const path = decodePath(new URL(request.url).pathname);
        const principal = await authenticator.identify(
          request.headers.get(HEADER.authorization),
          path,
        );
        if (typeof action === 'string') authenticator.authorize(principal, action);
        else if (!action.anyOf.some((candidate) => principal.actions.has(candidate)))
          authenticator.authorize(principal, action.anyOf[0] ?? 'devices/write');
        let body: unknown;
        if (bodyLimit !== undefined) {
          body = await readJson(request, bodyLimit);
          bodyRead = true;
        }
        if (typeof action !== 'string') authenticator.authorize(principal, action.decide(body));
        const failure = await core.faults.apply(operation);
        if (failure !== undefined) {
          const headers: Record<string, string> = {};
          if (failure.retryAfterInSeconds !== undefined)
            headers[HEADER.retryAfter] = String(failure.retryAfterInSeconds);
          return errorResponse(
            failure.statusCode,
            failure.code ?? defaultHubErrorCode(failure.statusCode),
            failure.message,
            headers,
          );
        }
        return await handler(request, c.req.param(), body);
      } catch (error) {
        const response = toErrorResponse(error);
        // The client may still be sending a body nobody will read: end the connection after
        // this answer instead of draining it.
        if (!bodyRead && hasBody(request)) response.headers.set('connection', 'close');
        return response;
      }
    };

  app.get('/health', () =>
    jsonResponse(200, { status: 'ok', devices: core.deviceCount, modules: core.moduleCount }),
  );

  // ---- twins (docs/internals/wire-contract.md#rest-operations)
  const getTwin: Handler = (_request, params) => {
    const entry = core.requireEntry(
      requireId(params.deviceId, 'DeviceId'),
      optionalId(params.moduleId),
    );
    return Promise.resolve(twinResponse(core, entry));
  };
  const writeTwin =
    (kind: 'update' | 'replace'): Handler =>
    async (request, params, body) => {
      const deviceId = requireId(params.deviceId, 'DeviceId');
      const moduleId = optionalId(params.moduleId);
      const outcome = core.writeTwin({ deviceId, moduleId }, kind, body, {
        ifMatch: request.headers.get(HEADER.ifMatch) ?? undefined,
        apiVersion: new URL(request.url).searchParams.get(API_VERSION_PARAMETER) ?? undefined,
      });
      return twinResponse(core, await outcome.committed);
    };
  // ---- identities (docs/internals/wire-contract.md#identities)
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
  // Twin-only batches need ServiceConnect; anything touching identities needs RegistryWrite.
  const bulkAction: RouteAction = {
    anyOf: ['devices/write', 'twins/write'],
    decide: (items) =>
      Array.isArray(items) && items.length > 0 && items.every(isTwinImport)
        ? 'twins/write'
        : 'devices/write',
  };
  const getIdentity: Handler = (_request, params) => {
    const entry = core.requireEntry(
      requireId(params.deviceId, 'DeviceId'),
      optionalId(params.moduleId),
    );
    return Promise.resolve(identityResponse(entry));
  };
  const putIdentity: Handler = async (request, params, body) => {
    const deviceId = requireId(params.deviceId, 'DeviceId');
    const moduleId = optionalId(params.moduleId);
    const identity = readIdentityRequest(body);
    checkBodyIds(body, deviceId, moduleId);
    const ifMatch = request.headers.get(HEADER.ifMatch) ?? undefined;
    // No If-Match creates (409 when it exists); any If-Match updates (docs/internals/wire-contract.md#etags-and-if-match, docs/internals/wire-contract.md#identities).
    const outcome =
      ifMatch === undefined
        ? core.createIdentity({ deviceId, moduleId }, identity)
        : core.updateIdentity({ deviceId, moduleId }, identity, ifMatch);
    return identityResponse(await outcome.committed);
  };
  const deleteIdentity: Handler = async (request, params) => {
    const deviceId = requireId(params.deviceId, 'DeviceId');
    await core.deleteIdentity(
      { deviceId, moduleId: optionalId(params.moduleId) },
      request.headers.get(HEADER.ifMatch) ?? undefined,
    );
    return new Response(null, { status: 204 });
  };
  const listModules: Handler = (_request, params) => {
    const modules = core.modulesOf(requireId(params.deviceId, 'DeviceId'));
    return Promise.resolve(
      jsonResponse(
        200,
        modules.map((entry) => toIdentityJson(entry.identity)),
      ),
    );
  };
  const twin = { handler: getTwin };
  const patchTwin = { handler: writeTwin('update'), bodyLimit: REST_BODY_LIMITS.twin };
  const putTwin = { handler: writeTwin('replace'), bodyLimit: REST_BODY_LIMITS.twin };
  const identity = { handler: getIdentity };
  const writeIdentity = { handler: putIdentity, bodyLimit: REST_BODY_LIMITS.identity };
  const removeIdentity = { handler: deleteIdentity };
  const specs: Record<RestOperationName, RouteSpec> = {
    getTwin: twin,
    getModuleTwin: twin,
    updateTwin: patchTwin,
    updateModuleTwin: patchTwin,
    replaceTwin: putTwin,
    replaceModuleTwin: putTwin,
    queryTwins: {
      handler: (request, _params, body) => handleQuery(core, request, body, options.paging),
      bodyLimit: REST_BODY_LIMITS.query,
    },
    updateTwins: {
      handler: (_request, _params, body) => handleBulk(core, body),
      bodyLimit: REST_BODY_LIMITS.bulk,
      action: bulkAction,
    },
    // One PUT creates (no If-Match) or updates (any If-Match), for devices and modules alike.
    createDevice: writeIdentity,
    updateDevice: writeIdentity,
    createModule: writeIdentity,
    getDevice: identity,
    getDevices: { handler: listDevices },
    getModule: identity,
    deleteDevice: removeIdentity,
    deleteModule: removeIdentity,
    listModules: { handler: listModules },
  };
  for (const { method, paths, fault, action, spec } of operationRoutes(specs)) {
    const handler = route(fault, action, spec.handler, spec.bodyLimit);
    for (const path of paths) app.on(method, path, handler);
  }

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

function hasBody(request: Request): boolean {
  return request.body !== null && request.headers.get('content-length') !== '0';
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
