// One twin, live: its sections with $version and $metadata, the editor (merge patch with the
// ETag it read, 412 shown with a reload), the timeline and the device's faults.
import {
  ApiError,
  api,
  byId,
  copy,
  el,
  flash,
  idsQuery,
  mergePatch,
  note,
  withoutSystemKeys,
} from './http.js';

let current; // { deviceId, moduleId }
let twin; // the last twin read
let edit; // { etag, tags, desired }: what the editor started from
let editing = false; // the user changed the editor since it was filled
const shown = new Set(); // timeline sequences on screen

const ids = () => idsQuery(current.deviceId, current.moduleId);
const label = ({ deviceId, moduleId }) => (moduleId ? `${deviceId}/${moduleId}` : deviceId);
const pretty = (value) => JSON.stringify(value ?? {}, null, 2);

/** Whether the twin on screen is this device or module. */
export function isOpen(deviceId, moduleId) {
  return (
    current !== undefined &&
    current.deviceId === deviceId &&
    (current.moduleId ?? null) === (moduleId ?? null)
  );
}

/** Opens a twin: reads it and its timeline. */
export async function openTwin(deviceId, moduleId) {
  current = { deviceId, moduleId: moduleId ?? undefined };
  twin = undefined;
  editing = false;
  shown.clear();
  byId('timeline').replaceChildren();
  byId('twin').hidden = false;
  byId('twin-title').textContent = label(current);
  byId('conflict').hidden = true;
  note('fault-result', '');
  note('edit-result', '');
  await Promise.all([refreshTwin(), loadTimeline()]);
  fillEditor();
}

/** Closes the view (its device was deleted). */
export function closeTwin() {
  current = undefined;
  byId('twin').hidden = true;
}

/** Re-reads the twin on screen (a change arrived). The editor keeps the user's edits. */
export async function refreshTwin() {
  if (current === undefined) return;
  const { json } = await api(`twin?${ids()}`);
  twin = json;
  const { desired, reported } = json.properties;
  const put = (id, value) => {
    const node = byId(id);
    const text = pretty(value);
    if (node.textContent !== text) {
      node.textContent = text;
      flash(node);
    }
  };
  put('twin-tags', json.tags);
  put('twin-desired', desired);
  put('twin-reported', reported);
  byId('desired-version').textContent = `$version ${String(desired.$version)}`;
  byId('reported-version').textContent = `$version ${String(reported.$version)}`;
  byId('twin-versions').textContent =
    `etag ${json.etag} · version ${String(json.version)} · ${json.connectionState}`;
  if (!editing) fillEditor();
}

function fillEditor() {
  if (twin === undefined) return;
  edit = {
    etag: twin.etag,
    tags: twin.tags ?? {},
    desired: withoutSystemKeys(twin.properties.desired),
  };
  byId('edit-etag').textContent = `"${edit.etag}"`;
  byId('edit-tags').value = pretty(edit.tags);
  byId('edit-desired').value = pretty(edit.desired);
  editing = false;
}

async function save() {
  let tags;
  let desired;
  try {
    tags = JSON.parse(byId('edit-tags').value);
    desired = JSON.parse(byId('edit-desired').value);
  } catch (error) {
    note('edit-result', `Not JSON: ${error.message}`);
    return;
  }
  const patch = {};
  const tagPatch = mergePatch(edit.tags, tags);
  const desiredPatch = mergePatch(edit.desired, desired);
  if (Object.keys(tagPatch).length > 0) patch.tags = tagPatch;
  if (Object.keys(desiredPatch).length > 0) patch.properties = { desired: desiredPatch };
  if (Object.keys(patch).length === 0) {
    note('edit-result', 'Nothing changed.');
    return;
  }
  try {
    const { json } = await api(`twin?${ids()}`, {
      method: 'PATCH',
      body: patch,
      headers: { 'if-match': `"${edit.etag}"` },
    });
    editing = false;
    note(
      'edit-result',
      `Saved: etag ${json.etag}, desired $version ${String(json.properties.desired.$version)}.`,
    );
    await refreshTwin();
  } catch (error) {
    if (error instanceof ApiError && error.status === 412) {
      byId('conflict-text').textContent =
        `412 Precondition Failed: the twin changed since it was read (etag "${edit.etag}"). Your edits were not saved.`;
      byId('conflict').hidden = false;
      note('edit-result', '');
      return;
    }
    note('edit-result', error.message);
  }
}

async function reload() {
  byId('conflict').hidden = true;
  editing = false;
  await refreshTwin();
  fillEditor();
  note('edit-result', 'Reloaded: edit again from the current twin.');
}

/** Reads the timeline the hub kept for the twin. */
async function loadTimeline() {
  const { json } = await api(`timeline?${ids()}`);
  for (const entry of json.entries) addEntry(entry);
}

/** Adds a timeline entry (from the hub's stream or its kept timeline), newest first. */
export function addEntry(entry) {
  if (shown.has(entry.sequence)) return;
  shown.add(entry.sequence);
  const item = el(
    'li',
    { 'data-sequence': String(entry.sequence) },
    new Date(entry.at).toLocaleTimeString(),
    el('span', { class: 'who' }, entry.who),
    `${entry.operation} → version ${String(entry.version)} (desired ${String(entry.desiredVersion)}, reported ${String(entry.reportedVersion)})`,
    el('pre', {}, JSON.stringify(entry.patch)),
  );
  const list = byId('timeline');
  const later = [...list.children].find((child) => Number(child.dataset.sequence) < entry.sequence);
  list.insertBefore(item, later ?? null);
}

async function fault(body) {
  try {
    const { json } = await api('faults', { method: 'POST', body: { ...current, ...body } });
    note(
      'fault-result',
      json.dropped === undefined
        ? `armed on ${json.on.join(' and ').toUpperCase()}`
        : json.dropped
          ? 'dropped'
          : 'no live connection',
    );
  } catch (error) {
    note('fault-result', error.message);
  }
}

async function copyConnectionString() {
  try {
    const { json } = await api(`connection-strings?${ids()}`);
    const copied = await copy(json.connectionStrings.mqtt, 'twin-versions');
    note('fault-result', copied ? 'connection string copied' : json.connectionStrings.mqtt);
  } catch (error) {
    note('fault-result', error.message);
  }
}

/** Wires the panel's buttons. */
export function initTwinPanel() {
  const number = (id) => Number(byId(id).value);
  byId('edit-save').addEventListener('click', () => void save());
  byId('edit-reset').addEventListener('click', () => void reload());
  byId('conflict-reload').addEventListener('click', () => void reload());
  for (const id of ['edit-tags', 'edit-desired'])
    byId(id).addEventListener('input', () => {
      editing = true;
    });
  byId('twin-copy-cs').addEventListener('click', () => void copyConnectionString());
  byId('fault-drop').addEventListener('click', () => void fault({ fault: 'drop' }));
  byId('fault-delay').addEventListener(
    'click',
    () =>
      void fault({
        fault: 'delay',
        delayInMs: number('fault-delay-ms'),
        times: number('fault-times'),
      }),
  );
  byId('fault-throttle').addEventListener(
    'click',
    () => void fault({ fault: 'throttle', times: number('fault-times') }),
  );
  byId('fault-clear').addEventListener('click', async () => {
    await api('faults/clear', { method: 'POST' });
    note('fault-result', 'every fault cleared');
  });
}
