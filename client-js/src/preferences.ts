import type { Http } from './http.js';

/** The channels a notification can take: `inApp` (inbox and live) and `push` (Web Push). */
export interface ChannelPreferences {
  inApp: boolean;
  push: boolean;
}

/** One category's overrides of the channel defaults; a channel left out follows `channels`. */
export interface CategoryPreferences {
  inApp?: boolean;
  push?: boolean;
}

/** A daily window (`HH:mm`, 24-hour, in the document's `timeZone`) in which only `urgent` notifications are pushed; may cross midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

/** A user's notification preferences as the server stores them (API.md, "Preferences"). */
export interface Preferences {
  /** BCP 47 tag (e.g. `de-AT`), used to pick a template's language; `null` when unset. */
  locale: string | null;
  /** IANA time zone (e.g. `Europe/Vienna`); required with `quietHours`. */
  timeZone: string | null;
  /** The user's defaults per channel (both always present). */
  channels: ChannelPreferences;
  /** Per-category overrides (at most 500; names up to 100 characters). */
  categories: Record<string, CategoryPreferences>;
  quietHours: QuietHours | null;
}

/** What `set` takes: the whole document, where anything left out takes its default (every channel on, no quiet hours). */
export interface PreferencesInput {
  locale?: string | null;
  timeZone?: string | null;
  channels?: Partial<ChannelPreferences> | null;
  categories?: Record<string, CategoryPreferences> | null;
  quietHours?: QuietHours | null;
}

/** `GET`/`PUT /api/preferences`: the signed-in user's own preferences. */
export class PreferencesClient {
  constructor(private readonly http: Http) {}

  /** The user's preferences (the defaults when they never saved any). */
  get(): Promise<Preferences> {
    return this.http.request<Preferences>('GET', '/api/preferences');
  }

  /**
   * Replaces the whole document; resolves with what the server stored. A document the server
   * refuses (unknown field, bad time zone, a mandatory category muted, …) rejects with a
   * `ValidationError` whose `problem.errors` names the field.
   */
  set(preferences: PreferencesInput): Promise<Preferences> {
    if (preferences === null || typeof preferences !== 'object' || Array.isArray(preferences)) {
      return Promise.reject(new TypeError('preferences must be an object (the whole preferences document)'));
    }
    return this.http.request<Preferences>('PUT', '/api/preferences', preferences);
  }
}
