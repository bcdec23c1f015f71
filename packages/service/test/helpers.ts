/**
 * Test helpers: an in-process hub (no sockets) and registries wired to it through `hub.fetch`.
 * The recording wrapper only observes requests; the hub still answers every one of them.
 */
import { createHub, type Hub } from '@twinkit/hub';
import { Registry, type FetchLike, type RegistryOptions } from '@twinkit/service';

/** A request as the hub received it. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

/** Starts an in-memory hub. */
export function startHub(): Promise<Hub> {
  return createHub();
}

/**
 * A registry on `hub.fetch` with millisecond backoff, so retry tests take no real time.
 *
 * @param hub - the hub
 * @param options - overrides
 */
export function registryFor(hub: Hub, options: RegistryOptions = {}): Registry {
  return Registry.fromConnectionString(hub.serviceConnectionString, {
    // A bound property with the standard fetch signature, so it is passed as is.
    fetch: hub.fetch,
    retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 5 },
    ...options,
  });
}

/**
 * Wraps `hub.fetch` to record what the registry sends.
 *
 * @param hub - the hub that answers
 * @returns the fetch to inject and the list it fills
 */
export function recordingFetch(hub: Hub): { fetch: FetchLike; seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  return {
    seen,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const body = await request.clone().text();
      seen.push({
        method: request.method,
        url: new URL(request.url),
        headers: new Headers(request.headers),
        body,
      });
      return hub.fetch(request);
    },
  };
}
