import { createSasToken, deviceResourceUri, splitHostPort } from '@twinkit/twin-model/protocol';
import type { DeviceAuth, DeviceCredential, DeviceIdentity } from './credential.js';

/** Options of a {@link SasKeyCredential}. */
export interface SasKeyCredentialOptions {
  /** Lifetime of each token. Default 3600 s, as the official SDKs use. */
  tokenValidityInSeconds?: number;
  /** Policy name when the key is a hub policy key (`SharedAccessKeyName=`); sent as `skn`. */
  sharedAccessKeyName?: string;
}

/**
 * A device or module symmetric key; signs a new SAS token (WebCrypto, via twin-model) for every
 * connection, so the client can renew before expiry (docs/internals/wire-contract.md#sas-tokens).
 *
 * @example
 * ```ts
 * const credential = new SasKeyCredential({ hostName: 'hub.example', deviceId: 'dev-1' }, key);
 * const client = new DeviceClient(credential);
 * ```
 */
export class SasKeyCredential implements DeviceCredential {
  readonly identity: DeviceIdentity;
  readonly renewable = true;
  readonly #key: string;
  readonly #keyName: string | undefined;
  readonly #validityInSeconds: number;
  #lastExpiryInSeconds = 0;

  /**
   * @param identity - the device or module, and where to connect
   * @param sharedAccessKey - the base64 key; kept private and never logged
   * @param options - token lifetime and policy name
   * @throws {@link RangeError} when `tokenValidityInSeconds` is not a positive number
   */
  constructor(
    identity: DeviceIdentity,
    sharedAccessKey: string,
    options: SasKeyCredentialOptions = {},
  ) {
    const validity = options.tokenValidityInSeconds ?? 3600;
    if (!(validity > 0) || !Number.isFinite(validity)) {
      throw new RangeError('tokenValidityInSeconds must be a positive number of seconds');
    }
    this.identity = identity;
    this.#key = sharedAccessKey;
    this.#keyName = options.sharedAccessKeyName;
    this.#validityInSeconds = validity;
  }

  /**
   * Signs a token valid from now for `tokenValidityInSeconds`.
   *
   * @returns the token and its expiry
   */
  async getAuth(): Promise<DeviceAuth> {
    // Every token must differ from the last: a hub that expired or refused a token (SAS renewal,
    // `expireToken`) would refuse the same text again, and a reconnect often lands in the same second.
    const expiresOnInSeconds = Math.max(
      Math.floor(Date.now() / 1000) + this.#validityInSeconds,
      this.#lastExpiryInSeconds + 1,
    );
    this.#lastExpiryInSeconds = expiresOnInSeconds;
    const host = splitHostPort(this.identity.hostName).host;
    const sasToken = await createSasToken({
      resourceUri: deviceResourceUri(host, this.identity.deviceId, this.identity.moduleId),
      key: this.#key,
      ...(this.#keyName === undefined ? {} : { keyName: this.#keyName }),
      expiresOnInSeconds,
    });
    return { sasToken, expiresOnInSeconds };
  }
}
