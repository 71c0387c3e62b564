// Signed-in sessions of the two audiences: "citizen" (POST /v1/auth/sign-in, ID number) and "staff" (POST
// /v1/auth/staff/sign-in: officers, province administrators, operators). The tokens live in sessionStorage (this tab
// only, gone when it closes; never in a URL or a cookie) and go out as `Authorization: Bearer` through api.js.
//
// authed(aud, method, path, opts) is call() with the session's access token; on a 401 it tries the refresh token once
// and repeats the request, and when that fails too it forgets the session and sends the user to the sign-in page,
// which brings them back afterwards (?tiep=<path>, a same-origin path only).
//
// The roles shown in menus are read from the access token's payload for display only: the API decides every right.
import { ApiProblem, call } from "./api.js";

const KEY = (aud) => `lfo.session.${aud}.v1`;
export const SIGN_IN_PAGE = { citizen: "/tai-khoan/dang-nhap.html", staff: "/can-bo/dang-nhap.html" };
export const HOME_PAGE = { citizen: "/tai-khoan/index.html", staff: "/can-bo/index.html" };
const REFRESH = { citizen: "/v1/auth/refresh", staff: "/v1/auth/staff/refresh" };

function read(aud) {
  try {
    const raw = sessionStorage.getItem(KEY(aud));
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** Keep a token answer (sign-in, new password, refresh) as the audience's session. */
export function saveSession(aud, answer, extra = {}) {
  const before = read(aud) || {};
  const value = { ...before, ...extra, access_token: answer.access_token,
    refresh_token: answer.refresh_token || before.refresh_token, expires_at: Date.now() + (answer.expires_in || 3600) * 1000 };
  try {
    sessionStorage.setItem(KEY(aud), JSON.stringify(value));
  } catch {
    // storage disabled: the session lasts as long as this page
  }
  return value;
}

export function session(aud) {
  return read(aud);
}

export function forgetSession(aud) {
  try {
    sessionStorage.removeItem(KEY(aud));
  } catch {
    // nothing kept
  }
}

/** The token's payload (display only: which menus to show), {} when it cannot be read. */
export function claims(aud) {
  const token = read(aud)?.access_token;
  if (!token) return {};
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

/** The staff roles the token names (officer, province_admin, operator), for menus only. */
export function roles(aud = "staff") {
  const c = claims(aud);
  return [...new Set([...(c["cognito:groups"] || []), ...(c.roles || [])])];
}

/** A same-origin path to come back to after signing in, or null (nothing from elsewhere is followed). */
export function returnPath(raw) {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return null;
  try {
    const url = new URL(raw, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : null;
  } catch {
    return null;
  }
}

/** Send the user to the audience's sign-in page, to come back here afterwards. */
export function toSignIn(aud) {
  const here = location.pathname + location.search;
  location.assign(`${SIGN_IN_PAGE[aud]}?tiep=${encodeURIComponent(here)}`);
}

/** The session, or (none kept) a redirect to sign in and null: `const s = requireSession("staff"); if (!s) return;` */
export function requireSession(aud) {
  const s = read(aud);
  if (!s?.access_token) {
    toSignIn(aud);
    return null;
  }
  return s;
}

async function refresh(aud) {
  const token = read(aud)?.refresh_token;
  if (!token) return false;
  try {
    saveSession(aud, await call("POST", REFRESH[aud], { json: { refresh_token: token } }));
    return true;
  } catch {
    return false;
  }
}

/** call() as the signed-in user of `aud`; a 401 refreshes once, then signs in again. Throws ApiProblem. */
export async function authed(aud, method, path, opts = {}) {
  const send = () => call(method, path, { ...opts, headers: { ...(opts.headers || {}),
    Authorization: `Bearer ${read(aud)?.access_token || ""}` } });
  try {
    return await send();
  } catch (problem) {
    if (!(problem instanceof ApiProblem) || problem.status !== 401) throw problem;
    if (await refresh(aud)) {
      try {
        return await send();
      } catch (again) {
        if (!(again instanceof ApiProblem) || again.status !== 401) throw again;
      }
    }
    forgetSession(aud);
    toSignIn(aud);
    throw problem;
  }
}

/** Sign out everywhere (POST /v1/auth/sign-out) and forget the tab's session, then go to the sign-in page. */
export async function signOut(aud) {
  try {
    await call("POST", "/v1/auth/sign-out", { headers: { Authorization: `Bearer ${read(aud)?.access_token || ""}` } });
  } catch {
    // already signed out or offline: the tab forgets the tokens either way
  }
  forgetSession(aud);
  location.assign(SIGN_IN_PAGE[aud]);
}
