/**
 * A minimal RFC 6455 WebSocket client as a Node byte stream, for AMQP over WebSocket
 * (`wss://<host>:443/$iothub/websocket`, subprotocol `AMQPWSB10`, docs/internals/wire-contract.md#endpoints). AMQP is a byte
 * stream, so message boundaries do not matter: binary frames are masked on the way out and their
 * payloads pushed as they arrive. It exists so the transport can pass its own TLS options (the
 * hub CA, a client certificate) on Node 20, which has no global WebSocket and where the device
 * package has no `ws` dependency.
 *
 * @internal
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

/** Where and how to open the WebSocket. */
export interface WebSocketStreamOptions {
  host: string;
  port: number;
  /** Request path, e.g. `/$iothub/websocket`. */
  path: string;
  /** The subprotocol to ask for and require in the answer. */
  protocol: string;
  /** TLS settings: `ca`, `cert`, `key`, `passphrase`, `servername`. */
  tls: TlsConnectionOptions;
  /** The largest WebSocket frame payload to accept; a larger one closes the stream. */
  maxFrameBytes: number;
  /** Called once the upgrade succeeded and the stream carries data. */
  onOpen: () => void;
}

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL_ERROR = 1002;
/** RFC 6455 §7.4.1: the message is too big to process. */
const CLOSE_MESSAGE_TOO_BIG = 1009;

/**
 * Encodes one client frame (always masked, RFC 6455 §5.3).
 *
 * @param opcode - frame opcode
 * @param payload - frame payload
 * @returns the frame bytes
 */
export function encodeClientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = 0x80 | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(header, 2 + lengthBytes);
  const body = Buffer.alloc(length);
  for (let index = 0; index < length; index += 1) {
    body[index] = (payload[index] ?? 0) ^ (mask[index & 3] ?? 0);
  }
  return Buffer.concat([header, body]);
}

/** One frame read from the server, or `undefined` when more bytes are needed. */
interface DecodedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  size: number;
}

/**
 * The payload length a frame header announces, as soon as the header is in.
 *
 * @param buffer - bytes received so far, starting at a frame
 * @returns the announced length, or `undefined` while the header is incomplete
 */
export function announcedPayloadLength(buffer: Buffer): number | undefined {
  if (buffer.length < 2) return undefined;
  const length = (buffer[1] ?? 0) & 0x7f;
  if (length === 126) return buffer.length < 4 ? undefined : buffer.readUInt16BE(2);
  if (length === 127) return buffer.length < 10 ? undefined : Number(buffer.readBigUInt64BE(2));
  return length;
}

/**
 * Decodes one frame from the start of a buffer (server frames are unmasked, but masked ones are
 * accepted).
 *
 * @param buffer - bytes received so far
 * @returns the frame and how many bytes it used, or `undefined` when incomplete
 */
export function decodeFrame(buffer: Buffer): DecodedFrame | undefined {
  if (buffer.length < 2) return undefined;
  const first = buffer[0] ?? 0;
  const second = buffer[1] ?? 0;
  let offset = 2;
  let length = second & 0x7f;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (second & 0x80) !== 0;
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) {
    for (let index = 0; index < payload.length; index += 1) {
      payload[index] = (payload[index] ?? 0) ^ (buffer[maskOffset + (index & 3)] ?? 0);
    }
  }
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload, size: offset + length };
}

/**
 * The WebSocket as a duplex byte stream: writes become binary frames, binary payloads become
 * reads. Errors (a refused upgrade, a TLS failure) destroy the stream with the cause.
 *
 * @internal
 */
export class WebSocketStream extends Duplex {
  readonly #maxFrameBytes: number;
  #socket: Socket | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #closeSent = false;
  #ended = false;

  constructor(options: WebSocketStreamOptions) {
    super();
    this.#maxFrameBytes = options.maxFrameBytes;
    const key = randomBytes(16).toString('base64');
    const request = httpsRequest({
      host: options.host,
      port: options.port,
      path: options.path,
      method: 'GET',
      agent: false,
      ...options.tls,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': key,
        'sec-websocket-version': '13',
        'sec-websocket-protocol': options.protocol,
      },
    });
    request.once('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
      const expected = createHash('sha1')
        .update(key + ACCEPT_GUID)
        .digest('base64');
      const accepted = response.headers['sec-websocket-accept'];
      const protocol = response.headers['sec-websocket-protocol'];
      if (accepted !== expected || protocol?.toLowerCase() !== options.protocol.toLowerCase()) {
        socket.destroy();
        this.destroy(
          new Error(
            `The server answered the WebSocket upgrade without the ${options.protocol} subprotocol.`,
          ),
        );
        return;
      }
      this.#attach(socket, head);
      options.onOpen();
    });
    request.once('response', (response: IncomingMessage) => {
      response.resume();
      this.destroy(
        new Error(
          `The server refused the WebSocket upgrade with HTTP ${String(response.statusCode)}.`,
        ),
      );
    });
    request.once('error', (error) => {
      this.destroy(error);
    });
    request.end();
  }

  #attach(socket: Socket, head: Buffer): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.once('error', (error) => {
      this.destroy(error);
    });
    socket.once('close', () => {
      this.#finishReading();
    });
    if (head.length > 0) this.#onData(head);
  }

  #onData(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      // Refuse an oversized frame from its header, before buffering its payload.
      const announced = announcedPayloadLength(this.#pending);
      if (announced !== undefined && announced > this.#maxFrameBytes) {
        this.#sendClose(CLOSE_MESSAGE_TOO_BIG);
        this.destroy(
          new Error(
            `The server sent a WebSocket frame of ${String(announced)} bytes, more than the ${String(this.#maxFrameBytes)} accepted.`,
          ),
        );
        return;
      }
      const frame = decodeFrame(this.#pending);
      if (frame === undefined) return;
      this.#pending = this.#pending.subarray(frame.size);
      switch (frame.opcode) {
        case OPCODE_BINARY:
        case OPCODE_CONTINUATION:
          if (!this.push(frame.payload)) this.#socket?.pause();
          break;
        case OPCODE_PING:
          this.#socket?.write(encodeClientFrame(OPCODE_PONG, frame.payload));
          break;
        case OPCODE_PONG:
          break;
        case OPCODE_CLOSE:
          this.#sendClose(CLOSE_NORMAL);
          this.#socket?.end();
          this.#finishReading();
          return;
        case OPCODE_TEXT:
        default:
          // AMQP over WebSocket is binary only.
          this.#sendClose(CLOSE_PROTOCOL_ERROR);
          this.destroy(new Error(`Unexpected WebSocket frame (opcode ${String(frame.opcode)}).`));
          return;
      }
    }
  }

  #finishReading(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.push(null);
  }

  #sendClose(code: number): void {
    if (this.#closeSent || this.#socket === undefined || this.#socket.destroyed) return;
    this.#closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code, 0);
    this.#socket.write(encodeClientFrame(OPCODE_CLOSE, payload));
  }

  override _read(): void {
    this.#socket?.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) {
      callback(new Error('The WebSocket is not open.'));
      return;
    }
    socket.write(encodeClientFrame(OPCODE_BINARY, chunk), (error) => {
      callback(error ?? null);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sendClose(CLOSE_NORMAL);
    this.#socket?.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket?.destroy();
    callback(error);
  }
}
