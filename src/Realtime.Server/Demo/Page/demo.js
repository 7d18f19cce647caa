// The demo inbox, built on the JS SDK (client-js) without a framework.
import { createClient } from '/demo/realtime-client.js';

const $ = (id) => document.getElementById(id);
const origin = window.location.origin;
const PAGE_SIZE = 20;

let client = null;
let session = null; // { userId, admin, token, expiresAt }
const items = new Map(); // id -> notification
let nextBefore = null;
let unread = 0;

// ------------------------------------------------------------------------ session ---

async function fetchToken(userId, admin) {
  const response = await fetch('/api/demo/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId, admin }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body?.errors ? Object.values(body.errors).flat().join(' ') : body?.detail ?? body?.title;
    throw new Error(detail || `token endpoint answered ${response.status}`);
  }
  return body;
}

/** The SDK calls this on every (re)connect and REST call: renew the token a minute before it expires. */
async function accessTokenFactory() {
  if (Date.parse(session.expiresAt) - Date.now() < 60_000) {
    session = { ...session, ...(await fetchToken(session.userId, session.admin)) };
    log('token renewed');
  }
  return session.token;
}

async function signIn(userId, admin) {
  $('signin-error').hidden = true;
  try {
    session = await fetchToken(userId, admin);
  } catch (error) {
    $('signin-error').textContent = error.message;
    $('signin-error').hidden = false;
    return;
  }
  sessionStorage.setItem('realtime-demo-user', JSON.stringify({ userId, admin }));
  $('signin').hidden = true;
  $('inbox-card').hidden = false;
  $('admin-card').hidden = !session.admin;
  $('who').textContent = `${session.userId}${session.admin ? ' (admin)' : ''}`;
  $('curl').textContent = `curl -X POST ${origin}/api/notifications -H "Authorization: Bearer $SERVICE_TOKEN" \\\n  -H 'Content-Type: application/json' -d '${JSON.stringify({ userId: session.userId, title: 'Hello', body: 'From curl' })}'`;

  client = createClient({ url: origin, accessTokenFactory, storage: window.localStorage, logger: console });
  client.on('notification', (n) => {
    items.set(n.id, n);
    render(n.id);
    log(`notification ${n.id}: ${n.title}`);
  });
  client.on('unreadCount', (count) => setUnread(count));
  client.on('read', (e) => {
    for (const n of items.values()) {
      const hit = e.all ? (e.upTo === null || n.id <= e.upTo) : e.ids.includes(n.id);
      if (hit) n.readAt = e.read ? (n.readAt ?? new Date().toISOString()) : null;
    }
    setUnread(e.unreadCount);
    render();
    log(`read ${e.all ? `all${e.upTo ? ` up to ${e.upTo}` : ''}` : e.ids.join(', ')} (${e.read ? 'read' : 'unread'})`);
  });
  client.on('deleted', (e) => {
    for (const id of e.ids) items.delete(id);
    setUnread(e.unreadCount);
    render();
    log(`deleted ${e.ids.join(', ')}`);
  });
  client.on('stateChanged', ({ state, transport, error }) => {
    $('state').dataset.state = state;
    $('state').textContent = transport ? `${state} · ${transport}` : state;
    log(`${state}${transport ? ` (${transport})` : ''}${error ? `: ${error.message}` : ''}`);
  });
  client.on('error', (error) => console.warn('realtime:', error));

  // Live first, then the inbox: whatever is committed in between comes live or in the list (or
  // both: items are keyed by id), never neither.
  await client.start();
  await loadPage(true);
  updatePushButton();
  $('preferences-card').hidden = false;
  loadPreferences().catch(showPreferencesError);
  if (session.admin) refreshStats();
}

async function signOut() {
  await client?.stop();
  client = null;
  session = null;
  items.clear();
  sessionStorage.removeItem('realtime-demo-user');
  $('inbox').replaceChildren();
  $('signin').hidden = false;
  $('inbox-card').hidden = true;
  $('preferences-card').hidden = true;
  $('admin-card').hidden = true;
  $('who').textContent = '';
  setUnread(0);
}

// -------------------------------------------------------------------------- inbox ---

async function loadPage(first) {
  const page = await client.list({ limit: PAGE_SIZE, before: first ? undefined : nextBefore ?? undefined, unread: $('only-unread').checked || undefined });
  if (first) items.clear();
  for (const n of page.items) items.set(n.id, n);
  nextBefore = page.nextBefore;
  setUnread(page.unreadCount);
  render();
}

function setUnread(count) {
  unread = count;
  $('badge').textContent = String(count);
  $('badge').hidden = count === 0;
  document.title = count ? `(${count}) Realtime demo` : 'Realtime demo';
}

