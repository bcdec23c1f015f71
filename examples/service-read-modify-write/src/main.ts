/**
 * @summary Read-modify-write without lost updates, which the guide leaves out. Two back ends add
 * a person to the same desired `allowedUsers` list at the same time. Each must write the list it
 * computed from the twin it read, and only if the twin is still as it read it: a 412 means someone
 * else wrote first, so read again and recompute. `updateTwinWithRetry` runs that loop: here the
 * second writer sneaks in between our read and our write, the hub answers 412, and the registry
 * retries with the fresh twin, so both names end up in the list.
 */
import { check, openPlayground } from '@twinkit/example-shared';

interface Desired {
  allowedUsers?: string[];
}

await using playground = await openPlayground();
const { registry } = playground;
const { deviceId } = await playground.addDevice('door-lock-1');
await registry.updateTwin<Desired>(deviceId, {
  properties: { desired: { allowedUsers: ['ana'] } },
});

console.log(
  "1. Our back end adds 'ben' with updateTwinWithRetry; on its first attempt another back end adds 'chloe'.",
);
const seenLists: string[][] = [];
const result = await registry.updateTwinWithRetry<Desired>(deviceId, async (current) => {
  const users = current.properties.desired.allowedUsers ?? [];
  seenLists.push(users);
  console.log(
    `   attempt ${seenLists.length}: read etag ${current.etag}, allowedUsers ${JSON.stringify(users)}`,
  );
  if (seenLists.length === 1) {
    // The other back end writes now, between our read and our write: our etag is stale.
    await registry.updateTwin<Desired>(deviceId, {
      properties: { desired: { allowedUsers: [...users, 'chloe'] } },
    });
    console.log("   (meanwhile the other back end wrote [..., 'chloe'])");
  }
  return { properties: { desired: { allowedUsers: [...users, 'ben'] } } };
});

check(
  seenLists.length === 2,
  `compute ran ${seenLists.length} times: the first write got 412 and was redone`,
);
const final = result.properties.desired.allowedUsers ?? [];
check(
  JSON.stringify(final) === '["ana","chloe","ben"]',
  `allowedUsers is ${JSON.stringify(final)}: nobody's update was lost`,
);

console.log('2. Returning undefined from compute writes nothing.');
const untouched = await registry.updateTwinWithRetry<Desired>(deviceId, (current) =>
  current.properties.desired.allowedUsers?.includes('ben') === true
    ? undefined
    : { properties: { desired: { allowedUsers: ['ben'] } } },
);
check(untouched.etag === result.etag, `etag still ${untouched.etag}`);

console.log('\nBoth concurrent updates survived.');
