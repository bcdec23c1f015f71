/**
 * @summary The back end tags a device (the guide's AddTagsAndQuery app) in both of the official
 * SDK's forms: with the twin object it read (`twin.update(patch)` there; here
 * `updateTwin(twin, patch, { onlyIfUnchanged: true })`, which sends the twin's ETag), and with a
 * JSON patch plus an explicit ETag (`registry.updateTwin(deviceId, patch, etag)` there; here
 * `updateTwin(deviceId, patch, { etag })`). Every tag write moves the ETag, so a writer still
 * holding an old one gets `PreconditionFailedError` (412) and changes nothing.
 */
import { check, openPlayground } from '@twinkit/example-shared';
import { isPreconditionFailedError } from '@twinkit/service';

interface Tags {
  location?: { region: string; plant: string };
  owner?: string;
}

await using playground = await openPlayground();
const { registry } = playground;
const { deviceId } = await playground.addDevice('thermostat-1');

console.log('1. Read the twin; its etag identifies this state of the twin.');
const twin = await registry.getTwin<object, object, Tags>(deviceId);
console.log(`   etag ${twin.etag}, version ${twin.version}`);

console.log(
  '2. Twin object form: tag the location, only if nobody changed the twin since we read it.',
);
const tagged = await registry.updateTwin(
  twin,
  { tags: { location: { region: 'US', plant: 'Redmond43' } } },
  { onlyIfUnchanged: true },
);
check(
  tagged.tags?.location?.plant === 'Redmond43',
  `tags.location is ${JSON.stringify(tagged.tags?.location)}`,
);
check(tagged.etag !== twin.etag, `the etag moved from ${twin.etag} to ${tagged.etag}`);

console.log('3. JSON patch form: a device id, a patch and the etag we hold.');
const owned = await registry.updateTwin<object, object, Tags>(
  deviceId,
  { tags: { owner: 'facilities' } },
  { etag: tagged.etag },
);
check(
  owned.tags?.owner === 'facilities' && owned.tags.location?.plant === 'Redmond43',
  `tags merged: ${JSON.stringify(owned.tags)}`,
);

console.log(
  '4. The first twin object is stale now: writing with it fails with 412, and nothing changes.',
);
try {
  await registry.updateTwin(twin, { tags: { owner: 'someone-else' } }, { onlyIfUnchanged: true });
  throw new Error('Unexpected result: a stale etag was accepted');
} catch (error) {
  if (!isPreconditionFailedError(error)) throw error;
  check(error.statusCode === 412, `PreconditionFailedError ${error.statusCode} (${error.code})`);
}
const after = await registry.getTwin<object, object, Tags>(deviceId);
check(
  after.tags?.owner === 'facilities' && after.etag === owned.etag,
  `still owner '${after.tags?.owner ?? ''}', etag ${after.etag}`,
);

console.log('5. null deletes a tag; without an etag option the write is unconditional.');
const cleared = await registry.updateTwin<object, object, Tags>(deviceId, {
  tags: { owner: null },
});
check(cleared.tags?.owner === undefined, `tags now ${JSON.stringify(cleared.tags)}`);

console.log('\nTags written in both forms, and the stale write was refused.');
