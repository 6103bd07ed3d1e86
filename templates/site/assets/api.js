// Shared by the pages that need a token: the manage token, calls to the API, the status line.
// Every value from the API reaches the page through textContent, never as HTML.

import { t } from "./i18n.js";

const KEY = "befriend.manage";

/** The manage token: from `#t=` in the address (dropped from it at once), else this tab's. */
export function takeToken() {
  const match = /(?:^#|&)t=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, "", location.pathname + location.search);
    let token;
    try {
      token = decodeURIComponent(match[1]);
    } catch {
      // A malformed %-escape: no real link looks like that, so treat it as expired.
      sessionStorage.removeItem(KEY);
      return null;
    }
    sessionStorage.setItem(KEY, token);
    return token;
  }
  return sessionStorage.getItem(KEY);
}

/** This tab's manage token, leaving the address alone (its `#t=` may be another kind). */
export function keptToken() {
  return sessionStorage.getItem(KEY);
}

export function keepToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

/** What a `token` argument stands for: the token itself, or a function giving it (the
 * marketers' page's, which may refresh an account's access token first). */
export async function bearerOf(token) {
  return typeof token === "function" ? await token() : token;
}

/** Call the API; resolves to {status, data, answer}. `data` is the parsed JSON or null. */
export async function call(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = await bearerOf(token);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { status: 0, data: null, answer: null };
  }
  let data = null;
  const kind = answer.headers.get("Content-Type") || "";
  if (kind.includes("json")) {
    try {
      data = await answer.json();
    } catch {
      data = null;
    }
  }
  return { status: answer.status, data, answer };
}

/** A plain sentence for a failed call, from the problem document when there is one. */
export function problemText(result) {
  if (result.status === 0) return t("We could not reach the server. Check your connection and try again.");
  const problem = result.data || {};
  // Field errors say exactly what is wrong; the title and detail are for when there are none.
  const parts = Array.isArray(problem.errors)
    ? problem.errors.filter((error) => error && error.message).map((error) => sentence(error.message))
    : [];
  if (!parts.length) {
    if (problem.title) parts.push(sentence(problem.title));
    if (problem.detail) parts.push(sentence(problem.detail));
  }
  if (!parts.length) {
    parts.push(t("Something went wrong (status {status}). Please try again.", { status: result.status }));
  }
  return parts.join(" ");
}

function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The status line (#status, a polite live region) and its optional Undo button (#undo). */
export function say(text, undo) {
  const status = document.getElementById("status");
  const button = document.getElementById("undo");
  status.textContent = text;
  if (!button) return;
  button.hidden = !undo;
  button.onclick = undo
    ? () => {
        button.hidden = true;
        button.onclick = null;
        undo();
      }
    : null;
}

/**
 * A date and time as the page's language writes them, in the browser's time zone, or the
 * text as it came when it is not one.
 */
export function when(stamp) {
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) return String(stamp);
  const style = { dateStyle: "medium", timeStyle: "short" };
  try {
    return date.toLocaleString(document.documentElement.lang || "en", style);
  } catch {
    return date.toLocaleString("en", style); // a `lang` the browser does not know
  }
}

/**
 * A day as the page's language writes it in a sentence ("7 March 2027"), in the browser's
 * time zone, or the text as it came when it is not a moment.
 */
export function day(stamp) {
  const date = new Date(stamp);
  if (Number.isNaN(date.getTime())) return String(stamp);
  try {
    return date.toLocaleDateString(document.documentElement.lang || "en", { dateStyle: "long" });
  } catch {
    return date.toLocaleDateString("en", { dateStyle: "long" }); // a `lang` the browser does not know
  }
}

/** Show one section and hide others: the page's sections by id. */
export function show(id, ...hide) {
  for (const other of hide) {
    const element = document.getElementById(other);
    if (element) element.hidden = true;
  }
  const element = document.getElementById(id);
  if (element) element.hidden = false;
}

/** An element with text: the only way these pages put API values into the page. */
export function el(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  if (className) element.className = className;
  return element;
}
