export { createClient, RealtimeClient, DEFAULT_TRANSPORTS } from './client.js';
export type { ClientOptions, ClientEvents } from './client.js';
export { DefaultRetryPolicy, DEFAULT_RETRY_DELAYS, DEFAULT_JITTER } from './retry.js';
export type { RetryPolicy, RetryContext, DefaultRetryPolicyOptions } from './retry.js';
export {
  RealtimeError, HttpError, ValidationError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError,
  RateLimitError, ServiceUnavailableError,
} from './errors.js';
export type { ProblemDetails } from './errors.js';
export { PreferencesClient } from './preferences.js';
export type { Preferences, PreferencesInput, ChannelPreferences, CategoryPreferences, QuietHours } from './preferences.js';
export { PushClient, base64UrlToBytes } from './push.js';
export type { PushRegistrationLike, PushSubscriptionLike } from './push.js';
export type { HubConnectionLike, HubConnectionFactory, HubConnectionFactoryOptions, HubProtocolName } from './hub.js';
export type { EventSourceLike, EventSourceConstructor } from './sse.js';
export type { FetchLike, TokenFactory } from './http.js';
export type {
  Notification, InboxPage, ListOptions, UnreadCountPayload, ReadEvent, DeletedEvent, TransportName, ConnectionState,
  StateChange, StorageLike, Logger,
} from './types.js';
