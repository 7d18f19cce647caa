import type { Http } from './http.js';
import { RealtimeError } from './errors.js';

/** The parts of a ServiceWorkerRegistration this uses (so tests and other runtimes can pass their own). */
export interface PushRegistrationLike {
  pushManager: {
    getSubscription(): Promise<PushSubscriptionLike | null>;
    subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array | ArrayBuffer | string }): Promise<PushSubscriptionLike>;
  };
}

export interface PushSubscriptionLike {
  endpoint: string;
  options?: { applicationServerKey?: ArrayBuffer | null };
  toJSON(): unknown;
  unsubscribe(): Promise<boolean>;
}

/**
 * Web Push (API.md, "Mobile web: Web Push"): the server pushes to a subscription when the user has
 * no live connection. Pass the registration of a service worker that shows the pushes (this
 * package's `sw.js`); without one, `navigator.serviceWorker`'s registration for the page is used.
 */
export class PushClient {
  constructor(private readonly http: Http) {}

  /**
   * `GET /api/push/vapid-public-key`, `pushManager.subscribe`, `POST /api/push/subscriptions`; returns the subscription.
   * When the server refuses the post, a subscription made by this call is undone and the error thrown.
   */
  async subscribe(registration?: PushRegistrationLike): Promise<PushSubscriptionLike> {
    const reg = (await resolveRegistration(registration))!;
    const { publicKey } = await this.http.request<{ publicKey: string }>('GET', '/api/push/vapid-public-key', undefined, { anonymous: true });
    const key = base64UrlToBytes(publicKey);
    let subscription = await reg.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options?.applicationServerKey ?? null, key)) {
      // Subscribed with another server's key (e.g. the VAPID keys were rotated): start over.
      await subscription.unsubscribe();
      subscription = null;
    }
    const made = !subscription;
    subscription ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    try {
      await this.http.request('POST', '/api/push/subscriptions', subscription.toJSON());
    } catch (error) {
      // The server does not hold a subscription made just now: undo it, so that the browser does
      // not look subscribed (isSubscribed) and the next subscribe starts afresh.
      if (made) await subscription.unsubscribe().catch(() => false);
      throw error;
    }
    return subscription;
  }

  /** `DELETE /api/push/subscriptions?endpoint=…` and unsubscribes the browser; false when there was none. */
  async unsubscribe(registration?: PushRegistrationLike): Promise<boolean> {
    const reg = await resolveRegistration(registration, { optional: true });
    const subscription = await reg?.pushManager.getSubscription();
    if (!subscription) return false;
    await this.http.request('DELETE', `/api/push/subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`);
    await subscription.unsubscribe();
    return true;
  }

  /** Whether this browser holds a push subscription for the registration. */
  async isSubscribed(registration?: PushRegistrationLike): Promise<boolean> {
    const reg = await resolveRegistration(registration, { optional: true });
    return (await reg?.pushManager.getSubscription()) != null;
  }
}

async function resolveRegistration(given: PushRegistrationLike | undefined, { optional = false } = {}): Promise<PushRegistrationLike | undefined> {
  if (given) return given;
  const container = (globalThis as { navigator?: { serviceWorker?: { getRegistration(): Promise<PushRegistrationLike | undefined> } } }).navigator?.serviceWorker;
  const found = container ? await container.getRegistration() : undefined;
  if (!found && !optional) {
    throw new RealtimeError('Web Push needs a service worker registration: register sw.js (navigator.serviceWorker.register) and pass it');
  }
  return found;
}

/** Decodes base64url (no padding needed) into bytes, as `applicationServerKey` wants them. */
export function base64UrlToBytes(text: string): Uint8Array {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameKey(existing: ArrayBuffer | null, key: Uint8Array): boolean {
  if (!existing) return true; // the browser does not tell: keep the subscription
  const a = new Uint8Array(existing);
  return a.length === key.length && a.every((b, i) => b === key[i]);
}
