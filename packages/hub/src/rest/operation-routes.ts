/**
 * The REST routes come from twin-model's operation table (`REST_OPERATIONS`): each operation's
 * method, path, permission and fault name. The hub supplies one {@link RouteSpec} per operation
 * name, so an operation added to the table does not compile here until it has a handler, and
 * no route, permission or fault name is written down twice.
 */
import {
  BULK_PATH,
  QUERY_PATH,
  REST_OPERATIONS,
  type RestOperation,
  type RestOperationName,
} from '@twinkit/twin-model/protocol';
import type { HubDataAction } from '../auth/policies.js';

/** A route handler; `body` is the parsed request body when the route reads one. */
export type Handler = (
  request: Request,
  params: Record<string, string>,
  body: unknown,
) => Promise<Response>;

/**
 * The action a route needs: fixed, or decided from the parsed body (bulk batches) among the
 * actions listed, the caller having to hold at least one of them before the body is read.
 */
export type RouteAction =
  HubDataAction | { anyOf: readonly HubDataAction[]; decide: (body: unknown) => HubDataAction };

/** How the hub serves one operation. */
export interface RouteSpec {
  handler: Handler;
  /** The body cap, for an operation that reads a body. */
  bodyLimit?: number | undefined;
  /** Replaces the action the operation's permission gives (bulk decides it from the body). */
  action?: RouteAction | undefined;
}

/** One route to register: Hono path, method, fault name, action and spec. */
export interface OperationRoute {
  method: RestOperation['method'];
  paths: readonly string[];
  fault: RestOperation['fault'];
  action: RouteAction;
  spec: RouteSpec;
}

/**
 * The data action an operation's permission stands for: RegistryRead and RegistryWrite guard
 * identities; ServiceConnect guards twins, where reads (GET and queries) and writes are told
 * apart so a read-only twin role can read.
 *
 * @param operation - the operation
 * @throws {@link Error} for a DeviceConnect operation (devices do not call the service API)
 */
export function dataActionOf(operation: RestOperation): HubDataAction {
  switch (operation.permission) {
    case 'RegistryRead':
      return 'devices/read';
    case 'RegistryWrite':
      return 'devices/write';
    case 'DeviceConnect':
      throw new Error(
        `REST operation ${operation.name} needs DeviceConnect, which no service API route serves.`,
      );
    case 'ServiceConnect':
      return operation.method === 'GET' || operation.path === QUERY_PATH
        ? 'twins/read'
        : 'twins/write';
  }
}

/**
 * The routes of every operation in the table. Operations that share a method and path (a PUT
 * that creates or updates) share one route and must share one spec.
 *
 * @param specs - the hub's spec for each operation
 * @returns one route per distinct method and path
 * @throws {@link Error} when two operations on one route have different specs, permissions or
 *   fault names (a table or hub bug, found at startup)
 */
export function operationRoutes(
  specs: Readonly<Record<RestOperationName, RouteSpec>>,
): OperationRoute[] {
  const routes = new Map<string, OperationRoute & { operation: RestOperation }>();
  for (const operation of Object.values<RestOperation>(REST_OPERATIONS)) {
    const spec = specs[operation.name as RestOperationName];
    const key = `${operation.method} ${operation.path}`;
    const existing = routes.get(key);
    if (existing !== undefined) {
      if (
        existing.spec !== spec ||
        existing.operation.permission !== operation.permission ||
        existing.fault !== operation.fault
      ) {
        throw new Error(
          `REST operations ${existing.operation.name} and ${operation.name} share ${key} but not their handler, permission or fault name.`,
        );
      }
      continue;
    }
    routes.set(key, {
      operation,
      method: operation.method,
      paths: honoPaths(operation.path),
      fault: operation.fault,
      action: spec.action ?? dataActionOf(operation),
      spec,
    });
  }
  return [...routes.values()];
}

/**
 * The Hono paths of a template: `{deviceId}` and `{moduleId}` become parameters of the same
 * name. C# sends the device collection as `/devices/`, so it is routed with and without the
 * trailing slash.
 */
function honoPaths(template: string): string[] {
  const path = template.replace(/\{(deviceId|moduleId)\}/g, ':$1');
  return template === BULK_PATH ? [path, `${path}/`] : [path];
}