function render(freshId) {
  const list = $('inbox');
  const onlyUnread = $('only-unread').checked;
  const sorted = [...items.values()].filter((n) => !onlyUnread || !n.readAt).sort((a, b) => b.id - a.id);
  list.replaceChildren(...sorted.map((n) => row(n, n.id === freshId)));
  $('empty').hidden = sorted.length > 0;
  $('curl').hidden = sorted.length > 0;
  $('load-more').hidden = nextBefore === null;
}

function row(n, fresh) {
  const li = document.createElement('li');
  li.dataset.id = String(n.id);
  li.className = `${n.readAt ? 'read' : 'unread'}${fresh ? ' fresh' : ''}`;
  const dot = document.createElement('span');
  dot.className = 'dot';
  const main = document.createElement('div');
  const title = document.createElement('div');
  title.className = 'title';
  if (n.link) {
    const a = document.createElement('a');
    a.href = n.link;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = n.title;
    title.append(a);
  } else {
    title.textContent = n.title;
  }
  const body = document.createElement('div');
  body.textContent = n.body ?? '';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const tags = [[n.category, ''], ...(n.broadcast ? [['broadcast', 'broadcast']] : []), ...(n.priority !== 'normal' ? [[n.priority, n.priority]] : [])];
  for (const [text, cls] of tags) {
    const tag = document.createElement('span');
    tag.className = `tag ${cls}`;
    tag.textContent = text;
    meta.append(tag);
  }
  meta.append(`#${n.id} · ${new Date(n.createdAt).toLocaleString()}`);
  main.append(title, body, meta);
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(
    button(n.readAt ? 'Mark unread' : 'Mark read', n.readAt ? 'mark-unread' : 'mark-read', () => toggleRead(n)),
    button('Delete', 'delete secondary', () => remove(n)),
  );
  li.append(dot, main, actions);
  return li;
}

function button(text, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.addEventListener('click', () => onClick().catch(showError));
  return b;
}

async function toggleRead(n) {
  if (n.readAt) {
    await client.markUnread(n.id);
    n.readAt = null;
  } else {
    await client.markRead(n.id);
    n.readAt = new Date().toISOString();
  }
  render();
}

async function remove(n) {
  await client.remove(n.id);
  items.delete(n.id);
  render();
}

function showError(error) {
  log(`error: ${error.message}`);
  console.error(error);
}

// --------------------------------------------------------------------------- push ---

async function updatePushButton() {
  const supported = 'serviceWorker' in navigator && 'PushManager' in window;
  $('enable-push').disabled = !supported;
  if (!supported) return;
  const registration = await navigator.serviceWorker.getRegistration('/');
  if (registration && await client.push.isSubscribed(registration)) $('enable-push').textContent = 'Disable push';
}

async function togglePush() {
  const status = $('push-status');
  status.hidden = false;
  try {
    const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    if (await client.push.isSubscribed(registration)) {
      await client.push.unsubscribe(registration);
      $('enable-push').textContent = 'Enable push';
      status.textContent = 'Push turned off.';
      return;
    }
    if (Notification.permission !== 'granted' && await Notification.requestPermission() !== 'granted') {
      status.textContent = 'Notifications are blocked for this page.';
      return;
    }
    await navigator.serviceWorker.ready;
    const subscription = await client.push.subscribe(registration);
    $('enable-push').textContent = 'Disable push';
    status.textContent = `Push on: while no tab is connected, notifications arrive at ${new URL(subscription.endpoint).host}.`;
  } catch (error) {
    status.textContent = `Push could not be turned on: ${error.message}`;
    log(`push: ${error.message}`);
  }
}

// -------------------------------------------------------------------------- admin ---

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${await accessTokenFactory()}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(parsed?.detail ?? parsed?.title ?? `${method} ${path}: ${response.status}`);
  return parsed;
}

async function broadcast(event) {
  event.preventDefault();
  const answer = await api('POST', '/api/broadcasts', {
    title: $('broadcast-title').value,
    body: $('broadcast-body').value || undefined,
    priority: $('broadcast-priority').value,
    ttlSeconds: 86_400,
  });
  $('admin-status').textContent = `broadcast #${answer.id} sent`;
  event.target.reset();
}

async function send(event) {
  event.preventDefault();
  const answer = await api('POST', '/api/notifications', {
    userId: $('send-user').value,
    title: $('send-title').value,
    body: $('send-body').value || undefined,
  });
  $('admin-status').textContent = `sent #${answer.notifications.map((n) => n.id).join(', ')}`;
}

