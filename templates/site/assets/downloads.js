// Files the API gives only with a key or an account's token (CSV, SVG charts): fetched
// with it in the Authorization header, never in a URL, and handed to the browser as a Blob.
import { bearerOf } from "./api.js";

const MAX_PAGES = 10000;

/** GET `path` with the key; resolves to {status, blob, answer}, or {status, data} for a
 * refusal, where `data` is the problem document when there is one (for problemText). */
export async function fetchFile(path, key, accept) {
  const headers = { Accept: `${accept}, application/problem+json` };
  const bearer = await bearerOf(key);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let answer;
  try {
    answer = await fetch(path, {
      headers,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { status: 0, data: null, blob: null, answer: null };
  }
  if (!answer.ok) {
    let data = null;
    if ((answer.headers.get("Content-Type") || "").includes("json")) {
      try {
        data = await answer.json();
      } catch {
        data = null;
      }
    }
    return { status: answer.status, data, blob: null, answer };
  }
  return { status: answer.status, data: null, blob: await answer.blob(), answer };
}

/** The file name an answer suggests (Content-Disposition), else `fallback`. */
export function suggestedName(answer, fallback) {
  const header = (answer && answer.headers.get("Content-Disposition")) || "";
  const found = /filename="?([A-Za-z0-9._-]+)"?/.exec(header);
  return found ? found[1] : fallback;
}

/** Hand a Blob to the browser as a download named `name`. */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; a minute is ample before letting it go.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The records in CSV text (a quoted field may hold a line break). */
export function records(text) {
  let count = 0;
  let quoted = false;
  for (let n = 0; n < text.length; n += 1) {
    const char = text[n];
    if (char === '"') quoted = !quoted;
    else if (char === "\n" && !quoted) count += 1;
  }
  if (text.length && !text.endsWith("\n")) count += 1;
  return count;
}

/** The `rel="next"` link of an answer, when it stays on this site. */
function nextPage(answer) {
  const found = /<([^>]+)>\s*;\s*rel="next"/.exec(answer.headers.get("Link") || "");
  if (!found) return null;
  const url = new URL(found[1], location.href);
  return url.origin === location.origin ? url.pathname + url.search : null;
}

/** A play's whole audience as one CSV Blob, page after page; `progress(people)` after each.
 * Resolves to {status, blob, people}, or a refusal as fetchFile gives it. */
export async function audience(playId, key, progress) {
  let path = `/api/plays/${encodeURIComponent(playId)}/audience?format=csv&limit=200`;
  const parts = [];
  let people = 0;
  for (let page = 0; path && page < MAX_PAGES; page += 1) {
    const result = await fetchFile(path, key, "text/csv");
    if (!result.blob) return result;
    let text = await result.blob.text();
    // Every page starts with the header row; the file keeps the first one only.
    const body = text.indexOf("\n") + 1;
    people += records(text.slice(body));
    if (page > 0) text = text.slice(body);
    parts.push(text);
    progress(people);
    path = nextPage(result.answer);
  }
  return { status: 200, blob: new Blob(parts, { type: "text/csv" }), people };
}
