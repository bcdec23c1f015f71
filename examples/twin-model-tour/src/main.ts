/**
 * @summary A tour of the laws of an IoT Hub device twin, with @twinkit/twin-model alone (no hub,
 * no network): how a back-end PATCH merges and moves versions and the ETag, what a device is sent,
 * how the device's version gate drops duplicates and notices gaps, what validation rejects, and a
 * query over a small fleet. It checks every result and exits non-zero on any surprise.
 */
import {
  applyPatch,
  checkDesiredVersion,
  createStoredTwin,
  diff,
  isBadRequestError,
  isPreconditionFailedError,
  toDeviceTwin,
  toServiceTwin,
  updateReported,
  updateTwin,
  validateSection,
  type JsonObject,
  type StoredTwin,
} from '@twinkit/twin-model';
import { compileQuery } from '@twinkit/twin-model/query';

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`Unexpected result: ${what}`);
  console.log(`  ✓ ${what}`);
}

const now = () => new Date();

console.log('1. A new twin starts at desired/reported $version 1, twin version 2, ETag counter 1.');
let twin: StoredTwin = createStoredTwin({ deviceId: 'thermostat-1' }, now());
let view = toServiceTwin(twin);
check(
  view.etag === 'AAAAAAAAAAE=' && view.version === 2,
  `etag ${view.etag}, version ${view.version}`,
);

console.log('2. The back end tags the device and sets a desired property, with the ETag it read.');
const first = updateTwin(
  twin,
  {
    tags: { location: { plant: 'Redmond43' } },
    properties: { desired: { climate: { minTemperature: 68 } } },
  },
  { now: now(), ifMatch: `"${view.etag}"` },
);
twin = first.twin;
view = toServiceTwin(twin);
check(
  view.properties.desired.$version === 2,
  `desired $version moved to ${view.properties.desired.$version}`,
);
check(view.etag === 'AAAAAAAAAAI=', `etag moved to ${view.etag}`);
check(
  JSON.stringify(first.desiredNotification) === '{"climate":{"minTemperature":68},"$version":2}',
  `the device is sent ${JSON.stringify(first.desiredNotification)}`,
);

console.log(
  '3. A second writer still holding the old ETag is refused with 412, and nothing changes.',
);
try {
  updateTwin(twin, { tags: { owner: 'someone' } }, { now: now(), ifMatch: '"AAAAAAAAAAE="' });
  check(false, 'stale ETag accepted');
} catch (error) {
  check(isPreconditionFailedError(error), 'PreconditionFailedError (412) for the stale ETag');
}

console.log('4. The device reports state; reported writes move the twin version but not the ETag.');
const reported = updateReported(twin, { connectivity: { type: 'cellular' } }, { now: now() });
twin = reported.twin;
check(reported.version === 2, `reported $version is now ${reported.version}`);
check(toServiceTwin(twin).etag === view.etag, 'the ETag is unchanged by a reported write');
check(
  toDeviceTwin(twin).reported.$version === 2,
  'the device view shows the new reported $version',
);

console.log(
  "5. The device's version gate: apply the next version, drop duplicates and stale ones, resync on a gap.",
);
check(checkDesiredVersion(2, 3) === 'apply', 'version 3 after 2 is applied');
check(checkDesiredVersion(3, 3) === 'duplicate', 'version 3 again is a duplicate');
check(checkDesiredVersion(3, 2) === 'stale', 'version 2 after 3 is stale');
check(
  checkDesiredVersion(3, 5) === 'gap',
  'version 5 after 3 means a patch was missed: re-read the twin',
);

console.log(
  '6. Merge patches: null deletes, arrays replace whole, and diff gives the minimal patch back.',
);
const before: JsonObject = { fan: { on: false, speed: 2 }, schedule: [1, 2, 3], mode: 'eco' };
const after = applyPatch(before, { fan: { on: true }, schedule: [9], mode: null });
check(
  JSON.stringify(after) === '{"fan":{"on":true,"speed":2},"schedule":[9]}',
  `merged to ${JSON.stringify(after)}`,
);
check(
  JSON.stringify(applyPatch(before, diff(before, after))) === JSON.stringify(after),
  'applyPatch(a, diff(a, b)) = b',
);

console.log('7. Validation finds every broken rule before anything is sent.');
const result = validateSection(
  {
    'bad.key': 1,
    deep: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } },
  },
  'desired',
);
check(
  !result.valid && result.issues.length === 2,
  `${result.issues.length} issues: ${result.issues.map((i) => i.rule).join(', ')}`,
);
try {
  updateTwin(twin, { properties: { desired: { 'a b': 1 } } }, { now: now() });
  check(false, 'invalid key accepted');
} catch (error) {
  check(
    isBadRequestError(error),
    'the twin engine answers 400 ArgumentInvalid for a key with a space',
  );
}

console.log('8. A fleet query, evaluated locally with the same engine the hub uses.');
const fleet = ['Redmond43', 'Redmond43', 'Seattle1'].map((plant, index) => {
  let member = createStoredTwin({ deviceId: `dev-${String(index)}` }, now());
  member = updateTwin(member, { tags: { location: { plant } } }, { now: now() }).twin;
  const type = index === 0 ? 'cellular' : 'wifi';
  member = updateReported(member, { connectivity: { type } }, { now: now() }).twin;
  return toServiceTwin(member) as unknown as JsonObject;
});
const query = compileQuery(
  "SELECT * FROM devices WHERE tags.location.plant = 'Redmond43' AND properties.reported.connectivity.type = 'cellular'",
);
const matches = query.execute(fleet).map((item) => item.deviceId);
check(
  JSON.stringify(matches) === '["dev-0"]',
  `cellular devices in Redmond43: ${JSON.stringify(matches)}`,
);

console.log('\nEvery law held.');
