import { HEADER } from '@twinkit/twin-model/protocol';
import { createLogger } from '@twinkit/twin-model/internal';
import type {
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
} from '../pipeline.js';

const log = createLogger('twin:service:http');

/** Headers whose values never reach a log line (docs/internals/architecture.md#shared-internals). */
const REDACTED = new Set([HEADER.authorization, 'cookie', 'set-cookie', 'proxy-authorization']);

function formatHeaders(entries: Iterable<[string, string]>): string {
  const parts: string[] = [];
  for (const [name, value] of entries)
    parts.push(`${name}: ${REDACTED.has(name.toLowerCase()) ? 'REDACTED' : value}`);
  return parts.join('; ');
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

/**
 * Writes one `info` line per request and one per response (status, time, request id), and the
 * headers at `verbose`, with `Authorization` redacted. Bodies are never logged: twin payloads may
 * hold customer data.
 *
 * @returns the policy
 */
export function logPolicy(): PipelinePolicy {
  return {
    name: 'logPolicy',
    // Not async when logging is off, so the common case adds no promise of its own.
    sendRequest: (request, next) =>
      log.enabled('info') ? logExchange(request, next) : next(request),
  };
}

async function logExchange(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
  const started = Date.now();
  const requestId = request.headers[HEADER.requestId] ?? '-';
  log.info(
    `${request.operation}: ${request.method} ${pathOf(request.url)} request-id=${requestId}`,
  );
  if (log.enabled('verbose'))
    log.verbose(`request headers: ${formatHeaders(Object.entries(request.headers))}`);
  try {
    const response = await next(request);
    log.info(
      `${request.operation}: ${response.status} in ${Date.now() - started} ms request-id=${requestId}`,
    );
    if (log.enabled('verbose')) log.verbose(`response headers: ${formatHeaders(response.headers)}`);
    return response;
  } catch (error) {
    log.warning(
      `${request.operation}: failed after ${Date.now() - started} ms request-id=${requestId}: ${error instanceof Error ? error.name : 'error'}`,
    );
    throw error;
  }
}
