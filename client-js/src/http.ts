import { errorFromResponse } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
export type TokenFactory = () => string | Promise<string>;

/** The server's REST API: bearer token from the factory on each call, JSON in and out, typed errors. */
export class Http {
  constructor(
    private readonly baseUrl: string,
    private readonly accessTokenFactory: TokenFactory,
    private readonly fetchImpl: FetchLike,
  ) {}

  url(pathAndQuery: string): string {
    return `${this.baseUrl}${pathAndQuery}`;
  }

  /** Calls the API; resolves with the parsed JSON body (`undefined` for an empty one), throws an HttpError otherwise. */
  async request<T>(method: string, pathAndQuery: string, body?: unknown, { anonymous = false } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (!anonymous) headers.Authorization = `Bearer ${await this.accessTokenFactory()}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const url = this.url(pathAndQuery);
    const response = await this.fetchImpl(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await errorFromResponse(method, pathAndQuery, response);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** `http://host:5000/` and `http://host:5000` both become `http://host:5000`. */
export function normalizeBaseUrl(url: string): string {
  if (!url) throw new TypeError('url is required (the server\'s base URL, e.g. http://localhost:5000)');
  return url.replace(/\/+$/, '');
}