async function presence(event) {
  event.preventDefault();
  const answer = await api('GET', `/api/admin/presence/${encodeURIComponent($('presence-user').value)}`);
  const target = $('presence');
  if (!answer.connections.length) {
    target.textContent = `${answer.userId} is offline`;
    return;
  }
  const table = document.createElement('table');
  table.innerHTML = '<tr><th>transport</th><th>node</th><th>since</th></tr>';
  for (const c of answer.connections) {
    const tr = document.createElement('tr');
    for (const text of [c.transport, c.node, new Date(c.connectedAt).toLocaleTimeString()]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    table.append(tr);
  }
  target.replaceChildren(`${answer.userId} is online:`, table);
}

// -------------------------------------------------------------------- preferences ---

const categoryList = (text) => text.split(',').map((c) => c.trim()).filter((c) => c.length > 0);

/** Fills the form from the server's document (the defaults when the user never saved any). */
async function loadPreferences() {
  const p = await client.preferences.get();
  $('pref-locale').value = p.locale ?? '';
  $('pref-timezone').value = p.timeZone ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || '');
  $('pref-push').checked = p.channels.push;
  const names = Object.keys(p.categories);
  $('pref-muted').value = names.filter((c) => p.categories[c].inApp === false).join(', ');
  $('pref-no-push').value = names.filter((c) => p.categories[c].push === false).join(', ');
  $('pref-quiet').checked = p.quietHours !== null;
  if (p.quietHours) {
    $('pref-quiet-start').value = p.quietHours.start;
    $('pref-quiet-end').value = p.quietHours.end;
  }
  $('preferences-status').textContent = '';
}

async function savePreferences(event) {
  event.preventDefault();
  const categories = {};
  for (const name of categoryList($('pref-muted').value)) categories[name] = { ...categories[name], inApp: false };
  for (const name of categoryList($('pref-no-push').value)) categories[name] = { ...categories[name], push: false };
  const saved = await client.preferences.set({
    locale: $('pref-locale').value.trim() || null,
    timeZone: $('pref-timezone').value.trim() || null,
    channels: { push: $('pref-push').checked },
    categories,
    quietHours: $('pref-quiet').checked ? { start: $('pref-quiet-start').value, end: $('pref-quiet-end').value } : null,
  });
  $('preferences-status').textContent = `Saved${saved.locale ? ` (${saved.locale})` : ''}.`;
  $('preferences-status').className = 'muted';
  log('preferences saved');
}

function showPreferencesError(error) {
  const fields = error.fieldErrors ? Object.entries(error.fieldErrors).map(([field, messages]) => `${field}: ${messages.join(' ')}`) : [];
  $('preferences-status').textContent = fields.length > 0 ? fields.join(' · ') : error.message;
  $('preferences-status').className = 'error';
}

async function refreshStats() {
  if (!session?.admin) return;
  const stats = await api('GET', '/api/admin/stats');
  $('stats').textContent = `${stats.onlineUsers} users online · ${stats.connections} connections · ${stats.nodes.length} node(s): ${stats.nodes.map((n) => `${n.id} (${n.connections})`).join(', ')}`;
}

// ---------------------------------------------------------------------------- log ---

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  const list = $('events');
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
}

// -------------------------------------------------------------------------- wire ---

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn($('user').value.trim(), $('admin').checked).catch(showError);
});
$('sign-out').addEventListener('click', () => signOut().catch(showError));
$('mark-all-read').addEventListener('click', async () => {
  try {
    await client.markAllRead();
    for (const n of items.values()) n.readAt ??= new Date().toISOString();
    render();
  } catch (error) {
    showError(error);
  }
});
$('only-unread').addEventListener('change', () => loadPage(true).catch(showError));
$('load-more').addEventListener('click', () => loadPage(false).catch(showError));
$('enable-push').addEventListener('click', () => togglePush());
$('broadcast-form').addEventListener('submit', (e) => broadcast(e).catch((error) => { $('admin-status').textContent = error.message; }));
$('send-form').addEventListener('submit', (e) => send(e).catch((error) => { $('admin-status').textContent = error.message; }));
$('presence-form').addEventListener('submit', (e) => presence(e).catch((error) => { $('presence').textContent = error.message; }));
$('preferences-form').addEventListener('submit', (e) => savePreferences(e).catch(showPreferencesError));
$('stats-refresh').addEventListener('click', () => refreshStats().catch(showError));
setInterval(() => refreshStats().catch(() => {}), 5000);

// ?user=alice&admin=1 signs in at once; so does a reload of a signed-in tab.
const params = new URLSearchParams(window.location.search);
const remembered = JSON.parse(sessionStorage.getItem('realtime-demo-user') ?? 'null');
const auto = params.get('user') ? { userId: params.get('user'), admin: params.get('admin') === '1' } : remembered;
if (auto?.userId) {
  $('user').value = auto.userId;
  $('admin').checked = !!auto.admin;
  signIn(auto.userId, !!auto.admin).catch(showError);
}
