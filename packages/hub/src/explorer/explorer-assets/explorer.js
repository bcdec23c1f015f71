// The explorer's page: the identity list, the live stream that keeps everything current, and
// the query console. The twin view is in twin-panel.js.
import { api, byId, copy, el, idsQuery, note } from './http.js';
import { addEntry, closeTwin, initTwinPanel, isOpen, openTwin, refreshTwin } from './twin-panel.js';

let listTimer;
let continuationToken = null;

/** Re-reads the identity list, at most every 250 ms however many changes arrive. */
function scheduleList() {
  listTimer ??= setTimeout(() => {
    listTimer = undefined;
    void loadList();
  }, 250);
}

async function loadList() {
  const { json } = await api('devices');
  const rows = json.identities.map((identity) => {
    const { deviceId, moduleId } = identity;
    const id = moduleId ? `${deviceId}/${moduleId}` : deviceId;
    const row = el(
      'tr',
      { 'data-id': id, class: isOpen(deviceId, moduleId) ? 'selected' : undefined },
      el(
        'td',
        {},
        el(
          'a',
          { href: `#${encodeURIComponent(id)}`, onclick: () => void select(deviceId, moduleId) },
          id,
        ),
      ),
      el('td', { class: `state ${identity.connectionState}` }, identity.connectionState),
      el('td', {}, activity(identity.lastActivityTime)),
      el(
        'td',
        {},
        el('button', { type: 'button', onclick: () => void remove(deviceId, moduleId) }, 'Delete'),
      ),
    );
    return row;
  });
  byId('device-rows').replaceChildren(...rows);
  const hidden = byId('devices-note');
  hidden.hidden = !json.truncated;
  hidden.textContent =
    'Only the first 1000 identities are listed; use the query console for the rest.';
}

function activity(time) {
  if (!time || time.startsWith('0001-')) return 'never';
  return new Date(time).toLocaleTimeString();
}

async function select(deviceId, moduleId) {
  for (const row of byId('device-rows').children) row.classList.remove('selected');
  await openTwin(deviceId, moduleId);
  scheduleList();
}

async function remove(deviceId, moduleId) {
  const id = moduleId ? `${deviceId}/${moduleId}` : deviceId;
  if (!window.confirm(`Delete ${id}${moduleId ? '' : ' and its modules'}?`)) return;
  await api(`devices?${idsQuery(deviceId, moduleId)}`, { method: 'DELETE' });
  if (isOpen(deviceId, moduleId)) closeTwin();
  scheduleList();
}

async function create(event) {
  event.preventDefault();
  const deviceId = byId('create-device').value.trim();
  const moduleId = byId('create-module').value.trim();
  try {
    const { json } = await api('devices', { method: 'POST', body: { deviceId, moduleId } });
    byId('created').hidden = false;
    byId('created-label').textContent =
      `${moduleId ? `${deviceId}/${moduleId}` : deviceId} created. Connection string (MQTT):`;
    byId('created-cs').textContent = json.connectionStrings.mqtt;
    byId('create-form').reset();
    scheduleList();
  } catch (error) {
    byId('created').hidden = false;
    byId('created-label').textContent = error.message;
    byId('created-cs').textContent = '';
  }
}

async function runQuery(next) {
  if (!next) continuationToken = null;
  note('query-status', 'running…');
  try {
    const { json } = await api('query', {
      method: 'POST',
      body: {
        query: byId('query-text').value,
        pageSize: Number(byId('query-page-size').value),
        continuationToken: continuationToken ?? undefined,
      },
    });
    continuationToken = json.continuationToken;
    byId('query-results').textContent = json.items.map((item) => JSON.stringify(item)).join('\n');
    byId('query-next').disabled = !continuationToken;
    note(
      'query-status',
      `${String(json.items.length)} item(s)${continuationToken ? '; more pages' : ''}`,
    );
  } catch (error) {
    note('query-status', error.message);
  }
}

/** Follows the hub's live stream; EventSource reconnects by itself and the view is then reloaded. */
function follow() {
  const live = byId('live');
  const source = new EventSource('/explorer/api/events');
  source.addEventListener('hello', () => {
    live.textContent = 'live';
    live.classList.add('on');
    scheduleList();
    if (byId('twin').hidden === false) void refreshTwin();
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
  });
  source.addEventListener('twin', (event) => {
    const change = JSON.parse(event.data);
    if (!isOpen(change.deviceId, change.moduleId)) return;
    addEntry(change.entry);
    void refreshTwin();
  });
  source.addEventListener('registry', (event) => {
    const change = JSON.parse(event.data);
    if (change.change === 'deleted' && isOpen(change.deviceId, change.moduleId)) closeTwin();
    else if (isOpen(change.deviceId, change.moduleId)) void refreshTwin();
    scheduleList();
  });
  source.addEventListener('activity', scheduleList);
}

byId('create-form').addEventListener('submit', (event) => void create(event));
byId('created-copy').addEventListener(
  'click',
  () => void copy(byId('created-cs').textContent, 'created-cs'),
);
byId('query-run').addEventListener('click', () => void runQuery(false));
byId('query-next').addEventListener('click', () => void runQuery(true));
initTwinPanel();
follow();
