/** An RFC 9457 problem details body (`application/problem+json`) as the server sends it. */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  /** Per-field messages of a `400`. */
  errors?: Record<string, string[]>;
  [extension: string]: unknown;
}

/** Base class of every error this package throws or reports. */
export class RealtimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A REST call answered with a status other than 2xx; `problem` is the problem+json body when there is one. */
export class HttpError extends RealtimeError {
  readonly status: number;
  readonly problem: ProblemDetails | null;
  readonly method: string;
  readonly url: string;
  /** `Retry-After` in seconds (429, 503), when sent. */
  readonly retryAfterSeconds: number | null;

  constructor(method: string, url: string, status: number, problem: ProblemDetails | null, retryAfterSeconds: number | null) {
    const what = problem?.detail ?? problem?.title ?? `HTTP ${status}`;
    super(`${method} ${url} answered ${status}: ${what}`);
    this.method = method;
    this.url = url;
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 400: the request was invalid; `fieldErrors` names each field at fault. */
export class ValidationError extends HttpError {
  get fieldErrors(): Record<string, string[]> {
    return this.problem?.errors ?? {};
  }
}
/** 401: no token, or the token is invalid or expired. */
export class UnauthorizedError extends HttpError {}
/** 403: the token lacks the role or scope. */
export class ForbiddenError extends HttpError {}
/** 404: not the caller's notification (or no such endpoint). */
export class NotFoundError extends HttpError {}
/** 409: conflict (e.g. an idempotency key reused with another body). */
export class ConflictError extends HttpError {}
/** 429: rate limited; wait `retryAfterSeconds`. */
export class RateLimitError extends HttpError {}
/** 503: the server cannot serve now (database down, starting up); wait `retryAfterSeconds`. */
export class ServiceUnavailableError extends HttpError {}

const byStatus: Record<number, typeof HttpError> = {
  400: ValidationError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  429: RateLimitError,
  503: ServiceUnavailableError,
};

/** The typed error for a failed response (reads its problem+json body when there is one). */
export async function errorFromResponse(method: string, url: string, response: Response): Promise<HttpError> {
  let problem: ProblemDetails | null = null;
  try {
    const text = await response.text();
    if (text) {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') problem = parsed as ProblemDetails;
    }
  } catch {
    // not JSON: no problem details
  }
  const retryAfter = response.headers.get('retry-after');
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : null;
  const Type = byStatus[response.status] ?? HttpError;
  return new Type(method, url, response.status, problem, seconds);
}
