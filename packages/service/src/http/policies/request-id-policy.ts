import { HEADER } from '@twinkit/twin-model/protocol';
import type { PipelinePolicy } from '../pipeline.js';

/**
 * Makes a random v4 UUID from WebCrypto, for runtimes where `crypto.randomUUID` is missing
 * (non-secure browser contexts).
 */
function randomUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Stamps `Request-Id` (docs/internals/wire-contract.md#rest) once per operation, so every retry of one call carries
 * the same id and the hub's logs and our errors correlate.
 *
 * @returns the policy
 */
export function requestIdPolicy(): PipelinePolicy {
  return {
    name: 'requestIdPolicy',
    sendRequest(request, next) {
      request.headers[HEADER.requestId] ??= randomUuid();
      return next(request);
    },
  };
}
