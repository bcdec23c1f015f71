/**
 * How a DeviceClient proves who it is. A credential carries the identity (hub host, device,
 * optional module and gateway) and produces fresh authentication material on demand; renewable
 * credentials are asked again before their token expires.
 */
import type { OperationOptions, ClientCertificate } from '../transport/transport.js';

/** Who the client connects as, and where. */
export interface DeviceIdentity {
  /** `HostName`, optionally with `:port` (the port is where to connect; the host is the identity). */
  hostName: string;
  deviceId: string;
  /** Set for a module identity (`ModuleId=`). */
  moduleId?: string;
  /** `GatewayHostName=host[:port]`: connect there while authenticating as `hostName` (docs/internals/wire-contract.md#endpoints). */
  gatewayHostName?: string;
}

/** Authentication material for one connection. */
export interface DeviceAuth {
  /** The SAS token (MQTT password). Never log it. */
  sasToken?: string;
  /** When `sasToken` expires, in seconds since the epoch. */
  expiresOnInSeconds?: number;
  /** A TLS client certificate (X.509 identities). */
  clientCertificate?: ClientCertificate;
}

/** A device or module credential. */
export interface DeviceCredential {
  /** Who this credential is for. */
  readonly identity: DeviceIdentity;
  /** Whether {@link DeviceCredential.getAuth} can mint a new token before the old one expires. */
  readonly renewable: boolean;
  /**
   * Produces the material for the next connection.
   *
   * @param options - cancellation
   * @returns a token (with its expiry) or a client certificate
   */
  getAuth(options?: OperationOptions): Promise<DeviceAuth>;
}
