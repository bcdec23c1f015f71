/**
 * How a {@link DeviceClient} is put together: the transport, the connection supervisor, the
 * desired-property subscription, sync and router, and the reported outbox, each told about
 * the others through callbacks. The client itself only forwards its public calls to them.
 *
 * @internal
 */
import { TransportError, TwinValidationError, isTransportError } from '@twinkit/twin-model/errors';
import { splitHostPort } from '@twinkit/twin-model/protocol';
import { validateSection, type DeviceTwin, type JsonObject } from '@twinkit/twin-model';
import type { Logger } from '@twinkit/twin-model/internal';
import type { DeviceCredential } from './auth/credential.js';
import { createConnectParams, resolveClientSettings } from './client-settings.js';
import { ConnectionSupervisor } from './connection/connection-supervisor.js';
import type { ConnectionStateChange } from './connection-state.js';
import { DesiredRouter } from './desired/desired-router.js';
import { DesiredSubscription } from './desired/desired-subscription.js';
import { DesiredSync } from './desired/desired-sync.js';
import type { DeviceClientOptions } from './options.js';
import { ReportedOutbox } from './outbox/reported-outbox.js';
import { StateKeeper } from './store/state-keeper.js';
import { mqtt } from './transport/mqtt/index.js';
import type { DeviceTransport, UpdateReportedResult } from './transport/transport.js';

/** What the parts need from the client that owns them. */
export interface ClientHost {
  /** Reports an error to the app (`error` event). */
  reportError(error: unknown): void;
  /** Reports a connection state change (`connectionStateChange` event). */
  emitStateChange(change: ConnectionStateChange): void;
  /** Finishes every `watchDesired` iterator (the client was closed). */
  endWatchers(): void;
  logger: Logger;
}

/** The parts of a client. */
export interface ClientParts {
  transport: DeviceTransport;
  connection: ConnectionSupervisor;
  router: DesiredRouter;
  sync: DesiredSync;
  outbox: ReportedOutbox;
  /** The durable state, when `options.store` is set. */
  keeper: StateKeeper | undefined;
  /** Per writable property path, the last desired `$version` answered (kept by the store). */
  acknowledged: Map<string, number>;
  /**
   * Validates and queues a reported patch, after the stored outbox was loaded (so it follows the
   * stored patches); `beforeQueue` runs in the same tick as the queuing, so a save holds both.
   */
  queueReported: (
    patch: JsonObject,
    abortSignal: AbortSignal | undefined,
    beforeQueue?: () => void,
  ) => Promise<UpdateReportedResult>;
  /** The one twin read: the app's `getTwin()` and every resync go through it. */
  readTwin: (abortSignal: AbortSignal | undefined) => Promise<DeviceTwin>;
}

/**
 * Builds and connects the parts of a client; does no I/O.
 *
 * @param credential - the identity and how it authenticates
 * @param options - the client options
 * @param host - the owning client's events
 * @throws {@link RangeError} when an option is out of range
 */
