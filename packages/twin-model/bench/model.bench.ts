/**
 * Throughput of the merge-patch laws and validation on a small twin section (5 keys) and a large
 * one (~30 KB by JSON length, under the 32 KB desired limit).
 */
import { bench, describe } from 'vitest';
import { applyPatch } from '../src/patch/apply-patch.js';
import { diff } from '../src/patch/diff.js';
import type { JsonObject } from '../src/types.js';
import { computeSectionSize, validateSection } from '../src/validate.js';

const small: JsonObject = {
  fanOn: true,
  targetTemperature: 21.5,
  mode: 'eco',
  schedule: { start: '07:00', end: '22:00' },
  zones: [1, 2, 3],
};
const smallPatch: JsonObject = { targetTemperature: 22, mode: null, schedule: { end: '23:00' } };
const smallAfter = applyPatch(small, smallPatch);

function makeLarge(): JsonObject {
  const section: JsonObject = {};
  for (let group = 0; group < 28; group++) {
    const devices: JsonObject = {};
    for (let item = 0; item < 12; item++) {
      devices[`sensor${String(item)}`] = {
        enabled: item % 2 === 0,
        threshold: item * 1.5,
        label: `group ${String(group)} sensor ${String(item)}`,
        tags: ['a', 'b'],
      };
    }
    section[`group${String(group)}`] = devices;
  }
  return section;
}

const large = makeLarge();
const largePatch: JsonObject = {
  group3: { sensor4: { threshold: 99, label: null }, sensor11: { enabled: false } },
  group19: null,
  extra: { nested: { value: 'x' } },
};
const largeAfter = applyPatch(large, largePatch);

const largeBytes = JSON.stringify(large).length;
const largeSize = computeSectionSize(large);
if (largeBytes < 25_000 || largeBytes > 32_768 || !validateSection(large, 'desired').valid) {
  throw new Error(
    `The large fixture must be a valid ~30 KB section (JSON ${String(largeBytes)} B, size ${String(largeSize)}).`,
  );
}

describe('applyPatch', () => {
  bench('small twin (5 keys)', () => {
    applyPatch(small, smallPatch);
  });
  bench(`large twin (${String(Math.round(largeBytes / 1024))} KB JSON)`, () => {
    applyPatch(large, largePatch);
  });
});

describe('diff', () => {
  bench('small twin (5 keys)', () => {
    diff(small, smallAfter);
  });
  bench(`large twin (${String(Math.round(largeBytes / 1024))} KB JSON)`, () => {
    diff(large, largeAfter);
  });
});

describe('validateSection', () => {
  bench(`large twin (${String(Math.round(largeBytes / 1024))} KB JSON)`, () => {
    validateSection(large, 'desired');
  });
});
