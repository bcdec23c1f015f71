/**
 * The few IndexedDB and Web Locks types the IndexedDB store uses, declared here because the
 * packages compile without the DOM library, so that stray DOM use does not compile
 * (docs/internals/architecture.md#runtime-seams).
 *
 * @internal
 */

export interface IdbRequest<T> {
  readonly result: T;
  readonly error: { message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}

export interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
}

export interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  readonly error: { message: string } | null;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

export interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(
    name: string,
    mode: 'readonly' | 'readwrite',
    options?: { durability?: 'strict' | 'relaxed' | 'default' },
  ): IdbTransaction;
  close(): void;
}

export interface IdbFactory {
  open(name: string): IdbOpenRequest;
}

export interface WebLocks {
  request(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: object | null) => Promise<void>,
  ): Promise<void>;
}
