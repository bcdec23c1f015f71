/**
 * What an MQTT CONNECT claims and offers (docs/internals/wire-contract.md#mqtt-connect): the identity from the client id,
 * cross-checked against the username, and the SAS token (password) or TLS client certificate.
 * Only the wire format is read here; whether the credential holds is the session core's call.
 */
import type { AuthenticateError } from 'aedes';
import {
  API_VERSION_PARAMETER,
  MQTT_MODEL_ID_PARAMETER,
  parseMqttUsername,
} from '@twinkit/twin-model/protocol';
import { thumbprintsOf } from '../device-endpoint/client-certificate.js';
import type { DeviceIdentity } from '../device-endpoint/endpoint-support.js';
import type {
  AuthenticationFailureReason,
  DeviceCredential,
} from '../device-session/credentials.js';
import { parseMqttClientId } from './topic-access.js';

/** CONNACK refusal codes (MQTT 3.1.1 §3.2.2.3) the endpoint uses. */
export type ConnackRefusal = 2 | 3 | 4 | 5;

// docs/internals/wire-contract.md#mqtt-connect says which failure gets which code.
export const CONNACK_IDENTIFIER_REJECTED = 2;
export const CONNACK_SERVER_UNAVAILABLE = 3;
export const CONNACK_BAD_USERNAME_OR_PASSWORD = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

/**
 * The CONNACK code for a refused credential: 3 for a disabled device (the C SDK reports it as
 * such), 5 otherwise.
 *
 * @param reason - why the session core refused
 */
export function connackCodeFor(
  reason: AuthenticationFailureReason | 'not-covered',
): ConnackRefusal {
  return reason === 'disabled' ? CONNACK_SERVER_UNAVAILABLE : CONNACK_NOT_AUTHORIZED;
}

/**
 * An error aedes turns into a CONNACK with this return code.
 *
 * @param returnCode - the CONNACK code
 * @param message - why (never a secret)
 */
export function authError(returnCode: ConnackRefusal, message: string): AuthenticateError {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- aedes types the code as a const enum, which isolatedModules cannot import
  return Object.assign(new Error(message), { returnCode });
}

/**
 * Reads the identity and credential of a CONNECT.
 *
 * @param clientId - the client id
 * @param username - the username, if sent
 * @param password - the password, if sent
 * @param certificateDer - the TLS client certificate, if any
 * @returns the identity, credential and announced model id
 * @throws an aedes authentication error (CONNACK 2 or 4) when the client id or username is malformed
 */
export function readConnect(
  clientId: string,
  username: string | undefined,
  password: Buffer | undefined,
  certificateDer: Uint8Array | undefined,
): { identity: DeviceIdentity; credential: DeviceCredential; modelId: string | undefined } {
  // docs/internals/wire-contract.md#mqtt-connect: the identity comes from the client id and must agree with the username.
  const identity = parseMqttClientId(clientId);
  if (identity === undefined) {
    throw authError(
      CONNACK_IDENTIFIER_REJECTED,
      'client id must be <deviceId> or <deviceId>/<moduleId>',
    );
  }
  const parsedUsername = username === undefined ? undefined : parseMqttUsername(username);
  if (
    parsedUsername?.deviceId !== identity.deviceId ||
    parsedUsername.moduleId !== identity.moduleId
  ) {
    throw authError(
      CONNACK_BAD_USERNAME_OR_PASSWORD,
      `username must be <host>/<clientId>/?${API_VERSION_PARAMETER}=… and name the same identity as the client id`,
    );
  }
  const sasToken =
    password === undefined || password.length === 0 ? undefined : password.toString('utf8');
  // docs/internals/wire-contract.md#model-id: a Plug and Play device names its model here.
  const modelId = parsedUsername.query[MQTT_MODEL_ID_PARAMETER];
  return {
    identity,
    modelId: modelId === undefined || modelId === '' ? undefined : modelId,
    credential: {
      claimed: identity,
      sasToken,
      clientCertificate: certificateDer === undefined ? undefined : thumbprintsOf(certificateDer),
    },
  };
}
