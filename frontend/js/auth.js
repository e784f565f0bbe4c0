// Sign-up, confirmation, sign-in, refresh and sign-out against Cognito's own JSON API
// (the endpoint, pool and client come from /config.json). Tokens live in sessionStorage
// for the length of the browser session and are refreshed shortly before they expire.

import { config } from './config.js';

const STORAGE_KEY = 'cloudshelf.session';
const NAME_KEY = 'cloudshelf.displayName';
const TARGET = 'AWSCognitoIdentityProviderService.';
const REFRESH_MARGIN_MS = 2 * 60 * 1000; // refresh two minutes before the ID token expires
const MIN_TIMER_MS = 5 * 1000;

export const authEvents = new EventTarget();

let session = null; // {idToken, accessToken, refreshToken, expiresAt, claims}
let refreshing = null; // the refresh in progress (single flight)
let refreshTimer = null;

export class AuthError extends Error {
  constructor(type, message) {
    super(message);
    this.name = 'AuthError';
    this.type = type;
  }
}

/** Decode a JWT's payload (no verification: the API verifies; this is for display and expiry). */
export function decodeJwt(token) {
  const part = String(token).split('.')[1] || '';
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

async function cognito(action, payload) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': TARGET + action },
      body: JSON.stringify(payload),
    });
  } catch {
    throw new AuthError('NetworkError', 'We could not reach the sign-in service. Check your connection and try again.');
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (!response.ok) {
    // "__type" is "NotAuthorizedException" or "com.amazonaws...#NotAuthorizedException".
    const type = String(body.__type || 'UnknownError').split('#').pop().split(':')[0];
    throw new AuthError(type, body.message || body.Message || 'The sign-in service refused the request.');
  }
  return body;
}

/** A sentence a shopper can act on, for any error of this module. */
export function authMessage(error) {
  if (!(error instanceof AuthError)) return 'Something went wrong. Please try again.';
  switch (error.type) {
    case 'NotAuthorizedException':
      return /refresh token|expired/i.test(error.message)
        ? 'Your session expired. Please sign in again.'
        : 'The email or password is not right. Check them and try again.';
    case 'UserNotFoundException':
      return 'The email or password is not right. Check them and try again.';
    case 'UsernameExistsException':
      return 'An account with this email already exists. Sign in instead, or use another email.';
    case 'InvalidPasswordException':
      return `That password is not allowed: ${error.message.replace(/^Password does not conform to policy:\s*/i, '')}`;
    case 'CodeMismatchException':
      return 'That code is not right. Check the latest email we sent and try again.';
    case 'ExpiredCodeException':
      return 'That code has expired. Ask for a new one below.';
    case 'LimitExceededException':
    case 'TooManyRequestsException':
    case 'TooManyFailedAttemptsException':
      return 'Too many attempts. Please wait a minute and try again.';
    case 'UserNotConfirmedException':
      return 'Please confirm your email address first.';
    case 'InvalidParameterException':
      return error.message;
    default:
      return error.message || 'Something went wrong. Please try again.';
  }
}

function save(result, previous = null) {
  const idToken = result.IdToken;
  const claims = decodeJwt(idToken);
  session = {
    idToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken || previous?.refreshToken || '',
    expiresAt: (claims.exp || 0) * 1000,
    claims,
  };
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
      idToken: session.idToken,
      accessToken: session.accessToken,
      refreshToken: session.refreshToken,
    }));
  } catch {
    // Private mode without storage: the session lasts until the page is closed.
  }
  scheduleRefresh();
}

function clear() {
  session = null;
  clearTimeout(refreshTimer);
  try {
    sessionStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(NAME_KEY);
  } catch {
    // nothing stored
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session?.refreshToken) return;
  const wait = Math.max(MIN_TIMER_MS, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => {
    refresh().catch(() => expire());
  }, wait);
}

function emit(type, detail = {}) {
  authEvents.dispatchEvent(new CustomEvent(type, { detail }));
}

