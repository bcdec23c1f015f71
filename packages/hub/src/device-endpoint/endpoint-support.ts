/**
 * What the two device endpoints (MQTT on aedes, AMQP on rhea) do the same way: identities and
 * their map keys, closing what a token opened once it expires (docs/internals/wire-contract.md#token-lifetimes), holding twin
 * responses back, best-effort hub calls, and serving a TLS listener that can be closed with its
 * connections still open.
 */
import type { Server, Socket } from 'node:net';

/** A device, or a module of a device, as one device-endpoint identity. */
export interface DeviceIdentity {
  readonly deviceId: string;
  readonly moduleId?: string | undefined;
}

/**
 * A stable map key for an identity. NUL cannot occur in device or module ids, so the key is
 * unambiguous.
 *
 * @param identity - a device or module
 * @returns the key
 */
export function identityKey(identity: DeviceIdentity): string {
  return `${identity.deviceId}\u0000${identity.moduleId ?? ''}`;
}

/**
 * Tells whether two identities are the same device or module.
 *
 * @param a - one identity
 * @param b - the other
 * @returns whether device and module ids both match
 */
export function sameIdentity(a: DeviceIdentity, b: DeviceIdentity): boolean {
  return a.deviceId === b.deviceId && a.moduleId === b.moduleId;
}

// setTimeout fires at once for delays above 2^31-1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2_147_483_647;

/** A scheduled expiry that can be called off. */
export interface ExpiryTimer {
  /** Calls the expiry off; nothing happens when it already ran. */
  cancel(): void;
}

/**
 * Runs `onExpired` once the clock reaches `expiresAtMs`: the hub closes what an expired token
 * opened (docs/internals/wire-contract.md#token-lifetimes). The timer does not keep the process alive, and it checks the
 * clock again when it fires, so a far-off or a moved clock is waited out in steps.
 *
 * @param expiresAtMs - when the credential expires, in ms since the epoch
 * @param now - the endpoint's clock
 * @param onExpired - what to close
 * @returns the timer, to cancel when the connection or grant goes first
 */
export function scheduleExpiry(
  expiresAtMs: number,
  now: () => number,
  onExpired: () => void,
): ExpiryTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(
      () => {
        timer = undefined;
        if (expiresAtMs - now() > 0) arm();
        else onExpired();
      },
      Math.max(0, Math.min(expiresAtMs - now(), MAX_TIMER_MS)),
    );
    timer.unref();
  };
  arm();
  return {
    cancel() {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Actions put off by a fault (delayed twin responses), all called off when the endpoint closes. */
export class DeferredActions {
  readonly #timers = new Set<NodeJS.Timeout>();

  /**
   * Runs an action now, or after a delay.
   *
   * @param delayInMs - the delay; `undefined` runs it now
   * @param action - what to run
   */
  run(delayInMs: number | undefined, action: () => void): void {
    if (delayInMs === undefined) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, delayInMs);
    this.#timers.add(timer);
  }

  /** Calls off every action still waiting. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

function noop(): void {
  // Deliberately empty: the outcome of a best-effort call does not matter.
}

/**
 * Runs a hub call whose failure must not break a device connection (the hub may be closing):
 * connection state and activity updates are best effort.
 *
 * @param action - the call; a returned promise's rejection is ignored too
 */
export function bestEffort(action: () => Promise<void> | void): void {
  try {
    const result = action();
    if (result instanceof Promise) result.catch(noop);
  } catch {
    // Best effort: the connection goes on regardless.
  }
}

/** A TLS listener that is serving, as `ProtocolEndpoint.listen` returns it. */
export interface ServedListener {
  /** The bound port. */
  readonly port: number;
  /** Stops listening and ends the connections still open. */
  close(): Promise<void>;
}

/**
 * Waits until a server on which `listen()` was called is listening, and makes it closable even
 * with connections open (`server.close()` alone waits for them).
 *
 * @param server - the server; `listen()` already called, in this tick
 * @param connectionEvent - the event that hands out the sockets to end on close
 * @param requestedPort - the port asked for, used when the address is not a TCP one
 * @returns the bound port and a close function
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound
 */
export async function serveListener(
  server: Server,
  connectionEvent: 'connection' | 'secureConnection',
  requestedPort: number,
): Promise<ServedListener> {
  const sockets = new Set<Socket>();
  server.on(connectionEvent, (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) {
      resolve();
      return;
    }
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : requestedPort;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}
