/** Whether a SAS token's audience covers a resource of this hub. */
import { resourceCovers } from '@twinkit/twin-model/protocol';

/**
 * Whether a token's decoded `sr` covers a resource of this hub. The `sr` host may carry a port
 * (clients given `HostName=localhost:8443` sign `localhost:8443/…`), which is ignored; the rest
 * is twin-model's segment-prefix rule (docs/internals/wire-contract.md#sas-resource-uris).
 *
 * @param audience - the token's decoded `sr`
 * @param hostName - the hub host name
 * @param resource - `<hostName>/<path>` being accessed
 */
export function scopeCovers(audience: string, hostName: string, resource: string): boolean {
  const slash = audience.indexOf('/');
  const host = slash === -1 ? audience : audience.slice(0, slash);
  const rest = slash === -1 ? '' : audience.slice(slash);
  const bareHost = host.replace(/:\d+$/, '');
  if (bareHost.toLowerCase() !== hostName.toLowerCase()) return false;
  return resourceCovers(`${hostName}${rest}`, resource);
}