/** Restore the session of this tab (refreshing it if the ID token has expired meanwhile). */
export async function initAuth() {
  let stored = null;
  try {
    stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
  } catch {
    stored = null;
  }
  if (!stored?.idToken) return;
  try {
    save({ IdToken: stored.idToken, AccessToken: stored.accessToken, RefreshToken: stored.refreshToken });
  } catch {
    clear();
    return;
  }
  if (session.expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    try {
      await refresh();
    } catch {
      clear();
      emit('expired');
    }
  }
}

export function isSignedIn() {
  return session !== null;
}

export function isAdmin() {
  const groups = session?.claims?.['cognito:groups'];
  return Array.isArray(groups) ? groups.includes('admin') : groups === 'admin';
}

export function currentUser() {
  if (!session) return null;
  const { email = '', name = '', sub = '' } = session.claims;
  let saved = '';
  try {
    saved = sessionStorage.getItem(NAME_KEY) || '';
  } catch {
    saved = '';
  }
  return { email, name: saved || name || email.split('@')[0], sub };
}

/** The name the shopper chose on their profile (shown in the header). */
export function setDisplayName(name) {
  try {
    if (name) sessionStorage.setItem(NAME_KEY, name);
    else sessionStorage.removeItem(NAME_KEY);
  } catch {
    return;
  }
  emit('change');
}

/** The ID token for the API (refreshed first when it is about to expire); null when signed out. */
export async function idToken() {
  if (!session) return null;
  if (session.expiresAt - Date.now() < REFRESH_MARGIN_MS) {
    try {
      await refresh();
    } catch {
      expire();
      return null;
    }
  }
  return session?.idToken ?? null;
}

/** Trade the refresh token for new ID and access tokens (REFRESH_TOKEN_AUTH). */
export function refresh() {
  if (!session?.refreshToken) return Promise.reject(new AuthError('NotAuthorizedException', 'no refresh token'));
  if (!refreshing) {
    const previous = session;
    refreshing = cognito('InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      ClientId: config.userPoolClientId,
      AuthParameters: { REFRESH_TOKEN: previous.refreshToken },
    })
      .then((answer) => {
        if (!answer.AuthenticationResult) throw new AuthError('NotAuthorizedException', 'refresh refused');
        save(answer.AuthenticationResult, previous);
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** The session is over (the API said 401, or the refresh failed): forget it and tell the app. */
export function expire() {
  if (!session) return;
  clear();
  emit('expired');
  emit('change');
}

export async function signUp(email, password, name) {
  const attributes = [{ Name: 'email', Value: email }];
  if (name) attributes.push({ Name: 'name', Value: name });
  const answer = await cognito('SignUp', {
    ClientId: config.userPoolClientId,
    Username: email,
    Password: password,
    UserAttributes: attributes,
  });
  return {
    confirmed: Boolean(answer.UserConfirmed),
    destination: answer.CodeDeliveryDetails?.Destination || '',
  };
}

export async function confirmSignUp(email, code) {
  await cognito('ConfirmSignUp', {
    ClientId: config.userPoolClientId,
    Username: email,
    ConfirmationCode: code,
  });
}

export async function resendCode(email) {
  const answer = await cognito('ResendConfirmationCode', { ClientId: config.userPoolClientId, Username: email });
  return answer.CodeDeliveryDetails?.Destination || '';
}

export async function signIn(email, password) {
  const answer = await cognito('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: config.userPoolClientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!answer.AuthenticationResult) {
    // A challenge (e.g. NEW_PASSWORD_REQUIRED for admin-created users) is not handled by the storefront.
    throw new AuthError(answer.ChallengeName || 'ChallengeRequired',
      'This account needs an extra step the storefront does not offer yet. Please contact support.');
  }
  save(answer.AuthenticationResult);
  emit('change');
}

/** Sign out here and, best effort, everywhere (GlobalSignOut revokes the refresh token). */
export async function signOut() {
  const accessToken = session?.accessToken;
  clear();
  emit('change');
  if (accessToken) {
    try {
      await cognito('GlobalSignOut', { AccessToken: accessToken });
    } catch {
      // Already invalid: nothing more to revoke.
    }
  }
}
