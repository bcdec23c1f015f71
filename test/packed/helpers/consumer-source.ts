/**
 * The TypeScript consumer program the packed suite typechecks under each module setting: it
 * imports every installed entry (so a new entry is covered without editing this file) and uses a
 * few of the types an app leans on (Twin, DeviceClient, Registry, the errors).
 */

/** The part that uses types; the same text for every module setting. */
const typedUsage = `
import { DeviceClient, mqtt, type DeviceTwin } from '@twinkit/device';
import { amqp } from '@twinkit/device/amqp';
import { createFakeTransport } from '@twinkit/device/testing';
import { createHub } from '@twinkit/hub';
import { startTestHub } from '@twinkit/hub/testing';
import { PreconditionFailedError, Registry, isPreconditionFailedError, type Twin } from '@twinkit/service';
import type { JsonObject } from '@twinkit/twin-model';
import { HubError, createHubError } from '@twinkit/twin-model/errors';

interface Desired {
  color?: string;
  rate?: number;
}

export async function consume(registry: Registry, connectionString: string): Promise<string> {
  const twin: Twin<Desired> = await registry.getTwin<Desired>('dev-1');
  try {
    await registry.updateTwin(twin, { properties: { desired: { rate: 5 } } }, { onlyIfUnchanged: true });
  } catch (error) {
    if (error instanceof PreconditionFailedError) {
      const hubError: HubError = error;
      return String(hubError.statusCode) + ' ' + hubError.code;
    }
    if (isPreconditionFailedError(error)) return error.message;
    throw error;
  }
  const device: DeviceClient<Desired> = DeviceClient.fromConnectionString<Desired>(connectionString, {
    transport: mqtt({ webSocket: true }),
  });
  const overAmqp = DeviceClient.fromConnectionString(connectionString, { transport: amqp() });
  const off = device.onDesired('color', (change) => {
    const color: string | null | undefined = change.value;
    console.log(color);
  });
  off();
  const deviceTwin: DeviceTwin<Desired> = await device.getTwin();
  const reported: JsonObject = { seen: deviceTwin.desired.$version };
  await device.updateReportedProperties(reported);
  await overAmqp.close();
  const error: HubError = createHubError({ statusCode: 412 });
  return twin.properties.desired.color ?? error.name;
}

export async function hubs(): Promise<number> {
  const hub = await createHub();
  const testHub = await startTestHub();
  const fake = createFakeTransport();
  console.log(typeof hub, typeof fake);
  await testHub[Symbol.asyncDispose]();
  return testHub.httpsPort ?? 0;
}
`;

/**
 * The consumer's source text.
 *
 * @param entries - every specifier the installed packages export
 */
export function consumerSource(entries: readonly string[]): string {
  const imports = entries.map(
    (entry, index) => `import * as entry${String(index)} from '${entry}';`,
  );
  const all = entries.map((_, index) => `entry${String(index)}`).join(', ');
  return `${imports.join('\n')}\n${typedUsage}\nexport const everyEntry = [${all}];\n`;
}
