// The CloudShelf HTTP API (relative to config.apiUrl). Every error becomes an ApiError
// carrying the API's one error shape: {"error": {"code", "message", "details"}}.

import { config } from './config.js';
import { expire, idToken, refresh } from './auth.js';

export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

const FALLBACK = {
  0: 'We could not reach the store. Check your connection and try again.',
  401: 'Your session expired. Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'We could not find that.',
  413: 'That is too much data to send at once.',
  429: 'The store is busy right now. Please try again in a moment.',
  503: 'The store is briefly unavailable. Please try again in a moment.',
};

/** A sentence for the shopper about any error thrown by `api`. */
export function errorMessage(error) {
  if (error instanceof ApiError) {
    if (error.status === 0 || error.status === 401 || error.status >= 500) {
      return FALLBACK[error.status] || 'Something went wrong on our side. Please try again.';
    }
    return error.message || FALLBACK[error.status] || 'The request could not be completed.';
  }
  return 'Something went wrong. Please try again.';
}

async function send(path, { method, body, token, headers }) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (token) init.headers.Authorization = token;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(config.apiUrl + path, init);
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', FALLBACK[0]);
  }
}

async function errorFrom(response) {
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  const error = payload?.error || {};
  const retry = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  return new ApiError(
    response.status,
    error.code || `HTTP_${response.status}`,
    error.message || FALLBACK[response.status] || `The store answered ${response.status}.`,
    error.details ?? null,
    Number.isFinite(retry) ? retry : null,
  );
}

/**
 * Call the API. `auth: true` sends the Cognito ID token; a 401 is retried once after a
 * token refresh, then ends the session (the app sends the shopper to sign in again).
 */
export async function api(path, { method = 'GET', body, auth = false, headers = {} } = {}) {
  let token = null;
  if (auth) {
    token = await idToken();
    if (!token) {
      expire();
      throw new ApiError(401, 'UNAUTHORIZED', FALLBACK[401]);
    }
  }
  let response = await send(path, { method, body, token, headers });
  if (response.status === 401 && auth) {
    try {
      await refresh();
      response = await send(path, { method, body, token: await idToken(), headers });
    } catch {
      // fall through: still 401
    }
    if (response.status === 401) {
      expire();
      throw new ApiError(401, 'UNAUTHORIZED', FALLBACK[401]);
    }
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const books = {
  list: ({ category, q, limit = 20, cursor } = {}) => api(`/books${query({ category, q, limit, cursor })}`),
  get: (bookId) => api(`/books/${encodeURIComponent(bookId)}`),
  categories: () => api('/categories'),
  create: (body) => api('/books', { method: 'POST', body, auth: true }),
  // Book writes are optimistic: `version` is the one the admin read (every Book carries it; GET
  // also sends it as the ETag). A book changed meanwhile (a sale, another admin) is refused with
  // 412 VERSION_CONFLICT and the current book in `error.details.current`; nothing is written.
  replace: (bookId, body, version) => api(`/books/${encodeURIComponent(bookId)}`, {
    method: 'PUT', body, auth: true, headers: ifMatch(version),
  }),
  remove: (bookId, version) => api(`/books/${encodeURIComponent(bookId)}`, {
    method: 'DELETE', auth: true, headers: version === undefined ? {} : ifMatch(version),
  }),
};

/** The If-Match header naming a version (a strong ETag, as the API sends it). */
export function ifMatch(version) {
  return { 'If-Match': `"${version}"` };
}

/** The current record of a VERSION_CONFLICT (409/412), or null for any other error. */
export function conflictCurrent(error) {
  return error instanceof ApiError && error.code === 'VERSION_CONFLICT' ? error.details?.current || null : null;
}

export const orders = {
  place: (idempotencyKey, body) => api('/orders', {
    method: 'POST', body, auth: true, headers: { 'Idempotency-Key': idempotencyKey },
  }),
  list: ({ limit = 10, cursor } = {}) => api(`/orders${query({ limit, cursor })}`, { auth: true }),
  get: (orderId) => api(`/orders/${encodeURIComponent(orderId)}`, { auth: true }),
};

export const profile = {
  get: () => api('/users/me', { auth: true }),
  save: (body) => api('/users/me', { method: 'PUT', body, auth: true }),
};
