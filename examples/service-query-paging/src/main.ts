/**
 * @summary The two queries of the guide's AddTagsAndQuery app, read page by page: the devices in
 * plant Redmond43, then those of them that report a cellular connection. The first is read with
 * `for await` over `queryTwins(sql).byPage({ maxPageSize })`, whose pages carry a continuation
 * token that resumes the query later (even in another process); the second with the official
 * SDK's style kept for migrating code, `createQuery(sql, { pageSize })` and `nextAsTwin()` while
 * `hasMoreResults`.
 */
import { DeviceClient, mqtt } from '@twinkit/device';
import { check, openPlayground } from '@twinkit/example-shared';
import type { Twin } from '@twinkit/service';

const fleet = [
  { id: 'thermostat-01', plant: 'Redmond43', connectivity: 'cellular' },
  { id: 'thermostat-02', plant: 'Redmond43', connectivity: 'wifi' },
  { id: 'thermostat-03', plant: 'Redmond43', connectivity: 'cellular' },
  { id: 'thermostat-04', plant: 'Redmond43', connectivity: 'cellular' },
  { id: 'thermostat-05', plant: 'Seattle1', connectivity: 'cellular' },
  { id: 'thermostat-06', plant: 'Lyon7', connectivity: 'wired' },
];
const inRedmond = "SELECT * FROM devices WHERE tags.location.plant = 'Redmond43'";
const cellularInRedmond = `${inRedmond} AND properties.reported.connectivity.type = 'cellular'`;

await using playground = await openPlayground();
const { registry } = playground;

console.log('1. Each device reports its connectivity over MQTT; the back end tags its plant.');
const expected = { inRedmond: new Set<string>(), cellularInRedmond: new Set<string>() };
// Against Azure there is one device: it plays the first fleet member.
for (const member of playground.kind === 'local' ? fleet : fleet.slice(0, 1)) {
  const { deviceId, connectionString } = await playground.addDevice(member.id);
  await using device = DeviceClient.fromConnectionString(connectionString, {
    ...playground.deviceOptions,
    transport: mqtt(),
  });
  await device.open();
  await device.updateReportedProperties({ connectivity: { type: member.connectivity } });
  await registry.updateTwin(deviceId, {
    tags: { location: { region: 'US', plant: member.plant } },
  });
  console.log(`   ${deviceId}: plant ${member.plant}, ${member.connectivity}`);
  if (member.plant === 'Redmond43') expected.inRedmond.add(deviceId);
  if (member.plant === 'Redmond43' && member.connectivity === 'cellular')
    expected.cellularInRedmond.add(deviceId);
}

/** Checks a result set: exactly the expected devices on the local hub; at least them on a shared IoT Hub. */
function checkIds(found: string[], wanted: Set<string>, what: string): void {
  const exact = found.length === wanted.size && found.every((id) => wanted.has(id));
  const covers = [...wanted].every((id) => found.includes(id));
  check(playground.kind === 'local' ? exact : covers, `${what}: ${found.join(', ')}`);
}

/** IoT Hub indexes twins for queries within seconds (the local hub at once): retry until the data shows up. */
async function untilIndexed(run: () => Promise<string[]>, wanted: Set<string>): Promise<string[]> {
  for (const deadline = Date.now() + 60_000; ;) {
    const found = await run();
    if ([...wanted].every((id) => found.includes(id)) || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

console.log(`2. ${inRedmond}, two twins per page, with for await.`);
let resume: { token: string; firstPage: string[] } | undefined;
const redmond = await untilIndexed(async () => {
  const ids: string[] = [];
  resume = undefined;
  for await (const page of registry.queryTwins(inRedmond).byPage({ maxPageSize: 2 })) {
    console.log(
      `   page: ${page.items.map((twin) => twin.deviceId).join(', ')}${page.continuationToken === undefined ? ' (last)' : ''}`,
    );
    if (ids.length === 0 && page.continuationToken !== undefined) {
      resume = {
        token: page.continuationToken,
        firstPage: page.items.map((twin) => twin.deviceId),
      };
    }
    ids.push(...page.items.map((twin) => twin.deviceId));
  }
  return ids;
}, expected.inRedmond);
checkIds(redmond, expected.inRedmond, 'devices in Redmond43');

if (resume !== undefined) {
  console.log(
    '   A new iterator resumed from the token saved after the first page gives the rest:',
  );
  const rest: Twin[] = [];
  for await (const page of registry
    .queryTwins(inRedmond)
    .byPage({ continuationToken: resume.token, maxPageSize: 2 }))
    rest.push(...page.items);
  const resumed = [...resume.firstPage, ...rest.map((twin) => twin.deviceId)];
  check(
    resumed.length === redmond.length && resumed.every((id) => redmond.includes(id)),
    `first page ${resume.firstPage.join(', ')} + resumed ${rest.map((twin) => twin.deviceId).join(', ')}`,
  );
}

console.log(`3. ${cellularInRedmond}, two twins per page, with createQuery and nextAsTwin.`);
const cellular = await untilIndexed(async () => {
  const query = registry.createQuery(cellularInRedmond, { pageSize: 2 });
  const ids: string[] = [];
  while (query.hasMoreResults) {
    const page = await query.nextAsTwin();
    console.log(
      `   page: ${page.map((twin) => `${twin.deviceId} (${JSON.stringify(twin.properties.reported.connectivity)})`).join(', ')}`,
    );
    ids.push(...page.map((twin) => twin.deviceId));
  }
  return ids;
}, expected.cellularInRedmond);
checkIds(cellular, expected.cellularInRedmond, 'cellular devices in Redmond43');

console.log('\nBoth queries returned the expected devices, page by page.');
