/** The identity half of a twin's service view, built from the hub's identity record. */
import type { TwinIdentityFields } from '@twinkit/twin-model';
import { formatIdentityEtag, type IdentityRecord } from '../state/identity.js';

/**
 * The identity fields of a twin's service view, from the identity record.
 *
 * @param identity - the identity
 */
export function identityFields(identity: IdentityRecord): TwinIdentityFields {
  const fields: TwinIdentityFields = {
    deviceEtag: formatIdentityEtag(identity.etagNumber),
    status: identity.status,
    statusUpdateTime: identity.statusUpdatedTime,
    connectionState: identity.connectionState,
    lastActivityTime: identity.lastActivityTime,
    cloudToDeviceMessageCount: identity.cloudToDeviceMessageCount,
    authenticationType: identity.authentication.type,
    x509Thumbprint: { ...identity.authentication.x509Thumbprint },
    modelId: identity.modelId,
  };
  if (identity.statusReason !== null) fields.statusReason = identity.statusReason;
  if (identity.moduleId === undefined) {
    fields.capabilities = { ...identity.capabilities };
    if (identity.deviceScope !== undefined) fields.deviceScope = identity.deviceScope;
    if (identity.parentScopes !== undefined) fields.parentScopes = [...identity.parentScopes];
  }
  return fields;
}
