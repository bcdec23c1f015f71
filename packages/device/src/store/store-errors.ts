/**
 * The errors of a {@link DeviceStateStore}: the store cannot be read as this device's state, or
 * another process holds it. None of them is ever answered by starting over with an empty state,
 * because that would silently drop the queued reported patches and redeliver desired changes.
 */

/** The `name` of the store errors. */
export type StoreErrorName = 'StoreCorruptError' | 'StoreForeignError' | 'StoreLockedError';

/**
 * The stored state cannot be read: the file is not JSON, its format marker is unknown, its
 * checksum does not match, or its content has the wrong shape. Nothing was changed; move the file
 * aside (or restore a backup) after looking at it.
 */
export class StoreCorruptError extends Error {
  /** Always `'StoreCorruptError'`, for the guards. */
  override readonly name = 'StoreCorruptError' as const;
  /** Where the state lives: a file path or an IndexedDB database name. */
  readonly location: string;

  /**
   * @param location - the file or database
   * @param reason - what is wrong with it
   * @param options - the underlying error, if any
   */
  constructor(location: string, reason: string, options: { cause?: unknown } = {}) {
    super(
      `The device state store ${location} is corrupt: ${reason}. It was left as it is; ` +
        'move it aside or restore it, a new store starts empty.',
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.location = location;
  }
}

/**
 * The store holds the state of another identity (another hub, device or module). Each device
 * needs its own store.
 */
export class StoreForeignError extends Error {
  /** Always `'StoreForeignError'`, for the guards. */
  override readonly name = 'StoreForeignError' as const;
  /** Where the state lives. */
  readonly location: string;
  /** The identity the store belongs to, as `host/deviceId[/moduleId]`. */
  readonly storedIdentity: string;
  /** The identity of the client that opened it. */
  readonly clientIdentity: string;

  /**
   * @param location - the file or database
   * @param storedIdentity - whose state it holds
   * @param clientIdentity - who tried to use it
   */
  constructor(location: string, storedIdentity: string, clientIdentity: string) {
    super(
      `The device state store ${location} belongs to ${storedIdentity}, not to ${clientIdentity}; ` +
        'give each device its own store.',
    );
    this.location = location;
    this.storedIdentity = storedIdentity;
    this.clientIdentity = clientIdentity;
  }
}

/** Another live process (or another client in this one) uses the store right now. */
export class StoreLockedError extends Error {
  /** Always `'StoreLockedError'`, for the guards. */
  override readonly name = 'StoreLockedError' as const;
  /** Where the state lives. */
  readonly location: string;
  /** The process id holding the lock, when known. */
  readonly holderPid: number | undefined;

  /**
   * @param location - the file or database
   * @param holderPid - the process holding it
   * @param detail - how to tell who holds it (e.g. the lock file)
   */
  constructor(location: string, holderPid: number | undefined, detail: string) {
    super(
      `The device state store ${location} is in use by ` +
        `${holderPid === undefined ? 'another client' : `process ${String(holderPid)}`} (${detail}); ` +
        'one client at a time may use a store.',
    );
    this.location = location;
    this.holderPid = holderPid;
  }
}

function hasName(error: unknown, name: StoreErrorName): boolean {
  return error instanceof Error && error.name === name;
}

/** Whether `error` is a {@link StoreCorruptError} (checks `name`, so it works across realms). */
export const isStoreCorruptError = (error: unknown): error is StoreCorruptError =>
  hasName(error, 'StoreCorruptError');
/** Whether `error` is a {@link StoreForeignError}. */
export const isStoreForeignError = (error: unknown): error is StoreForeignError =>
  hasName(error, 'StoreForeignError');
/** Whether `error` is a {@link StoreLockedError}. */
export const isStoreLockedError = (error: unknown): error is StoreLockedError =>
  hasName(error, 'StoreLockedError');
