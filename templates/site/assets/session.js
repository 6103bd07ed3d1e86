// A marketer signed in with an account (a Cognito user pool), for the marketers' page.
//
// The tokens live in this module's memory alone: never in the browser's storage,
// never in a URL. The access token lives 15 minutes and is refreshed a minute before it
// ends; reloading the page forgets both, and signing in again is one step (the hosted
// page remembers its own sign-in). Two ways in, as GET /api/sign-in says:
// - `hosted` (AWS): the user pool's hosted page, the authorization code with PKCE. The
//   code comes back in this page's address and is dropped from it at once; it is worth
//   nothing without the verifier, which never leaves this tab (sessionStorage, for the
//   redirect's round trip only, removed when the code is exchanged).
// - `password` (`befriend serve`, where moto has no hosted page): a user name and password
//   sent with Cognito's own API (InitiateAuth) to the page's origin, which passes it on.
import { t } from "./i18n.js";

const PKCE = "befriend.pkce"; // the verifier, state and page, during the redirect only
const LEFT = "befriend.left"; // the page signed out from, while the hosted page signs out
const HOSTED = "befriend.hosted"; // "1" while signed in on the hosted page: no secret
const EARLY_MS = 60_000; // refresh this long before the access token ends
const TARGET = "AWSCognitoIdentityProviderService.";

let way = null; // GET /api/sign-in's `accounts`, once read
let access = null;
let refresh = null;
let ends = 0; // when the access token ends, in ms since the epoch
let refreshing = null; // the refresh under way, which every caller waits for
let generation = 0; // moves on when the tokens are forgotten: a refresh begun before drops its answer

/** How this deployment signs accounts in: null when it has no user pool, or offline. */
export async function accountSignIn() {
  if (way) return way;
  try {
    const answer = await fetch("/api/sign-in", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!answer.ok) return null;
    const data = await answer.json();
    way = data && data.accounts && typeof data.accounts === "object" ? data.accounts : null;
  } catch {
    way = null;
  }
  return way;
}

/** The access token, refreshed when it ends within a minute; null once it cannot be. */
export async function accessToken() {
  if (!access) return null;
  if (Date.now() < ends - EARLY_MS) return access;
  if (!refreshing) {
    refreshing = renew().finally(() => {
      refreshing = null;
    });
  }
  await refreshing;
  return access;
}

function keep(result) {
  access = String(result.AccessToken || result.access_token || "");
  const seconds = Number(result.ExpiresIn || result.expires_in || 0);
  ends = Date.now() + seconds * 1000;
  refresh = result.RefreshToken || result.refresh_token || refresh;
  if (!access) forget();
}

/** Forget the tokens in this tab (the server's sign-out is `signOutAccount`). */
export function forget() {
  generation += 1;
  access = null;
  refresh = null;
  ends = 0;
  sessionStorage.removeItem(HOSTED);
}

async function renew() {
  if (!refresh || !way) {
    forget();
    return;
  }
  const mine = generation;
  const answer =
    way.how === "hosted"
      ? await form(way.token, { grant_type: "refresh_token", client_id: way.client_id, refresh_token: refresh })
      : await cognito("InitiateAuth", {
          AuthFlow: "REFRESH_TOKEN_AUTH",
          ClientId: way.client_id,
          AuthParameters: { REFRESH_TOKEN: refresh },
        });
  if (mine !== generation) return; // signed out while it was under way
  if (answer.ok && answer.data) keep(answer.data.AuthenticationResult || answer.data);
  else forget(); // revoked, signed out everywhere, or the user disabled: sign in again
}

// --- Cognito's API (password) ---

/** POST to Cognito; resolves to {ok, status, data}, `data` the JSON answer or null (status
 * 0: not reached). */
async function post(url, headers, body) {
  let answer;
  try {
    answer = await fetch(url, { method: "POST", headers, body, cache: "no-store" });
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  try {
    data = await answer.json();
  } catch {
    data = null;
  }
  return { ok: answer.ok, status: answer.status, data };
}

function cognito(action, body) {
  const headers = { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + action };
  return post(way.endpoint, headers, JSON.stringify(body));
}

/** Sign in with a user name and password; resolves to null, or why not as a sentence. */
export async function signInWithPassword(name, password) {
  const answer = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: way.client_id,
    AuthParameters: { USERNAME: name, PASSWORD: password },
  });
  if (answer.status === 0) return t("We could not reach the server. Check your connection and try again.");
  const result = answer.data && answer.data.AuthenticationResult;
  if (answer.ok && result) {
    keep(result);
    return access ? null : t("The sign-in did not give a token. Try again.");
  }
  if (answer.ok && answer.data && answer.data.ChallengeName) {
    return t("This account must finish setting itself up first (a new password or a second factor).");
  }
  const kind = String((answer.data && answer.data.__type) || "");
  if (kind.endsWith("NotAuthorizedException") || kind.endsWith("UserNotFoundException")) {
    return t("That user name and password were not accepted. Check them and try again.");
  }
  return t("The sign-in did not work (status {status}). Please try again.", { status: answer.status });
}