export function wireClient(
  credential: DeviceCredential,
  options: DeviceClientOptions,
  host: ClientHost,
): ClientParts {
  const settings = resolveClientSettings(options);
  const log = host.logger;
  // The parts refer to each other through callbacks that run only after all are built.
  // eslint-disable-next-line prefer-const -- assigned below; callbacks defined earlier read it
  let connection: ConnectionSupervisor;
  // eslint-disable-next-line prefer-const -- same
  let desired: DesiredSubscription;
  const readTwin = (abortSignal: AbortSignal | undefined): Promise<DeviceTwin> =>
    connection.run('getTwin', 'Twin read', abortSignal, (request) => transport.getTwin(request));
  const acknowledged = new Map<string, number>();
  let keeper: StateKeeper | undefined;
  const saveInBackground = (): void => {
    keeper?.save().catch((error: unknown) => {
      // A closing client does not save any more; anything else (a full disk) the app must hear of.
      if (isTransportError(error)) log.verbose(error.message);
      else host.reportError(error);
    });
  };
  const router = new DesiredRouter((count) => {
    desired.setWanted(count > 0);
  });
  const sync = new DesiredSync({
    readTwin: () => readTwin(connection.sessionSignal),
    deliver: (routed) => {
      router.dispatch(routed);
    },
    onResyncError: (error) => {
      desired.resyncFailed(error);
    },
    onChanged: options.store === undefined ? undefined : saveInBackground,
    // Answers recorded for the old twin's versions would hide the new twin's writable values.
    onTwinRecreated: () => {
      acknowledged.clear();
    },
    logger: log,
  });
  const outbox = new ReportedOutbox({
    ...settings.outbox,
    send: (patch) =>
      connection.run(
        'updateReportedProperties',
        'Reported properties update',
        connection.sessionSignal,
        (request) => transport.patchReported(patch, request),
      ),
    persist: options.store === undefined ? undefined : () => keeper?.save() ?? Promise.resolve(),
    reportError: (error) => {
      host.reportError(error);
    },
    logger: log,
  });
  if (options.store !== undefined) {
    const identity = credential.identity;
    keeper = new StateKeeper({
      store: options.store,
      identity: {
        hostName: splitHostPort(identity.hostName).host,
        deviceId: identity.deviceId,
        ...(identity.moduleId === undefined ? {} : { moduleId: identity.moduleId }),
      },
      restore: (state) => {
        if (state === undefined) return;
        outbox.restore(state.outbox);
        if (state.desired !== undefined) sync.seed(state.desired.version, state.desired.document);
        acknowledged.clear();
        for (const [path, version] of Object.entries(state.acknowledged))
          acknowledged.set(path, version);
      },
      snapshot: () => {
        const queued = outbox.snapshot();
        const document = sync.document;
        const version = sync.version;
        return {
          state: {
            outbox: queued.entries,
            ...(document === undefined || version === undefined
              ? {}
              : { desired: { version, document } }),
            acknowledged: Object.fromEntries(acknowledged),
          },
          saved: queued.saved,
          failed: queued.failed,
        };
      },
      logger: log,
    });
  }
  const factory = options.transport ?? mqtt();
  const transport = factory(
    {
      desiredPatch: (patch, version) => {
        desired.onPatch(patch, version);
      },
      disconnected: (error) => {
        connection.connectionLost(error);
      },
      protocolViolation: (error) => {
        desired.notificationDropped(error);
      },
    },
    { operationTimeoutInMs: settings.operationTimeoutInMs },
  );
  desired = new DesiredSubscription({
    setDuringConnect: (enabled, signal) =>
      transport.setDesiredSubscription(enabled, {
        abortSignal: signal,
        timeoutInMs: settings.operationTimeoutInMs,
      }),
    readTwinDuringConnect: (signal) =>
      transport.getTwin({ abortSignal: signal, timeoutInMs: settings.operationTimeoutInMs }),
    set: (enabled) =>
      connection.run(
        enabled ? 'subscribe' : 'unsubscribe',
        'Desired subscription',
        connection.sessionSignal,
        (request) => transport.setDesiredSubscription(enabled, request),
      ),
    isConnected: () => connection.status === 'connected',
    sync,
    retry: settings.retry,
    reportError: (error) => {
      host.reportError(error);
    },
  });
  connection = new ConnectionSupervisor({
    transport,
    credential,
    connectParams: (auth) => createConnectParams(credential.identity, auth, settings),
    operationTimeoutInMs: settings.operationTimeoutInMs,
    renewalMarginInSeconds: settings.renewalMarginInSeconds,
    retry: settings.retry,
    emit: (change) => {
      host.emitStateChange(change);
    },
    hooks: {
      prepare: (signal) => desired.prepare(signal),
      up: () => {
        outbox.connected();
        desired.up();
      },
      renewed: () => {
        desired.renewed();
      },
      down: (error) => {
        desired.down();
        outbox.disconnected(error);
      },
      ended: (outcome, error) => {
        desired.ended();
        if (outcome === 'closed') {
          outbox.failAll(
            new TransportError('The client was closed before the reported patch was sent.', {
              retryable: false,
            }),
          );
          host.endWatchers();
        } else if (outcome === 'gave-up' && error !== undefined) {
          outbox.failAll(error);
          host.reportError(error);
        }
      },
    },
    logger: log,
  });
  const queueReported: ClientParts['queueReported'] = (patch, abortSignal, beforeQueue) => {
    const result = validateSection(patch, 'reported', { mode: 'patch' });
    if (!result.valid) {
      return Promise.reject(new TwinValidationError(result.issues, 'Reported properties update'));
    }
    const queue = (): Promise<UpdateReportedResult> => {
      beforeQueue?.();
      return outbox.enqueue(patch, abortSignal);
    };
    return keeper === undefined ? queue() : keeper.ready().then(queue);
  };
  return {
    transport,
    connection,
    router,
    sync,
    outbox,
    keeper,
    acknowledged,
    queueReported,
    readTwin,
  };
}
