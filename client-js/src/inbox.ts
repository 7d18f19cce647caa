import type { Http } from './http.js';
import type { InboxPage, ListOptions, UnreadCountPayload } from './types.js';

/** The inbox REST calls (API.md, "Browser clients: inbox"); each returns the server's payload. */
export class Inbox {
  constructor(private readonly http: Http) {}

  /** `GET /api/notifications`: newest first; pass `nextBefore` as `before` for the next page. */
  list(options: ListOptions = {}): Promise<InboxPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined && options.before !== null) query.set('before', String(options.before));
    if (options.unread) query.set('unread', 'true');
    if (options.category !== undefined) query.set('category', options.category);
    const text = query.toString();
    return this.http.request<InboxPage>('GET', `/api/notifications${text ? `?${text}` : ''}`);
  }

  /** `GET /api/notifications/unread-count`. */
  unreadCount(): Promise<UnreadCountPayload> {
    return this.http.request<UnreadCountPayload>('GET', '/api/notifications/unread-count');
  }

  async markRead(id: number): Promise<void> {
    await this.http.request('POST', `/api/notifications/${encodeId(id)}/read`);
  }

  async markUnread(id: number): Promise<void> {
    await this.http.request('POST', `/api/notifications/${encodeId(id)}/unread`);
  }

  /** Marks every notification read, or only ids ≤ `upTo`. */
  async markAllRead(upTo?: number): Promise<void> {
    await this.http.request('POST', '/api/notifications/read-all', upTo === undefined ? undefined : { upTo });
  }

  /** Removes it from the caller's inbox. */
  async remove(id: number): Promise<void> {
    await this.http.request('DELETE', `/api/notifications/${encodeId(id)}`);
  }
}

function encodeId(id: number): string {
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`a notification id is a positive integer, got ${String(id)}`);
  return String(id);
}
