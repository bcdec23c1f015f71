/**
 * @summary The back end updates many twins with one call: `updateTwins` sends them to the hub's
 * bulk endpoint in requests of up to 100 items and returns one outcome per item, in input order,
 * instead of throwing for the whole batch. With `onlyIfUnchanged`, each item applies only if its
 * twin still has the `etag` given for it; a stale item fails alone with the same
 * `PreconditionFailedError` a single update would throw.
 */
import { check, openPlayground } from '@twinkit/example-shared';
import { isPreconditionFailedError, type Twin } from '@twinkit/service';

await using playground = await openPlayground();
const { registry } = playground;
const fleet: string[] = [];
for (const id of ['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5']) {
  const { deviceId } = await playground.addDevice(id);
  if (!fleet.includes(deviceId)) fleet.push(deviceId);
}
console.log(
  `1. A fleet of ${fleet.length} device(s): ${fleet.join(', ')}. The back end reads their twins.`,
);
const twins: Twin[] = [];
for (const deviceId of fleet) twins.push(await registry.getTwin(deviceId));

console.log(
  '2. One bulk call tags every device and sets a desired firmware version, each only if unchanged.',
);
const first = await registry.updateTwins(
  twins.map((twin) => ({
    deviceId: twin.deviceId,
    etag: twin.etag,
    tags: { rollout: { wave: 'B' } },
    properties: { desired: { firmware: { version: '2.0.0' } } },
  })),
  { onlyIfUnchanged: true },
);
check(
  first.isSuccessful && first.results.every((result) => result.succeeded),
  `${first.results.length} of ${fleet.length} updated`,
);

console.log(
  '3. A second batch: the first devices are re-read, the last two keep their stale step-1 etags.',
);
const stale = new Set(fleet.slice(-2));
const items = [];
for (const twin of twins) {
  const etag = stale.has(twin.deviceId) ? twin.etag : (await registry.getTwin(twin.deviceId)).etag;
  items.push({ deviceId: twin.deviceId, etag, tags: { rollout: { wave: 'C' } } });
}
const second = await registry.updateTwins(items, { onlyIfUnchanged: true });
check(!second.isSuccessful, 'the batch reports isSuccessful: false');
for (const result of second.results) {
  if (stale.has(result.deviceId)) {
    check(
      isPreconditionFailedError(result.error),
      `${result.deviceId}: failed alone with ${result.error?.name ?? 'no error'}`,
    );
  } else {
    check(result.succeeded, `${result.deviceId}: updated`);
  }
}

console.log('4. The stale items changed nothing; the others moved to wave C.');
for (const deviceId of fleet) {
  const wave = (await registry.getTwin(deviceId)).tags?.rollout;
  const expected = stale.has(deviceId) ? 'B' : 'C';
  check(
    JSON.stringify(wave) === `{"wave":"${expected}"}`,
    `${deviceId}: tags.rollout ${JSON.stringify(wave)}`,
  );
}

console.log('\nOne call, one outcome per twin.');
