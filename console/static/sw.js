// The console's service worker exists so browsers offer to install the
// console as an app. It caches nothing: conversations must never be served
// stale, and the console is useless offline.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', () => {});
