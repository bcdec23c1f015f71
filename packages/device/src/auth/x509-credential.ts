import type { ClientCertificate } from '../transport/transport.js';
import type { DeviceAuth, DeviceCredential, DeviceIdentity } from './credential.js';

/**
 * X.509 client-certificate authentication (`x509=true`): the TLS handshake proves the identity,
 * so there is no token and nothing to renew. Needs the Node dialect; the web dialect rejects it
 * with `UnsupportedRuntimeError` because browsers cannot present a client certificate.
 */
export class X509Credential implements DeviceCredential {
  readonly identity: DeviceIdentity;
  readonly renewable = false;
  readonly #certificate: ClientCertificate;

  /**
   * @param identity - the device or module, and where to connect
   * @param certificate - PEM certificate and key (and passphrase); never logged
   * @throws {@link TypeError} when the certificate or key is empty
   */
  constructor(identity: DeviceIdentity, certificate: ClientCertificate) {
    if (!certificate.certificate || !certificate.key) {
      throw new TypeError('X.509 authentication needs both a PEM certificate and a PEM key');
    }
    this.identity = identity;
    this.#certificate = certificate;
  }

  /**
   * @returns the client certificate
   */
  getAuth(): Promise<DeviceAuth> {
    return Promise.resolve({ clientCertificate: this.#certificate });
  }
}
