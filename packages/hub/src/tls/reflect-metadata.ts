/**
 * A minimal `Reflect` metadata API (`defineMetadata`, `getMetadata`, `getOwnMetadata`,
 * `hasMetadata`, `metadata`). @peculiar/x509 uses tsyringe, which refuses to load without one
 * and leaves installing it to the application; the hub installs this small one, only when no
 * other polyfill is present, before x509 is imported.
 */
type Target = object;
type MetadataStore = Map<string | symbol | undefined, Map<unknown, unknown>>;

interface ReflectMetadataApi {
  defineMetadata(key: unknown, value: unknown, target: Target, property?: string | symbol): void;
  getMetadata(key: unknown, target: Target, property?: string | symbol): unknown;
  getOwnMetadata(key: unknown, target: Target, property?: string | symbol): unknown;
  hasMetadata(key: unknown, target: Target, property?: string | symbol): boolean;
  metadata(key: unknown, value: unknown): (target: Target, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  const stores = new WeakMap<Target, MetadataStore>();
  const own = (target: Target, property: string | symbol | undefined, create: boolean) => {
    let store = stores.get(target);
    if (store === undefined) {
      if (!create) return undefined;
      store = new Map();
      stores.set(target, store);
    }
    let entries = store.get(property);
    if (entries === undefined && create) {
      entries = new Map();
      store.set(property, entries);
    }
    return entries;
  };
  const find = (
    key: unknown,
    target: Target,
    property?: string | symbol,
  ): { found: boolean; value: unknown } => {
    for (
      let current: Target | null = target;
      current !== null;
      current = Object.getPrototypeOf(current) as Target | null
    ) {
      const entries = own(current, property, false);
      if (entries?.has(key) === true) return { found: true, value: entries.get(key) };
    }
    return { found: false, value: undefined };
  };
  const api: ReflectMetadataApi = {
    defineMetadata(key, value, target, property) {
      own(target, property, true)?.set(key, value);
    },
    getMetadata: (key, target, property) => find(key, target, property).value,
    getOwnMetadata: (key, target, property) => own(target, property, false)?.get(key),
    hasMetadata: (key, target, property) => find(key, target, property).found,
    metadata: (key, value) => (target, property) => {
      own(target, property, true)?.set(key, value);
    },
  };
  Object.assign(Reflect, api);
}

export {};
