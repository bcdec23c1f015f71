/** The shapes the hub core is built with and answers writes with. */
import type { SharedAccessPolicy } from '../auth/policies.js';
import type { FaultInjector } from '../faults/fault-injector.js';
import type { HubEntry } from '../state/entry-store.js';

/** Ids of a device or module. */
export interface IdentityIds {
  deviceId: string;
  moduleId?: string | undefined;
}

/** Options the core is built with. */
export interface HubCoreOptions {
  hostName: string;
  dataDir?: string | undefined;
  policies: readonly SharedAccessPolicy[];
  faults: FaultInjector;
  ifMatchMode: 'strict' | 'ignore-unquoted';
  /** How often to checkpoint the WAL while writes happen; default 30 s. */
  checkpointIntervalInMs?: number | undefined;
}

/** Result of a write: resolves once it is durable and visible (and its events were emitted). */
export interface WriteOutcome {
  /**
   * The identity and twin as this write left them, once committed.
   *
   * @throws a 503 ServiceUnavailable HubError naming the cause when the commit failed
   */
  committed: Promise<HubEntry>;
}
