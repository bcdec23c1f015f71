/**
 * The AMQP transport as `amqp()` hands it out: a stand-in that loads the real one (and rhea with
 * it) on its first call, which is the client's `open()`. Importing `@twinkit/device/amqp` and
 * building a client therefore load no protocol library; every call is the real transport's, so
 * behaviour is exactly the same.
 *
 * @internal
 */
import type { AmqpTransportOptions } from '../amqp-options.js';
import type {
  ConnectParams,
  DeviceTransport,
  OperationOptions,
  TransportContext,
  TransportHandlers,
  TransportRequestOptions,
} from '../transport.js';
import type * as AmqpTransportModule from './amqp-transport.js';

type AmqpModule = typeof AmqpTransportModule;

let loading: Promise<AmqpModule> | undefined;

/** Loads `AmqpTransport` on first use and forwards every call to it. */
export class LazyAmqpTransport implements DeviceTransport {
  readonly #create: (module: AmqpModule) => DeviceTransport;
  #real: DeviceTransport | Promise<DeviceTransport> | undefined;

  constructor(
    settings: AmqpTransportOptions,
    handlers: TransportHandlers,
    context: TransportContext,
  ) {
    this.#create = ({ AmqpTransport }) => new AmqpTransport(settings, handlers, context);
  }

  #load(): DeviceTransport | Promise<DeviceTransport> {
    this.#real ??= (loading ??= import('./amqp-transport.js')).then((module) => {
      const real = this.#create(module);
      this.#real = real;
      return real;
    });
    return this.#real;
  }

  async connect(params: ConnectParams, options?: TransportRequestOptions): Promise<void> {
    return (await this.#load()).connect(params, options);
  }

  async disconnect(options?: OperationOptions): Promise<void> {
    return (await this.#load()).disconnect(options);
  }

  async getTwin(options?: TransportRequestOptions): ReturnType<DeviceTransport['getTwin']> {
    return (await this.#load()).getTwin(options);
  }

  async patchReported(
    ...args: Parameters<DeviceTransport['patchReported']>
  ): ReturnType<DeviceTransport['patchReported']> {
    return (await this.#load()).patchReported(...args);
  }

  async setDesiredSubscription(enabled: boolean, options?: TransportRequestOptions): Promise<void> {
    return (await this.#load()).setDesiredSubscription(enabled, options);
  }

  async updateCredentials(params: ConnectParams, options?: TransportRequestOptions): Promise<void> {
    return (await this.#load()).updateCredentials(params, options);
  }
}
