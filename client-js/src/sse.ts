import { RealtimeError } from './errors.js';
import type { Connection, ConnectionHandlers, Connector, ServerMessage } from './transport.js';
import { SERVER_MESSAGES } from './transport.js';

export const STREAM_PATH = '/api/notifications/stream';

/** The parts of the WHATWG EventSource the client uses (the browser's, or the `eventsource` package in Node). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

/** How long the stream may take to open before the attempt counts as failed. */
export const DEFAULT_SSE_OPEN_TIMEOUT_MS = 15_000;

/**
 * A connector for the SSE endpoint. An EventSource cannot change its URL or headers, so the
 * client never lets it reconnect by itself: every (re)connect is a new EventSource with a fresh
 * `access_token` and `lastEventId` (the id to resume after).
 */
export function sseConnector(options: { baseUrl: string; EventSource: EventSourceConstructor | undefined; openTimeoutMs?: number }): Connector {
  return (token: string, afterId: number, handlers: ConnectionHandlers): Promise<Connection> => {
    const EventSourceImpl = options.EventSource;
    if (!EventSourceImpl) {
      return Promise.reject(new RealtimeError('no EventSource: pass one (options.EventSource, e.g. the eventsource package in Node)'));
    }
    const url = `${options.baseUrl}${STREAM_PATH}?access_token=${encodeURIComponent(token)}&lastEventId=${afterId}`;
    const source = new EventSourceImpl(url);
    let open = false;
    let ended = false;

    for (const type of SERVER_MESSAGES) {
      source.addEventListener(type, (event) => {
        if (ended) return;
        let payload: unknown;
        try {
          payload = JSON.parse(event.data);
        } catch {
          return; // not the server's JSON: ignore
        }
        handlers.message(type as ServerMessage, payload);
      });
    }

    return new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => fail(new RealtimeError(`the event stream did not open within ${options.openTimeoutMs ?? DEFAULT_SSE_OPEN_TIMEOUT_MS} ms`)), options.openTimeoutMs ?? DEFAULT_SSE_OPEN_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        if (ended) return;
        ended = true;
        source.close();
        if (open) handlers.closed(error);
        else reject(error);
      };
      source.onopen = () => {
        clearTimeout(timer);
        if (ended || open) return;
        open = true;
        resolve({
          transport: 'sse',
          async close() {
            ended = true;
            source.close();
          },
        });
      };
      source.onerror = (event) => {
        const detail = event as { message?: string; code?: number };
        const message = detail?.message ?? (detail?.code ? `HTTP ${detail.code}` : 'the event stream failed or ended');
        fail(new RealtimeError(`event stream: ${message}`));
      };
    });
  };
}
