/**
 * One AMQP connection as a codec over the device-session core: `$cbs` put-tokens become
 * credentials, twin link ATTACHes become session openings, twin messages become twin requests,
 * and the core's decisions come back as DETACHes, settled responses and desired notifications
 * (docs/internals/wire-contract.md#amqp-cbs, docs/internals/wire-contract.md#amqp-twin-links, docs/internals/wire-contract.md#amqp-errors). Nothing here decides who may do what.
 */
import { randomUUID } from 'node:crypto';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import { formatDeviceErrorBody } from '@twinkit/twin-model/errors';
import {
  AMQP_ERROR_CONDITION,
  CBS_NODE,
  CBS_PROPERTY,
  DESIRED_NOTIFICATIONS_RESOURCE,
  KnownTwinAmqpOperation,
  REPORTED_PROPERTIES_RESOURCE,
  TWIN_ANNOTATION,
  TWIN_LINK_PROPERTY,
  parseTwinLinkAddress,
  amqpBodyText,
} from '@twinkit/twin-model/protocol';
import { identityKey, type DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import type { GuardedStream } from '../device-endpoint/guarded-stream.js';
import type { Grant } from '../device-session/credentials.js';
import type { DeviceConnection } from '../device-session/device-connection.js';
import type { DeviceSessionCore } from '../device-session/device-session-core.js';
import type { TwinResponse } from '../device-session/twin-requests.js';
import { amqpInt, amqpLong, encodeMessage, type OutgoingMessage } from './amqp-message.js';
import { readPutToken, type CbsStatus } from './cbs.js';

interface TwinLink {
  readonly identity: DeviceIdentity;
  readonly key: string;
  readonly channelId: string | undefined;
}

interface TwinSenderLink extends TwinLink {
  readonly link: Sender;
  /** Subscribed to desired notifications by a PUT (docs/internals/wire-contract.md#amqp-twin-links: subscriptions are per link). */
  subscribed: boolean;
}

/** rhea keeps these on links without declaring them. */
interface LinkInternals {
  local: {
    attach: {
      source?: unknown;
      target?: unknown;
      snd_settle_mode?: number;
      rcv_settle_mode?: number;
    };
  };
  remote: {
    attach?: {
      source?: { address?: unknown } | null;
      target?: { address?: unknown } | null;
      properties?: Record<string, unknown> | null;
    };
  };
  set_source(fields: object): void;
  set_target(fields: object): void;
}

function internalsOf(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

/** Echoes the client's source and target in the hub's ATTACH (docs/internals/wire-contract.md#amqp-twin-links); a refusal nulls one later. */
function echoTermini(link: LinkInternals): { source: unknown; target: unknown } {
  const source = link.remote.attach?.source;
  const target = link.remote.attach?.target;
  if (source !== undefined && source !== null) link.set_source(source);
  if (target !== undefined && target !== null) link.set_target(target);
  return { source: source?.address, target: target?.address };
}

/** IoT Hub's link-error description: the device error body as JSON (docs/internals/wire-contract.md#amqp-errors). */
function linkErrorDescription(code: string, message: string): string {
  return JSON.stringify(
    formatDeviceErrorBody(
      code,
      message,
      randomUUID().replaceAll('-', ''),
      new Date().toISOString(),
    ),
  );
}

function toMessage(response: TwinResponse): OutgoingMessage {
  const annotations: Record<string, unknown> = {
    [TWIN_ANNOTATION.status]: amqpInt(response.status),
  };
  // docs/internals/wire-contract.md#amqp-twin-links: the new reported version as a long; a 204 carries no body section at all.
  if (response.version !== undefined)
    annotations[TWIN_ANNOTATION.version] = amqpLong(response.version);
  return { annotations, body: response.body };
}

/** The codec state of one AMQP connection. */
export class AmqpDeviceConnection {
  readonly connection: Connection;
  readonly session: DeviceConnection;
  readonly #guard: GuardedStream;
  readonly #cbsSenders = new Set<Sender>();
  readonly #twinSenders = new Set<TwinSenderLink>();
  readonly #twinReceivers = new Map<Receiver, TwinLink>();

  /**
   * @param connection - the rhea connection
   * @param core - the device-session core
   * @param guard - the byte guard in front of rhea (trusted once a credential holds)
   * @param drop - ends the transport abruptly
   */
  constructor(
    connection: Connection,
    core: DeviceSessionCore,
    guard: GuardedStream,
    drop: () => void,
  ) {
    this.connection = connection;
    this.#guard = guard;
    this.session = core.openConnection({
      endSession: (identity, _reason, message) => {
        this.#detachLinksOf(identity, message);
      },
      drop,
      wantsDesired: (identity) => this.#subscribedSenders(identity).length > 0,
      deliverDesired: (identity, notification) => {
        // docs/internals/wire-contract.md#amqp-twin-links: no correlation-id, $version in the body and the `version` annotation as a long.
        const message: OutgoingMessage = {
          annotations: { [TWIN_ANNOTATION.version]: amqpLong(notification.version) },
          body: notification.body,
        };
        for (const sender of this.#subscribedSenders(identity)) this.#send(sender.link, message);
      },
    });
  }

  /**
   * Adopts the credential the peer proved with SASL PLAIN (a SAS token as the password, one per
   * connection, docs/internals/wire-contract.md#amqp-connect), before any link can attach.
   *
   * @param grant - the grant the core verified during SASL
   */
  adoptSaslGrant(grant: Grant): void {
    this.session.adoptGrant(grant);
    this.#adopted(grant);
  }

  async #authenticate(token: string, audience: string | undefined): Promise<CbsStatus> {
    const result = await this.session.authenticate({ sasToken: token, audience });
    if (!result.ok) return { statusCode: 401, description: `Unauthorized: ${result.message}` };
    this.#adopted(result.grant);
    return { statusCode: 200, description: 'OK' };
  }

  #adopted(grant: Grant): void {
    this.#guard.trust();
    // A token for one identity connects it right away (connection state), as IoT Hub shows it.
    if (grant.reach.kind === 'identity') this.session.openSession(grant.reach.identity);
  }

  /** A client receiver attached: the hub sends on it (`$cbs` answers, twin responses, notifications). */
  onSenderOpen(sender: Sender): void {
    const link = internalsOf(sender);
    const { source } = echoTermini(link);
    link.local.attach.snd_settle_mode = 1;
    link.local.attach.rcv_settle_mode = 0;
    if (source === CBS_NODE) {
      this.#cbsSenders.add(sender);
      return;
    }
    const twin = this.#admitTwinLink(sender, source, 'source');
    if (twin !== undefined) this.#twinSenders.add({ ...twin, link: sender, subscribed: false });
  }

  /** A client sender attached: the hub receives on it (put-token requests, twin requests). */
  onReceiverOpen(receiver: Receiver): void {
    const link = internalsOf(receiver);
    const { target } = echoTermini(link);
    link.local.attach.rcv_settle_mode = 0;
    if (target === CBS_NODE) return;
    const twin = this.#admitTwinLink(receiver, target, 'target');
    if (twin !== undefined) this.#twinReceivers.set(receiver, twin);
  }

  /** Forgets a link the peer (or the hub) closed. */
  onLinkClosed(link: Sender | Receiver): void {
    this.#cbsSenders.delete(link as Sender);
    this.#twinReceivers.delete(link as Receiver);
    for (const twin of this.#twinSenders) if (twin.link === link) this.#twinSenders.delete(twin);
  }

  /**
   * A twin link may attach when its address is a twin address, its channel-correlation-id is
   * well-formed, and the core opens a session for its identity (docs/internals/wire-contract.md#amqp-cbs, docs/internals/wire-contract.md#amqp-twin-links). Refusals detach
   * with the conditions IoT Hub uses (docs/internals/wire-contract.md#amqp-errors).
   */
  #admitTwinLink(
    link: Sender | Receiver,
    address: unknown,
    terminus: 'source' | 'target',
  ): TwinLink | undefined {
    const parsed = typeof address === 'string' ? parseTwinLinkAddress(address) : undefined;
    if (parsed === undefined) {
      this.#refuse(
        link,
        terminus,
        AMQP_ERROR_CONDITION.notFound,
        'LinkAddressNotFound',
        `The link address '${String(address)}' did not match any of the expected formats.`,
      );
      return undefined;
    }
    const identity: DeviceIdentity = { deviceId: parsed.deviceId, moduleId: parsed.moduleId };
    const channelId = this.#stringLinkProperty(
      link,
      terminus,
      TWIN_LINK_PROPERTY.channelCorrelationId,
    );
    if (channelId === false) return undefined;
    // docs/internals/wire-contract.md#model-id: a Plug and Play device names its model on the link.
    const modelId = this.#stringLinkProperty(link, terminus, TWIN_LINK_PROPERTY.modelId);
    if (modelId === false) return undefined;
    const opened = this.session.openSession(identity, {
      modelId: modelId === '' ? undefined : modelId,
    });
    if (!opened.ok) {
      const hint = opened.reason === 'not-covered' ? ' Put a token for it on $cbs first.' : '';
      this.#refuse(
        link,
        terminus,
        AMQP_ERROR_CONDITION.unauthorizedAccess,
        'IotHubUnauthorizedAccess',
        `${opened.message}${hint}`,
      );
      return undefined;
    }
    return {
      identity,
      key: identityKey(identity),
      channelId,
    };
  }

  /**
   * Reads an optional string property of the peer's attach; a value of another type refuses the
   * link (IoT Hub answers such links with invalid-field).
   *
   * @returns the string, undefined when absent, or false when the link was refused
   */
  #stringLinkProperty(
    link: Sender | Receiver,
    terminus: 'source' | 'target',
    name: string,
  ): string | undefined | false {
    const value: unknown = internalsOf(link).remote.attach?.properties?.[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    this.#refuse(
      link,
      terminus,
      AMQP_ERROR_CONDITION.invalidField,
      'ArgumentInvalid',
      `The link property ${name} must be a string.`,
    );
    return false;
  }

  #refuse(
    link: Sender | Receiver,
    terminus: 'source' | 'target',
    condition: string,
    code: string,
    message: string,
  ): void {
    // A null terminus in our ATTACH is the refusal; the DETACH carries the reason (docs/internals/wire-contract.md#amqp-twin-links, docs/internals/wire-contract.md#amqp-errors).
    internalsOf(link).local.attach[terminus] = null;
    link.close({ condition, description: linkErrorDescription(code, message) });
  }

  /** Detaches an identity's twin links (its token expired or it was revoked). */
  #detachLinksOf(identity: DeviceIdentity, message: string): void {
    const key = identityKey(identity);
    const error = {
      condition: AMQP_ERROR_CONDITION.unauthorizedAccess,
      description: linkErrorDescription('IotHubUnauthorizedAccess', message),
    };
    for (const twin of [...this.#twinSenders]) {
      if (twin.key !== key) continue;
      this.#twinSenders.delete(twin);
      twin.link.close(error);
    }
    for (const [receiver, twin] of [...this.#twinReceivers]) {
      if (twin.key !== key) continue;
      this.#twinReceivers.delete(receiver);
      receiver.close(error);
    }
  }

  /** A message arrived on a link the peer sends on. */
  onMessage(context: EventContext): void {
    const { receiver, message } = context;
    if (receiver === undefined || message === undefined || this.session.closed) return;
    const target = internalsOf(receiver).remote.attach?.target?.address;
    if (target === CBS_NODE) {
      this.#onPutToken(context, message);
      return;
    }
    // Requests arrive pre-settled (docs/internals/wire-contract.md#amqp-twin-links). Settling them locally anyway is what frees rhea's
    // session buffer: without it the session window closes after 2048 requests. For a
    // pre-settled delivery no DISPOSITION goes out.
    (context.delivery as { accept?: () => void } | undefined)?.accept?.();
    const twin = this.#twinReceivers.get(receiver);
    if (twin !== undefined) this.#onTwinMessage(twin, message);
  }

  // docs/internals/wire-contract.md#amqp-cbs: settle (accept) the put-token first, then answer on the $cbs receiver of the
  // connection, echoing message-id as correlation-id with its AMQP type.
  #onPutToken(context: EventContext, message: Message): void {
    (context.delivery as { accept?: () => void } | undefined)?.accept?.();
    const correlationId = message.message_id;
    const replyTo = typeof message.reply_to === 'string' ? message.reply_to : undefined;
    const answer = (status: CbsStatus): void => {
      // The disposition goes out on rhea's next tick; answer after it.
      setImmediate(() => {
        this.#sendCbsResponse(replyTo, correlationId, status);
      });
    };
    const read = readPutToken(
      message.application_properties as Record<string, unknown> | undefined,
      message.body,
    );
    if (!read.ok) {
      answer(read);
      return;
    }
    this.#authenticate(read.request.token, read.request.audience).then(answer, () => {
      answer({ statusCode: 500, description: 'The hub failed to check the token.' });
    });
  }

  #sendCbsResponse(replyTo: string | undefined, correlationId: unknown, status: CbsStatus): void {
    if (this.session.closed) return;
    const senders = [...this.#cbsSenders].filter((sender) => sender.is_open());
    // Prefer the receiver whose target is the request's reply-to (C# uses a GUID address).
    const sender =
      senders.find(
        (candidate) =>
          replyTo !== undefined &&
          internalsOf(candidate).remote.attach?.target?.address === replyTo,
      ) ?? senders[0];
    if (sender === undefined) return;
    const bytes = encodeMessage({
      correlationId,
      to: replyTo,
      applicationProperties: {
        [CBS_PROPERTY.statusCode]: amqpInt(status.statusCode),
        [CBS_PROPERTY.statusDescription]: status.description,
      },
    });
    sender.send(bytes, undefined, 0);
  }

  #onTwinMessage(twin: TwinLink, message: Message): void {
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const operation = annotations[TWIN_ANNOTATION.operation];
    const resource = annotations[TWIN_ANNOTATION.resource];
    const reply = (outgoing: OutgoingMessage): void => {
      outgoing.correlationId = message.correlation_id;
      const sender = this.#pairedSenders(twin)[0];
      if (sender !== undefined) this.#send(sender.link, outgoing);
    };
    if (
      operation === KnownTwinAmqpOperation.get ||
      (operation === KnownTwinAmqpOperation.patch && resource === REPORTED_PROPERTIES_RESOURCE)
    ) {
      // A non-null `version` annotation is taken as the reported base version (docs/internals/wire-contract.md#amqp-twin-links, UNCONFIRMED).
      const base = annotations[TWIN_ANNOTATION.version];
      const request =
        operation === KnownTwinAmqpOperation.get
          ? ({ kind: 'get' } as const)
          : ({
              kind: 'patch-reported',
              body: amqpBodyText(message.body),
              baseVersion: typeof base === 'number' ? base : undefined,
            } as const);
      void this.session.twin(twin.identity, request).then((response) => {
        if (response !== undefined) reply(toMessage(response));
      });
      return;
    }
    if (
      (operation === KnownTwinAmqpOperation.put || operation === KnownTwinAmqpOperation.delete) &&
      resource === DESIRED_NOTIFICATIONS_RESOURCE
    ) {
      for (const sender of this.#pairedSenders(twin))
        sender.subscribed = operation === KnownTwinAmqpOperation.put;
      // docs/internals/wire-contract.md#amqp-twin-links: any 2xx is accepted; 200 is assumed, unconfirmed.
      reply({ annotations: { [TWIN_ANNOTATION.status]: amqpInt(200) } });
      return;
    }
    const body = formatDeviceErrorBody(
      'ArgumentInvalid',
      `Unsupported twin operation '${String(operation)}' on resource '${String(resource)}'.`,
      randomUUID().replaceAll('-', ''),
      new Date().toISOString(),
    );
    reply({ annotations: { [TWIN_ANNOTATION.status]: amqpInt(400) }, body: JSON.stringify(body) });
  }

  /** The hub sender paired with a client sender: same channel-correlation-id, else the identity's (docs/internals/wire-contract.md#amqp-twin-links). */
  #pairedSenders(twin: TwinLink): TwinSenderLink[] {
    const candidates = [...this.#twinSenders].filter(
      (sender) => sender.key === twin.key && sender.link.is_open(),
    );
    const paired = candidates.filter(
      (sender) => twin.channelId !== undefined && sender.channelId === twin.channelId,
    );
    return paired.length > 0 ? paired : candidates.slice(0, 1);
  }

  #subscribedSenders(identity: DeviceIdentity): TwinSenderLink[] {
    const key = identityKey(identity);
    return [...this.#twinSenders].filter(
      (sender) => sender.key === key && sender.subscribed && sender.link.is_open(),
    );
  }

  #send(sender: Sender, message: OutgoingMessage): void {
    if (this.session.closed || !sender.is_open()) return;
    sender.send(encodeMessage(message), undefined, 0);
  }

  /** The transport ended: forget the links and end the core's side. */
  close(): void {
    this.#cbsSenders.clear();
    this.#twinSenders.clear();
    this.#twinReceivers.clear();
    this.session.close();
  }
}