// --- the hosted page (authorization code with PKCE) ---

// The one address the hosted page sends back to, whatever the page's language: the app
// client lists it alone (infra/template.yaml). A page in another language (`/de/marketers/`)
// is returned to from there, with the code.
function callback() {
  return `${location.origin}/marketers/`;
}

function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Go to the hosted sign-in page; it comes back to this page with a code. */
export async function startHosted() {
  const verifier = randomText(48);
  const state = randomText(16);
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, page: location.pathname }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: way.client_id,
    redirect_uri: callback(),
    // aws.cognito.signin.user.admin: the API checks each token with Cognito's GetUser,
    // which answers only for tokens of this scope.
    scope: "openid email aws.cognito.signin.user.admin",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${way.authorize}?${query}`);
}

/** True when the hosted page signed this tab in before (reloaded: go back for a token). */
export function wasHosted() {
  return sessionStorage.getItem(HOSTED) === "1";
}

// The hosted page's answer, taken out of the address as this module loads, before any
// request could carry it in a Referer.
const answered = new URLSearchParams(location.search);
const returned = answered.has("code") || answered.has("error");
if (returned) history.replaceState(null, "", location.pathname + location.hash);

// A marketers' page of this site, in any language: where a redirect may go on to.
const MARKETERS = /^\/(?:[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\/)?marketers\/$/;

function kept(name) {
  try {
    return JSON.parse(sessionStorage.getItem(name) || "null");
  } catch {
    return null;
  }
}

/**
 * Back from the hosted page: exchange the code in the address for tokens. Resolves to
 * undefined when the address has no answer of the hosted page, null once signed in, false
 * while the tab goes on to the page the sign-in began on, or why not as a sentence.
 */
export async function finishHosted() {
  const left = kept(LEFT);
  sessionStorage.removeItem(LEFT);
  const elsewhere = (page) => typeof page === "string" && page !== location.pathname && MARKETERS.test(page);
  if (left && elsewhere(left.page)) {
    location.replace(left.page); // signed out from a page in another language
    return false;
  }
  if (!returned) return undefined;
  const code = answered.get("code");
  const error = answered.get("error");
  const pkce = kept(PKCE);
  if (pkce && elsewhere(pkce.page)) {
    location.replace(`${pkce.page}?${answered}`); // the code goes on, the verifier stays
    return false;
  }
  sessionStorage.removeItem(PKCE);
  if (error) return t("The sign-in page did not sign you in. Try again.");
  if (!pkce || pkce.state !== answered.get("state")) {
    return t("That sign-in was not started from this tab. Sign in again.");
  }
  const answer = await form(way.token, {
    grant_type: "authorization_code",
    client_id: way.client_id,
    code,
    redirect_uri: callback(),
    code_verifier: pkce.verifier,
  });
  if (!answer.ok || !answer.data) return t("The sign-in could not be finished. Sign in again.");
  keep(answer.data);
  if (!access) return t("The sign-in could not be finished. Sign in again.");
  sessionStorage.setItem(HOSTED, "1");
  return null;
}

function form(url, fields) {
  return post(url, { "Content-Type": "application/x-www-form-urlencoded" }, new URLSearchParams(fields));
}

/**
 * Sign out: the refresh token is revoked (and with it the access tokens it made), then the
 * tab forgets both. From the hosted page, its own sign-in is ended too, which comes back
 * to this page.
 */
export async function signOutAccount() {
  const hosted = way && way.how === "hosted";
  if (refresh && way) {
    if (hosted) await form(way.revoke, { token: refresh, client_id: way.client_id });
    // moto has no RevokeToken: locally the account signs out everywhere, which ends its
    // refresh tokens as revoking would.
    else await cognito("GlobalSignOut", { AccessToken: await accessToken() });
  }
  forget();
  if (hosted) {
    sessionStorage.setItem(LEFT, JSON.stringify({ page: location.pathname }));
    const query = new URLSearchParams({ client_id: way.client_id, logout_uri: callback() });
    location.assign(`${way.logout}?${query}`);
  }
}
