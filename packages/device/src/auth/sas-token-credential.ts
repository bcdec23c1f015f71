import { deviceResourceUri, parseSasToken, splitHostPort } from '@twinkit/twin-model/protocol';
import type { OperationOptions } from '../transport/transport.js';
import type { DeviceAuth, DeviceCredential, DeviceIdentity } from './credential.js';

/**
 * Supplies SAS tokens on demand, for apps whose tokens are minted elsewhere (a backend, an HSM).
 * Called before the first connection and again before each token expires.
 *
 * @param context - the resource the token must cover (unencoded, `host/devices/id[/modules/mid]`) and a signal
 * @returns a full token string, `SharedAccessSignature sr=…&sig=…&se=…`
 */
export type SasTokenProvider = (context: {
  resourceUri: string;
  abortSignal?: AbortSignal;
}) => Promise<string>;

/**
 * SAS tokens from a fixed string (not renewable) or from a {@link SasTokenProvider}
 * (renewed before expiry). The expiry is read from the token's `se` field.
 */
export class SasTokenCredential implements DeviceCredential {
  readonly identity: DeviceIdentity;
  readonly renewable: boolean;
  readonly #source: string | SasTokenProvider;

  /**
   * @param identity - the device or module, and where to connect
   * @param source - a token, or a function that returns a fresh one
   * @throws {@link TypeError} when a fixed token is malformed
   */
  constructor(identity: DeviceIdentity, source: string | SasTokenProvider) {
    if (typeof source === 'string') parseSasToken(source);
    this.identity = identity;
    this.#source = source;
    this.renewable = typeof source === 'function';
  }

  /**
   * Returns the fixed token, or asks the provider for a fresh one.
   *
   * @param options - cancellation
   * @returns the token and its expiry
   * @throws {@link TypeError} when the provider returns something that is not a SAS token
   */
  async getAuth(options: OperationOptions = {}): Promise<DeviceAuth> {
    let token: string;
    if (typeof this.#source === 'string') {
      token = this.#source;
    } else {
      const host = splitHostPort(this.identity.hostName).host;
      const resourceUri = deviceResourceUri(host, this.identity.deviceId, this.identity.moduleId);
      token = await this.#source({
        resourceUri,
        ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
      });
    }
    let expiresOnInSeconds: number;
    try {
      expiresOnInSeconds = parseSasToken(token).expiresOnInSeconds;
    } catch (error) {
      throw new TypeError(
        `The SAS token provider returned an invalid token: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return { sasToken: token, expiresOnInSeconds };
  }
}
