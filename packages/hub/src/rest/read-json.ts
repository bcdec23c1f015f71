/**
 * Reading a JSON request body with a hard cap: a declared `Content-Length` over the cap is
 * refused before a byte is read, and a streamed body is refused as soon as it passes the cap,
 * so the hub never holds more than the cap of one request in memory.
 */
import type { IncomingMessage } from 'node:http';
import { hubFailure } from './hub-failure.js';

/**
 * The Node request behind each web request that `listen()` hands to the hub: its body is read
 * straight off the Node stream. Through the web `Request` it would cost a full undici `Request`,
 * an `AbortSignal` and a `ReadableStream` per call, a fifth of the hub's time for a twin PATCH.
 */
const nodeRequests = new WeakMap<Request, IncomingMessage>();

/**
 * Lets {@link readJson} read a request's body from the Node request it came from.
 *
 * @param request - the web request the hub is given
 * @param incoming - the Node request it was made from
 * @internal
 */
export function readBodyFromNode(request: Request, incoming: IncomingMessage): void {
  nodeRequests.set(request, incoming);
}

/**
 * The largest bodies the REST API reads, in bytes. IoT Hub's own limits are on content, not
 * bytes, so each cap is that content at its largest with JSON's overhead (quotes, separators,
 * and `\uXXXX` escapes that turn one character into six):
 *
 * - twin sections hold at most 8 KB of tags and 32 KB each of desired and reported properties
 *   (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins, "Tags and
 *   properties format"; docs/internals/twin-semantics.md#limits): 6 × 72 KB plus the `$metadata` a client may echo
 *   back from a GET stays under 1 MiB;
 * - a bulk request carries at most 100 devices
 *   (https://learn.microsoft.com/rest/api/iothub/service/bulkregistry/updateregistry): 100
 *   entries of an identity and 40 KB of tags and desired properties at 4 bytes per counted byte;
 * - a query is at most 8,192 characters (docs/internals/twin-semantics.md#query-errors, IoT Hub quotas page), 6 × 8 KB
 *   with the `{"query":…}` wrapper;
 * - an identity is a few hundred bytes of ids, keys and thumbprints.
 */
export const REST_BODY_LIMITS = Object.freeze({
  twin: 1024 * 1024,
  bulk: 16 * 1024 * 1024,
  query: 64 * 1024,
  identity: 64 * 1024,
});

/**
 * Reads and parses a JSON request body of at most `limit` bytes. Malformed JSON is a 400
 * ArgumentInvalid like the hub's; a body over the cap is a 413 MessageTooLarge.
 *
 * @param request - the request
 * @param limit - the most bytes to read
 * @returns the parsed body (`undefined` for an empty body)
 * @throws a 413 HubError past the cap (without reading the rest), a 400 HubError for bad JSON
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const text = await readBodyText(request, limit);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw hubFailure(
      400,
      'ArgumentInvalid',
      `The request body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}.`,
    );
  }
}

async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const incoming = nodeRequests.get(request);
  if (incoming !== undefined) return readIncomingText(incoming, limit);
  if (request.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Stop pulling: the rest stays in the socket, which is closed after the 413.
      void reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function readIncomingText(incoming: IncomingMessage, limit: number): Promise<string> {
  // Nothing reads the body before the hub does, so an ended stream had none.
  if (incoming.readableEnded) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', reject);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) {
        // Stop pulling: the rest stays in the socket, which is closed after the 413.
        stop();
        incoming.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, total).toString('utf8'));
    };
    const onClose = (): void => {
      if (incoming.readableEnded) return;
      stop();
      reject(new Error('The client closed the connection before its request body was complete.'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', reject);
    incoming.on('close', onClose);
  });
}

function tooLarge(limit: number) {
  return hubFailure(
    413,
    'MessageTooLarge',
    `The request body is larger than this operation accepts (${String(limit)} bytes).`,
  );
}
