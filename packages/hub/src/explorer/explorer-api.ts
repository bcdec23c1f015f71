/**
 * The explorer's API under `/explorer/api`. Twin reads and writes, deletions and queries are
 * forwarded to the hub's own REST handler with a token of the hub's owner policy, so they
 * behave exactly as the REST API does (ETags, 412, paging, errors, and `hub.faults.failNext`).
 * The rest reads the hub directly: the identity list with connection state, connection
 * strings, the timeline and the device endpoints' faults.
 */
import { Hono, type Context } from 'hono';
import {
  HEADER,
  IF_MATCH_ANY,
  JSON_CONTENT_TYPE,
  QUERY_PATH,
  createSasToken,
  devicePath,
  formatDeviceConnectionString,
  modulePath,
  twinPath,
  withApiVersion,
} from '@twinkit/twin-model/protocol';
import type { SharedAccessPolicy } from '../auth/policies.js';
import { hubInternals, STANDARD_PORTS, type Hub, type ServedPorts } from '../hub.js';
import { readJson } from '../rest/read-json.js';
import { assertValidId } from '../state/identity.js';
import type { TwinTimeline } from './twin-timeline.js';

/** Identities listed at most; the query console reaches the rest. */
export const EXPLORER_LIST_LIMIT = 1_000;

/** Bytes of an explorer request body at most (a twin patch is capped again by the REST API). */
const BODY_LIMIT = 1024 * 1024;

const TOKEN_LIFETIME_IN_SECONDS = 3_600;

/** The rights the explorer needs of the policy it signs with. */
const NEEDED_RIGHTS = ['RegistryRead', 'RegistryWrite', 'ServiceConnect'] as const;

