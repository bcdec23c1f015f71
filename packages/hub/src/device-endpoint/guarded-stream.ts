/**
 * A byte stream between a transport (a TLS socket, a WebSocket as a stream) and a protocol
 * library (aedes, rhea) that lets no byte through before a protocol-aware inspector has seen it,
 * so a peer announcing a huge packet or frame is refused on the header, before the library starts
 * buffering it. Until the endpoint calls {@link GuardedStream.trust} (the peer authenticated),
 * a deadline runs: a peer that says nothing, or too little, is closed when it passes.
 */
import { Duplex } from 'node:stream';

/** Reads a protocol's framing as bytes arrive. */
export interface FrameInspector {
  /**
   * Looks at the next bytes from the peer, in order.
   *
   * @param chunk - the bytes
   * @returns `undefined` to let them through, or why the connection must close
   */
  inspect(chunk: Buffer): string | undefined;
  /** The peer authenticated: apply the limits for trusted peers from now on. */
  trust(): void;
}

/** Options of {@link GuardedStream}. */
export interface GuardedStreamOptions {
  /** How long the peer has to authenticate before the connection is closed. */
  untrustedDeadlineInMs: number;
  /** Told why the stream closed the connection (a limit or the deadline). */
  onRefused?: ((reason: string) => void) | undefined;
}

/** A duplex stream that forwards inspected bytes from `inner`, and writes straight to it. */
export class GuardedStream extends Duplex {
  readonly #inner: Duplex;
  readonly #inspector: FrameInspector;
  readonly #onRefused: ((reason: string) => void) | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #trusted = false;

  /**
   * @param inner - the transport stream
   * @param inspector - the protocol's framing rules
   * @param options - the deadline and a refusal hook
   */
  constructor(inner: Duplex, inspector: FrameInspector, options: GuardedStreamOptions) {
    super({ allowHalfOpen: false });
    this.#inner = inner;
    this.#inspector = inspector;
    this.#onRefused = options.onRefused;
    this.#deadline = setTimeout(() => {
      this.refuse(
        `no authentication within ${String(options.untrustedDeadlineInMs)} ms (authTimeoutInMs)`,
      );
    }, options.untrustedDeadlineInMs);
    this.#deadline.unref();
    inner.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const refusal = this.#inspector.inspect(chunk);
      if (refusal !== undefined) {
        this.refuse(refusal);
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('close', () => {
      this.#clearDeadline();
      if (!this.destroyed) this.destroy();
    });
    inner.on('error', (error: Error) => {
      this.destroy(error);
    });
  }

  /** Whether the peer authenticated. */
  get trusted(): boolean {
    return this.#trusted;
  }

  /** The peer authenticated: stop the deadline and lift the limits to the trusted ones. */
  trust(): void {
    if (this.#trusted) return;
    this.#trusted = true;
    this.#clearDeadline();
    this.#inspector.trust();
  }

  /**
   * Closes the connection at once (nothing more is read or buffered) and says why.
   *
   * @param reason - what limit the peer broke
   */
  refuse(reason: string): void {
    if (this.destroyed) return;
    this.#onRefused?.(reason);
    this.#inner.destroy();
    this.destroy();
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#forward(chunk, callback);
  }

  // A protocol library writes one packet in several small pieces (mqtt-packet: header, length,
  // topic, payload) under cork(). Handing them on one by one made each piece a TLS record and a
  // system call of its own, a third of the hub's time under load; joined, a packet is one write.
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#forward(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  #forward(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#inner.destroyed || !this.#inner.writable) {
      callback();
      return;
    }
    this.#inner.write(bytes, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearDeadline();
    this.#inner.destroy();
    callback(error);
  }
}
