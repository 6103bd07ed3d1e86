// Which language the person reads the site in, in the order issue 20 gives: their saved
// choice (pages that know who they are call `follow`), then an explicit `?lang=` or the
// language path, then the browser's languages, then the playbook's default (the root).
// Every page loads this module, those without scripts of their own too. The site's pages
// in each language are the page's `hreflang` alternates; a choice is remembered for this
// tab only (sessionStorage), so nothing about the person outlives the tab in the browser.
import { call, keptToken } from "./api.4f8b02bd.js";

const KEY = "befriend.language";
const page = document.documentElement;

/** The page's own language, as its `lang` says. */
export const language = page.lang;

// Code (lower case) -> the same page in that language; empty on a site of one language.
const alternates = new Map(
  Array.from(document.querySelectorAll('link[rel="alternate"][hreflang]'))
    .filter((link) => link.hreflang !== "x-default")
    .map((link) => [link.hreflang.toLowerCase(), link.hreflang]),
);

function address(code) {
  const link = document.querySelector(`link[rel="alternate"][hreflang="${code}"]`);
  return link ? link.href : null;
}

/**
 * Where the site's pages in this page's language begin: `/` or `/de/`. The build puts each
 * language's pages under its root and the default's at `/`, so the root is what this
 * page's address has before the default's (the x-default alternate).
 */
export function root() {
  const own = address(language);
  const fallback = address("x-default");
  if (!own || !fallback) return "/"; // a site of one language: everything at the root
  const mine = new URL(own, location.href).pathname;
  const theirs = new URL(fallback, location.href).pathname;
  return mine.endsWith(theirs) ? `${mine.slice(0, mine.length - theirs.length)}/` : "/";
}

/** The site's language for a browser's tag: `de-AT` -> `de`; null when it speaks none. */
function spoken(tag) {
  const wanted = String(tag || "").toLowerCase();
  return alternates.get(wanted) || alternates.get(wanted.split("-")[0]) || null;
}

// How this tab last chose: "switch:fr" (the footer), "address:fr" (`?lang=`) or
// "browser:de" (navigator.languages, once, on the default's pages).
function remembered() {
  const [by = "", code = ""] = (sessionStorage.getItem(KEY) || "").split(":");
  return { by, code };
}

function remember(by, code) {
  sessionStorage.setItem(KEY, `${by}:${code}`);
}

// A page whose token is only in its address (confirm, email) gives it here, so moving to
// another language keeps it; other pages keep their token in sessionStorage.
let carried = () => location.hash;

export function carry(hash) {
  carried = hash;
}

/** This page in `code`, with the rest of the address's query and the token's hash. */
function target(code) {
  const moved = new URL(address(code), location.href);
  const query = new URLSearchParams(location.search);
  query.delete("lang");
  moved.search = query.toString();
  moved.hash = carried();
  return moved.href;
}

/**
 * The person's saved language (GET /api/me `settings.language`) comes first: true when it
 * differs from this page's and the page is being replaced by the saved one. A language
 * this tab just chose with the switch stays, even where saving it failed.
 */
export function follow(saved) {
  const code = spoken(saved);
  if (!code || code === language) return false;
  const before = remembered();
  if (before.by === "switch" && before.code === language) return false;
  location.replace(target(code));
  return true;
}

/** On arrival: true when the page moves to another language's (and shows nothing). */
function arrive() {
  // The not-found page stands in for any missing address: it stays where it was asked for.
  const own = address(language);
  if (!own || new URL(own, location.href).pathname !== location.pathname) return false;
  const asked = new URLSearchParams(location.search).get("lang");
  const code = asked && spoken(asked);
  if (code) {
    remember("address", code);
    if (code === language) return false;
    location.replace(target(code));
    return true;
  }
  // The browser's languages count only on the default's pages (the root, the x-default),
  // once per tab, and never after the person chose: no page ever moves back and forth.
  if (remembered().by || address("x-default") !== own) return false;
  const preferred = (navigator.languages || [navigator.language]).map(spoken).find(Boolean);
  remember("browser", preferred || language);
  if (!preferred || preferred === language) return false;
  location.replace(target(preferred));
  return true;
}

/** The footer's switch: saved for a signed-in person before the page moves. */
async function switchTo(event) {
  // A click meant for a new tab or window is the browser's: a plain link.
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const code = event.currentTarget.dataset.language;
  remember("switch", code);
  const token = keptToken();
  // A failure is no reason to stay: the page moves, and this tab keeps the choice.
  if (token) await call("PATCH", "/api/me/settings", { token, body: { language: code } });
  location.assign(target(code));
}

for (const link of document.querySelectorAll("nav.languages a[data-language]")) {
  if (address(link.dataset.language)) link.addEventListener("click", switchTo);
}

// The page is being replaced: the modules that import this one never run on it, so none
// takes a token from the address or calls the API for a page nobody will see.
if (arrive()) await new Promise(() => {});
