// The explorer's helpers: calls to its API, the merge patch between two JSON objects, and a
// small DOM builder (text only, never HTML, so twin content cannot inject markup).

/** An API call failed; `status` is the HTTP status (412 when someone else wrote first). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the explorer API. Writes carry the x-twinkit-explorer header the hub requires of them.
 *
 * @returns {Promise<{ json: any, response: Response }>}
 */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (method !== 'GET') init.headers['x-twinkit-explorer'] = '1';
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/explorer/api/${path}`, init);
  const text = await response.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) throw new ApiError(response.status, messageOf(json, text, response.status));
  return { json, response };
}

/** The readable part of an error body: the explorer's `message`, or IoT Hub's `Message`. */
function messageOf(json, text, status) {
  const raw = json?.message ?? json?.Message ?? text ?? '';
  const message = String(raw).replace(/^ErrorCode:[^;]*;/, '');
  return `${String(status)}: ${message || 'request failed'}`;
}

/** The query string naming a device or module. */
export function idsQuery(deviceId, moduleId) {
  const query = new URLSearchParams({ deviceId });
  if (moduleId) query.set('moduleId', moduleId);
  return query.toString();
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The JSON merge patch (RFC 7396) that turns `before` into `after`: removed keys become null.
 * Keys starting with `$` ($version, $metadata) are the hub's and are left out.
 */
export function mergePatch(before, after) {
  const patch = {};
  for (const key of Object.keys(before)) {
    if (!key.startsWith('$') && !(key in after)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(after)) {
    if (key.startsWith('$')) continue;
    const old = before[key];
    if (isObject(old) && isObject(value)) {
      const inner = mergePatch(old, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return patch;
}

/** A copy without the hub's `$` keys at the top (what the editor shows). */
export function withoutSystemKeys(value) {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([key]) => !key.startsWith('$')));
}

/** Builds an element; children are nodes or strings (set as text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/** Shows a short message in a note element. */
export function note(id, text) {
  byId(id).textContent = text;
}

/** Copies text, falling back to selecting it where the clipboard API is not allowed. */
export async function copy(text, fallbackId) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const node = byId(fallbackId);
    if (node) window.getSelection()?.selectAllChildren(node);
    return false;
  }
}

/** Restarts a short highlight on an element (a value just changed). */
export function flash(node) {
  node.classList.remove('flash');
  void node.offsetWidth;
  node.classList.add('flash');
}
