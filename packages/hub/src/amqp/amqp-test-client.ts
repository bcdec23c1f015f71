/**
 * Raw rhea clients for the AMQP endpoint's tests: connections over TLS or WebSocket, CBS
 * put-tokens and twin link pairs, written against the wire (docs/internals/wire-contract.md#amqp) rather than the
 * device transport. Not part of the package's public API.
 *
 * @internal
 */
import {
  API_VERSION,
  IOTHUB_WEBSOCKET_PATH,
  KnownWebSocketSubprotocol,
  TWIN_LINK_PROPERTY,
} from '@twinkit/twin-model/protocol';
import rhea, {
  type Connection,
  type Container,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { encodeMessage } from './amqp-message.js';
import type { AmqpTestHub, KeyedAmqpIdentity } from './amqp-test-hub.js';

export interface Client extends AsyncDisposable {
  container: Container;
  connection: Connection;
}

export async function openClient(
  hub: AmqpTestHub,
  options: { webSocket?: boolean; sasl?: 'MSSBCBS' | { username: string; password: string } } = {},
): Promise<Client> {
  const container = rhea.create_container({ id: `test-${Math.random().toString(36).slice(2)}` });
  container.on('error', () => undefined);
  let connection: Connection;
  if (options.webSocket === true) {
    const connect = container.websocket_connect(WebSocket);
    connection = container.connect({
      connection_details: connect(
        `wss://127.0.0.1:${String(hub.httpsPort)}${IOTHUB_WEBSOCKET_PATH}`,
        [KnownWebSocketSubprotocol.amqp],
        {
          ca: hub.hub.caCertificate,
          servername: 'localhost',
        },
      ),
      hostname: 'localhost',
      reconnect: false,
    } as unknown as Parameters<Container['connect']>[0]);
  } else {
    const sasl = options.sasl;
    const mechanisms = container.sasl.client_mechanisms() as Record<string, unknown> & {
      enable_plain(user: string, password: string): void;
    };
    if (sasl === 'MSSBCBS') {
      mechanisms.MSSBCBS = () => ({
        start: (callback: (error: unknown, response: Buffer) => void) => {
          callback(undefined, Buffer.alloc(0));
        },
      });
    } else if (sasl !== undefined) {
      mechanisms.enable_plain(sasl.username, sasl.password);
    }
    connection = container.connect({
      transport: 'tls',
      host: '127.0.0.1',
      port: hub.amqpPort,
      servername: 'localhost',
      ca: hub.hub.caCertificate,
      hostname: 'localhost',
      reconnect: false,
      ...(sasl === undefined ? {} : { sasl_mechanisms: mechanisms }),
    });
  }
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => {
      resolve();
    });
    connection.once('connection_error', (context: EventContext) => {
      reject(context.error ?? new Error('connection error'));
    });
    connection.once('disconnected', (context: EventContext) => {
      reject(context.error ?? new Error('disconnected'));
    });
  });
  return {
    container,
    connection,
    async [Symbol.asyncDispose]() {
      if (!connection.is_open()) return;
      await new Promise<void>((resolve) => {
        connection.once('connection_close', () => {
          resolve();
        });
        connection.once('disconnected', () => {
          resolve();
        });
        connection.close();
      });
    },
  };
}

export function sendWhenSendable(sender: Sender, message: Message | Buffer, format?: number): void {
  const send = () => {
    if (format === undefined) sender.send(message);
    else sender.send(message, undefined, format);
  };
  if (sender.sendable()) send();
  else sender.once('sendable', send);
}

export function nextMessage(
  receiver: Receiver,
  match: (message: Message) => boolean = () => true,
): Promise<Message> {
  return new Promise((resolve) => {
    const onMessage = (context: EventContext) => {
      if (context.message === undefined || !match(context.message)) return;
      receiver.off('message', onMessage);
      resolve(context.message);
    };
    receiver.on('message', onMessage);
  });
}

const cbsLinks = new WeakMap<Client, { sender: Sender; receiver: Receiver }>();

export async function putToken(
  client: Client,
  options: { token: string; audience: string; messageId?: unknown },
): Promise<Message> {
  let links = cbsLinks.get(client);
  if (links === undefined) {
    links = {
      sender: client.connection.open_sender({ target: { address: '$cbs' } }),
      receiver: client.connection.open_receiver({ source: { address: '$cbs' } }),
    };
    cbsLinks.set(client, links);
  }
  const { sender, receiver } = links;
  const messageId = options.messageId ?? 'put-1';
  const answer = nextMessage(receiver, (message) => message.correlation_id === messageId);
  sendWhenSendable(sender, {
    message_id: messageId as string,
    reply_to: 'cbs',
    to: '$cbs',
    application_properties: {
      operation: 'put-token',
      type: 'servicebus.windows.net:sastoken',
      name: options.audience,
    },
    body: options.token,
  });
  return answer;
}

export async function authorize(
  hub: AmqpTestHub,
  client: Client,
  identity: KeyedAmqpIdentity,
): Promise<void> {
  const path = `localhost/devices/${identity.deviceId}${identity.moduleId === undefined ? '' : `/modules/${identity.moduleId}`}`;
  const answer = await putToken(client, {
    token: await hub.deviceToken(identity),
    audience: encodeURIComponent(path),
  });
  expect(answer.application_properties?.['status-code']).toBe(200);
}

export interface TwinPair {
  sender: Sender;
  receiver: Receiver;
  closed: Promise<{ condition?: string | undefined }>;
  request(
    annotations: Record<string, unknown>,
    body?: string | null,
    correlationId?: string,
  ): Promise<Message>;
}

export function attachTwin(client: Client, address: string, channel = 'twin:1'): TwinPair {
  const properties = {
    [TWIN_LINK_PROPERTY.channelCorrelationId]: channel,
    [TWIN_LINK_PROPERTY.apiVersion]: API_VERSION,
  };
  const sender = client.connection.open_sender({
    target: { address },
    properties,
    snd_settle_mode: 1,
    rcv_settle_mode: 0,
  });
  const receiver = client.connection.open_receiver({
    source: { address },
    properties,
    snd_settle_mode: 1,
    rcv_settle_mode: 0,
  });
  const closed = new Promise<{ condition?: string | undefined }>((resolve) => {
    const onClose = (context: EventContext) => {
      const link = context.receiver ?? context.sender;
      resolve({
        condition: (link as unknown as { error?: { condition?: string } } | undefined)?.error
          ?.condition,
      });
    };
    receiver.once('receiver_close', onClose);
    receiver.once('receiver_error', onClose);
  });
  let counter = 0;
  return {
    sender,
    receiver,
    closed,
    request(annotations, body = ' ', correlationId) {
      counter += 1;
      const id = correlationId ?? `req-${String(counter)}`;
      const answer = nextMessage(receiver, (message) => message.correlation_id === id);
      if (body === null) {
        // No body section at all, as C# sends GET and PUT.
        sendWhenSendable(sender, encodeMessage({ correlationId: id, annotations }), 0);
      } else {
        sendWhenSendable(sender, {
          correlation_id: id,
          message_annotations: annotations,
          body: rhea.message.data_section(Buffer.from(body)) as unknown,
        });
      }
      return answer;
    },
  };
}

export const GET = { operation: 'GET' };
export const PATCH = { operation: 'PATCH', resource: '/properties/reported' };
export const SUBSCRIBE = { operation: 'PUT', resource: '/notifications/twin/properties/desired' };
export const UNSUBSCRIBE = {
  operation: 'DELETE',
  resource: '/notifications/twin/properties/desired',
};
