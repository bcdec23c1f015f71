/**
 * Shared access policies and the permissions they grant (docs/internals/wire-contract.md#service-connection-strings, docs/internals/wire-contract.md#sas-verification), plus the
 * well-known development policies every hub starts with unless configured otherwise.
 */

/** A permission a shared access policy can grant. */
export type HubPermission = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';

/** All permissions, for validation and docs. */
export const KnownHubPermission = Object.freeze({
  RegistryRead: 'RegistryRead',
  RegistryWrite: 'RegistryWrite',
  ServiceConnect: 'ServiceConnect',
  DeviceConnect: 'DeviceConnect',
} as const);

/** A hub-level shared access policy: a key name, its keys and what it may do. */
export interface SharedAccessPolicy {
  /** The policy name (`skn` in tokens, `SharedAccessKeyName` in connection strings). */
  keyName: string;
  /** Base64 key. */
  primaryKey: string;
  /** Base64 key; tokens signed with either key are accepted. */
  secondaryKey?: string;
  /** What tokens signed with this policy may do. */
  rights: readonly HubPermission[];
}

/**
 * The well-known development policies, with fixed keys published in the README (like Azurite's
 * account key), so that tools and CI scripts can hard-code a connection string. They are
 * development credentials: never use them for anything reachable from outside the machine.
 */
export const WELL_KNOWN_POLICIES: readonly SharedAccessPolicy[] = Object.freeze([
  {
    keyName: 'iothubowner',
    primaryKey: 'SHr8g6XNEVhVQVVVboLVCmymUZYawH8SnuE6jC9VgcM=',
    secondaryKey: 'LgLQkSwkIkC3Fu045HBBNMxA2P/EricJwZhqR8hPIf8=',
    rights: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
  },
  {
    keyName: 'service',
    primaryKey: 'll+tNCubxNUZAQ2zsIf4OLnwPsssjzglN9VPxT24IQ4=',
    secondaryKey: 'u9XXXcSBsP71XGNgEhnSU7RsiVxHUkXQxax9D3IgAOM=',
    rights: ['ServiceConnect'],
  },
  {
    keyName: 'device',
    primaryKey: 'hZJxtucSpl9c1A4x9GPoeH/83EecpsIEz0kK4QqJOi8=',
    secondaryKey: 'PBNZGCaRllBgnniynt9OyxAOkeyuWujjAKx0YSBPNlE=',
    rights: ['DeviceConnect'],
  },
  {
    keyName: 'registryRead',
    primaryKey: 'RdJia9VSAryEO1eGD240I1SzlQ0QLb6HmBftjHh7H3g=',
    secondaryKey: 'X9cZbVSuzEq1OBJfhQtOPKNTIqDI3sczeeotuU7v41Q=',
    rights: ['RegistryRead'],
  },
  {
    keyName: 'registryReadWrite',
    primaryKey: 'yVt4yNRHxIMowu2rpqrgVdu1q85lPnSQSGgdym5FGH0=',
    secondaryKey: 'WPxner9aW2pv2hiD30fkVyNtAG9pJtGRA/xpQJMczF8=',
    rights: ['RegistryRead', 'RegistryWrite'],
  },
] satisfies SharedAccessPolicy[]);

/** What a REST operation touches, in the terms of IoT Hub's data actions. */
export type HubDataAction = 'devices/read' | 'devices/write' | 'twins/read' | 'twins/write';

/**
 * The data actions a policy permission allows (docs/internals/wire-contract.md#sas-verification): ServiceConnect covers twins
 * and queries, RegistryRead/RegistryWrite cover identities.
 *
 * @param rights - the permissions of a policy
 * @returns the data actions they allow
 */
export function actionsForPermissions(rights: readonly HubPermission[]): Set<HubDataAction> {
  const actions = new Set<HubDataAction>();
  for (const right of rights) {
    switch (right) {
      case 'RegistryRead':
        actions.add('devices/read');
        break;
      case 'RegistryWrite':
        actions.add('devices/read');
        actions.add('devices/write');
        break;
      case 'ServiceConnect':
        actions.add('twins/read');
        actions.add('twins/write');
        break;
      case 'DeviceConnect':
        break;
    }
  }
  return actions;
}

/**
 * Role names accepted in the `roles` claim of Bearer tokens, and the data actions each grants.
 * The `IoTHub.*` names mirror the policy permissions; the others are Azure's built-in role names
 * for IoT Hub data-plane RBAC, so a token minted for a test can say what the real assignment is.
 */
export const BEARER_ROLE_ACTIONS: Readonly<Record<string, readonly HubDataAction[]>> =
  Object.freeze({
    'IoTHub.Registry.Read': ['devices/read'],
    'IoTHub.Registry.Write': ['devices/read', 'devices/write'],
    'IoTHub.Service.Connect': ['twins/read', 'twins/write'],
    'IoTHub.Twin.Read': ['twins/read'],
    'IoT Hub Data Contributor': ['devices/read', 'devices/write', 'twins/read', 'twins/write'],
    'IoT Hub Data Reader': ['devices/read', 'twins/read'],
    'IoT Hub Registry Contributor': ['devices/read', 'devices/write'],
    'IoT Hub Twin Contributor': ['twins/read', 'twins/write'],
  });

/**
 * Checks a policy list: names unique and non-empty, keys base64 of 16-64 bytes, rights known.
 *
 * @param policies - the configured policies
 * @throws {@link TypeError} naming the policy at fault (never its key)
 */
export function assertValidPolicies(policies: readonly SharedAccessPolicy[]): void {
  const names = new Set<string>();
  const known = new Set<string>(Object.values(KnownHubPermission));
  for (const policy of policies) {
    if (typeof policy.keyName !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(policy.keyName)) {
      throw new TypeError(
        `Shared access policy name ${JSON.stringify(policy.keyName)} is invalid (1-64 of A-Z a-z 0-9 . _ -).`,
      );
    }
    if (names.has(policy.keyName))
      throw new TypeError(`Shared access policy '${policy.keyName}' is defined twice.`);
    names.add(policy.keyName);
    for (const key of [policy.primaryKey, policy.secondaryKey]) {
      if (key === undefined) continue;
      const bytes =
        typeof key === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(key)
          ? Buffer.from(key, 'base64').length
          : 0;
      if (bytes < 16 || bytes > 64) {
        throw new TypeError(
          `A key of shared access policy '${policy.keyName}' is not base64 of 16 to 64 bytes.`,
        );
      }
    }
    for (const right of policy.rights) {
      if (!known.has(right))
        throw new TypeError(
          `Shared access policy '${policy.keyName}' has unknown right ${JSON.stringify(right)}.`,
        );
    }
  }
}
