// The marketers' page's audit trail: who read or exported whose data, who was refused what,
// and when. Shown to admins only (GET /api/whoami says who is one) and read when asked; the
// API answers admins only, and says so to anyone else. Values reach the page through
// textContent only.
import { call, el, problemText, say, when } from "./api.4f8b02bd.js";
import { t, tn } from "./i18n.23342438.js";

const $ = (id) => document.getElementById(id);

let key = null; // the bearer token, or the function giving it
let next = null; // the cursor of the next page, for the filters shown

function filters() {
  const query = new URLSearchParams({ limit: "50" });
  for (const name of ["who", "person", "since"]) {
    const value = $(`audit-${name}`).value.trim();
    if (value) query.set(name, value);
  }
  return query;
}

/** Who acted, as the page's language says it: an API key, an account or an operator. */
function kindOf(kind) {
  const kinds = { key: t("API key"), user: t("Account"), operator: t("Operator") };
  return kinds[kind] || kind;
}

function row(entry) {
  const line = el("tr");
  // Milliseconds are what every browser's Date reads; the trail keeps microseconds.
  const first = el("th", when(entry.at.replace(/(\.\d{3})\d+/, "$1")));
  first.scope = "row";
  const about = [entry.play, entry.subject].filter(Boolean).join(" · ") || "–";
  // What the action was, as the API says it in the page's language; its id on hover.
  const action = el("td", entry.says);
  action.title = entry.action;
  const people = entry.people.length
    ? tn("{n} person", "{n} people", entry.people.length) +
      (entry.people.length === 1 ? ` (${entry.people[0]})` : "")
    : "–";
  line.append(
    first,
    // TRANSLATORS: who acted in the audit trail: the kind (API key, account, operator) and the name.
    el("td", t("{kind}: {name}", { kind: kindOf(entry.who.kind), name: entry.who.name })),
    el("td", entry.who.role),
    action,
    el("td", about),
    el("td", people),
  );
  return line;
}

/** Read a page of the trail (the first for the filters, or the next); says what it found. */
async function page(more) {
  const query = filters();
  if (more && next) query.set("cursor", next);
  const result = await call("GET", `/api/audit?${query}`, { token: key });
  if (result.status === 403 || result.status === 401) {
    $("audit-problem").textContent = t("Only admins may read the audit trail.");
    return "";
  }
  if (result.status !== 200 || !result.data) {
    $("audit-problem").textContent = t("The audit trail could not be read. {problem}", {
      problem: problemText(result),
    });
    return "";
  }
  $("audit-problem").textContent = "";
  const rows = result.data.entries.map(row);
  if (more) $("audit").append(...rows);
  else $("audit").replaceChildren(...rows);
  next = result.data.next;
  $("audit-more").hidden = !next;
  const shown = $("audit").children.length;
  $("audit-table").hidden = shown === 0;
  $("audit-none").hidden = shown !== 0;
  return tn("{n} audit entry shown.", "{n} audit entries shown.", shown);
}

/** After signing in as an admin: the key or token the trail is read with, once asked for. */
export function keepAuditKey(token) {
  key = token;
  next = null;
}

export function forgetAudit() {
  key = null;
  next = null;
  $("audit").replaceChildren();
  $("audit-table").hidden = true;
  $("audit-none").hidden = true;
  $("audit-more").hidden = true;
  $("audit-problem").textContent = "";
}

$("audit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (key) say(await page(false));
});
$("audit-more").addEventListener("click", async () => {
  if (key) say(await page(true));
});
