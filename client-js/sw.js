// Service worker for Web Push from a Realtime server. Serve this file from your app's origin
// (e.g. /sw.js) and register it: navigator.serviceWorker.register('/sw.js'). Then pass the
// registration to client.push.subscribe(registration).
//
// - push: the payload is the notification object (JSON). Shows it with its title and body, the
//   icon from data.icon (or the `icon` query parameter of this script's URL: /sw.js?icon=/icon.png),
//   and tag = collapseKey or the id, so a newer push with the same collapse key replaces the older one.
// - notificationclick: focuses a tab of the app that already shows the link (or, for a link into
//   the app, an open tab of the app, navigated there); otherwise opens the link (or the app)
//   in a new window. Open tabs of the app are told with postMessage({ type: 'realtime:notificationclick', notification }).
/* eslint-env serviceworker */

const defaultIcon = new URL(self.location.href).searchParams.get('icon') || undefined;

function parse(data) {
  if (!data) return null;
  try {
    return data.json();
  } catch {
    const text = data.text();
    return text ? { title: text } : null;
  }
}

self.addEventListener('push', (event) => {
  const n = parse(event.data);
  if (!n) return;
  const tag = n.collapseKey != null ? String(n.collapseKey) : n.id != null ? String(n.id) : undefined;
  const icon = (n.data && typeof n.data.icon === 'string' && n.data.icon) || defaultIcon;
  const options = {
    body: n.body ?? undefined,
    tag,
    // A replacement for the same collapse key alerts again.
    renotify: n.collapseKey != null,
    requireInteraction: n.priority === 'urgent',
    timestamp: n.createdAt ? Date.parse(n.createdAt) : undefined,
    data: { id: n.id ?? null, link: n.link ?? null, category: n.category ?? null, collapseKey: n.collapseKey ?? null },
  };
  if (icon) options.icon = icon;
  event.waitUntil(self.registration.showNotification(n.title || 'New notification', options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const scope = self.registration.scope;
  const target = data.link ? new URL(data.link, scope).href : scope;
  const inApp = target.startsWith(scope);
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if (client.url.startsWith(scope)) client.postMessage({ type: 'realtime:notificationclick', notification: data });
    }
    const showing = windows.find((c) => c.url === target);
    if (showing) return showing.focus();
    const appTab = inApp ? windows.find((c) => c.url.startsWith(scope)) : undefined;
    if (appTab) {
      const focused = await appTab.focus();
      if (target !== scope && 'navigate' in focused) {
        try {
          return await focused.navigate(target);
        } catch {
          // not controlled by this worker: open instead
          return self.clients.openWindow(target);
        }
      }
      return focused;
    }
    return self.clients.openWindow(target);
  })());
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