/** A failure the explorer answers with `{ message }`. */
class ExplorerFailure extends Error {
  constructor(
    readonly status: 400 | 404 | 503,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The explorer API's collection of identities, under `/explorer/api`: the explorer's own route,
 * not IoT Hub's `/devices` (which the REST table in twin-model/protocol owns).
 */
const DEVICES = 'devices';

/**
 * Builds the API routes.
 *
 * @param hub - the hub
 * @param timeline - its timeline
 * @returns the handler of every request under `/explorer/api`
 * @internal
 */
export function createExplorerApi(
  hub: Hub,
  timeline: TwinTimeline,
): (request: Request) => Promise<Response> {
  const { core, served } = hubInternals(hub);
  const policy = core.policies.find((candidate) =>
    NEEDED_RIGHTS.every((right) => candidate.rights.includes(right)),
  );
  const rest = restForwarder(hub, policy);
  const app = new Hono({ strict: false }).basePath('/explorer/api');

  app.get(`/${DEVICES}`, () => {
    const identities = [];
    let truncated = false;
    for (const source of [core.deviceEntries(), core.moduleEntries()]) {
      for (const { identity } of source) {
        if (identities.length >= EXPLORER_LIST_LIMIT) {
          truncated = true;
          break;
        }
        identities.push({
          deviceId: identity.deviceId,
          moduleId: identity.moduleId ?? null,
          status: identity.status,
          connectionState: identity.connectionState,
          connectionStateUpdatedTime: identity.connectionStateUpdatedTime,
          lastActivityTime: identity.lastActivityTime,
        });
      }
    }
    return Response.json({ identities, truncated });
  });

  app.post(`/${DEVICES}`, async (c) => {
    const body = (await readJson(c.req.raw, BODY_LIMIT)) as
      { deviceId?: unknown; moduleId?: unknown } | undefined;
    const deviceId = idFrom(body?.deviceId, 'DeviceId');
    const moduleId =
      body?.moduleId === undefined || body.moduleId === ''
        ? undefined
        : idFrom(body.moduleId, 'ModuleId');
    const created =
      moduleId === undefined
        ? await hub.createDevice(deviceId)
        : await hub.createModule(deviceId, moduleId);
    return Response.json(
      { deviceId, moduleId: moduleId ?? null, connectionStrings: created.connectionStrings },
      { status: 201 },
    );
  });

  app.get('/connection-strings', (c) => {
    const { deviceId, moduleId } = idsOf(c);
    const { identity } = core.requireEntry(deviceId, moduleId);
    const key = identity.authentication.symmetricKey.primaryKey;
    if (typeof key !== 'string')
      throw new ExplorerFailure(404, `${deviceId} has no symmetric key (it uses X.509).`);
    const format = (endpoint: keyof ServedPorts) =>
      formatDeviceConnectionString({
        hostName: hostFor(hub.hostName, served, endpoint),
        deviceId,
        ...(moduleId === undefined ? {} : { moduleId }),
        sharedAccessKey: key,
      });
    return Response.json({
      connectionStrings: { mqtt: format('mqtt'), amqp: format('amqp'), webSocket: format('https') },
    });
  });

  app.delete(`/${DEVICES}`, (c) => {
    const { deviceId, moduleId } = idsOf(c);
    const path = moduleId === undefined ? devicePath(deviceId) : modulePath(deviceId, moduleId);
    return rest('DELETE', path, { [HEADER.ifMatch]: IF_MATCH_ANY });
  });

  app.get('/twin', (c) => {
    const { deviceId, moduleId } = idsOf(c);
    return rest('GET', twinPath(deviceId, moduleId));
  });

  app.patch('/twin', async (c) => {
    const { deviceId, moduleId } = idsOf(c);
    const headers: Record<string, string> = { [HEADER.contentType]: JSON_CONTENT_TYPE };
    const ifMatch = c.req.header(HEADER.ifMatch);
    if (ifMatch !== undefined) headers[HEADER.ifMatch] = ifMatch;
    const body = JSON.stringify(await readJson(c.req.raw, BODY_LIMIT));
    return rest('PATCH', twinPath(deviceId, moduleId), headers, body);
  });

  app.post('/query', async (c) => {
    const body = (await readJson(c.req.raw, BODY_LIMIT)) as
      { query?: unknown; pageSize?: unknown; continuationToken?: unknown } | undefined;
    if (typeof body?.query !== 'string' || body.query.trim() === '')
      throw new ExplorerFailure(400, 'Type a query, such as SELECT * FROM devices.');
    const headers: Record<string, string> = { [HEADER.contentType]: JSON_CONTENT_TYPE };
    if (typeof body.pageSize === 'number') headers[HEADER.maxItemCount] = String(body.pageSize);
    if (typeof body.continuationToken === 'string' && body.continuationToken !== '')
      headers[HEADER.continuation] = body.continuationToken;
    const response = await rest('POST', QUERY_PATH, headers, JSON.stringify({ query: body.query }));
    if (!response.ok) return response;
    return Response.json({
      items: await response.json(),
      continuationToken: response.headers.get(HEADER.continuation),
    });
  });

  app.get('/timeline', (c) => {
    const { deviceId, moduleId } = idsOf(c);
    return Response.json({ entries: timeline.entries(deviceId, moduleId) });
  });

  app.post('/faults', async (c) => {
    const body = (await readJson(c.req.raw, BODY_LIMIT)) as Record<string, unknown> | undefined;
    const deviceId = idFrom(body?.deviceId, 'DeviceId');
    const moduleId =
      body?.moduleId === undefined || body.moduleId === null || body.moduleId === ''
        ? undefined
        : idFrom(body.moduleId, 'ModuleId');
    const target = { deviceId, moduleId };
    const times = positiveInteger(body?.times ?? 1, 'times');
    const { mqtt, amqp } = hubInternals(hub);
    const endpoints = [
      { name: 'mqtt', endpoint: mqtt },
      { name: 'amqp', endpoint: amqp },
    ];
    // Twin faults go to the endpoint the device is connected on, so none is left armed on one
    // it does not use; a device connected nowhere gets them on both, for whichever it uses next.
    const connected = endpoints.filter(({ endpoint }) => endpoint.isConnected(target));
    const armOn = connected.length > 0 ? connected : endpoints;
    const on = armOn.map(({ name }) => name);
    switch (body?.fault) {
      case 'drop': {
        // Every endpoint is asked: a device may hold an MQTT and an AMQP connection.
        const dropped = endpoints.map(({ endpoint }) => endpoint.faults.dropConnection(target));
        return Response.json({ dropped: dropped.includes(true) });
      }
      case 'delay': {
        const delayInMs = positiveInteger(body.delayInMs, 'delayInMs');
        for (const { endpoint } of armOn)
          endpoint.faults.delayNextTwinResponses({ ...target, delayInMs, times });
        return Response.json({ armed: true, on });
      }
      case 'throttle':
        for (const { endpoint } of armOn)
          endpoint.faults.failNextTwinResponses({ ...target, statusCode: 429, times });
        return Response.json({ armed: true, on });
      default:
        throw new ExplorerFailure(400, "fault must be 'drop', 'delay' or 'throttle'.");
    }
  });

  app.post('/faults/clear', () => {
    hub.faults.clear();
    return Response.json({ cleared: true });
  });

  app.notFound((c) =>
    Response.json({ message: `No explorer API at ${c.req.path}.` }, { status: 404 }),
  );
  app.onError((error) => {
    if (error instanceof ExplorerFailure)
      return Response.json({ message: error.message }, { status: error.status });
    const status = (error as { statusCode?: unknown }).statusCode;
    return Response.json(
      { message: error.message },
      { status: typeof status === 'number' && status >= 400 && status <= 599 ? status : 500 },
    );
  });
  return async (request) => app.fetch(request);
}

/**
 * Sends a request through the hub's REST handler with a token of `policy`.
 *
 * @param hub - the hub
 * @param policy - a policy with the rights the explorer needs, if the hub has one
 */
function restForwarder(hub: Hub, policy: SharedAccessPolicy | undefined) {
  let token: { value: string; expiresOnInSeconds: number } | undefined;
  const authorization = async (): Promise<string> => {
    if (policy === undefined) {
      throw new ExplorerFailure(
        503,
        `The hub has no shared access policy with ${NEEDED_RIGHTS.join(', ')}; the explorer signs its REST calls with one (such as iothubowner).`,
      );
    }
    const now = Math.floor(Date.now() / 1000);
    if (token === undefined || token.expiresOnInSeconds - now < 300) {
      const expiresOnInSeconds = now + TOKEN_LIFETIME_IN_SECONDS;
      const value = await createSasToken({
        resourceUri: hub.hostName,
        keyName: policy.keyName,
        key: policy.primaryKey,
        expiresOnInSeconds,
      });
      token = { value, expiresOnInSeconds };
    }
    return token.value;
  };
  return async (
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<Response> => {
    const url = new URL(withApiVersion(path), `https://${hub.hostName}`);
    const init: RequestInit = {
      method,
      headers: { ...headers, [HEADER.authorization]: await authorization() },
    };
    if (body !== undefined) init.body = body;
    return hub.fetch(url, init);
  };
}

function hostFor(hostName: string, served: ServedPorts, endpoint: keyof ServedPorts): string {
  const port = served[endpoint];
  return port === undefined || port === STANDARD_PORTS[endpoint]
    ? hostName
    : `${hostName}:${String(port)}`;
}

function idsOf(c: Context): { deviceId: string; moduleId: string | undefined } {
  const moduleId = c.req.query('moduleId');
  return {
    deviceId: idFrom(c.req.query('deviceId'), 'DeviceId'),
    moduleId: moduleId === undefined || moduleId === '' ? undefined : idFrom(moduleId, 'ModuleId'),
  };
}

function idFrom(value: unknown, what: 'DeviceId' | 'ModuleId'): string {
  if (typeof value !== 'string' || value === '')
    throw new ExplorerFailure(400, `${what === 'DeviceId' ? 'deviceId' : 'moduleId'} is missing.`);
  assertValidId(value, what);
  return value;
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new ExplorerFailure(
      400,
      `${name} must be a positive integer, got ${JSON.stringify(value)}.`,
    );
  return value;
}
