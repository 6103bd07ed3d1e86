// /marketers/: sign in with an account (session.js: tokens in memory only) or with an API
// key (kept in this tab's sessionStorage, never in the URL), then the reports for a period,
// their CSV files, the plays with their audiences, the open tasks (contacts of plays
// befriend delivers that people make) with their CSV file, and for admins the audit trail.
// What is shown follows the roles GET /api/whoami says the account or key holds.
import { call, el, problemText, say, show } from "./api.4f8b02bd.js";
import { forgetAudit, keepAuditKey } from "./audit.9f4e1854.js";
import { audience, fetchFile, save, suggestedName } from "./downloads.db44a0d5.js";
import { t, tn } from "./i18n.23342438.js";
import { lastDays, length, periodText, today } from "./period.899ee221.js";
import { fill, placeholder, release } from "./reports.f857fc67.js";
import {
  accessToken,
  accountSignIn,
  finishHosted,
  forget,
  signInWithPassword,
  signOutAccount,
  startHosted,
  wasHosted,
} from "./session.c715437d.js";

const KEY = "befriend.marketer";
const DEFAULT_DAYS = 28;
const $ = (id) => document.getElementById(id);

let credential = null; // {kind: "key", key} or {kind: "account"}; null when signed out
let roles = [];
let catalogue = null; // [{id, title}] once read for this key
let run = 0; // the latest load of the reports; an older one's answers are dropped
let shown = null; // {from, to} of the reports on the page

/** The bearer token of every call: the key, or the account's access token (refreshed). */
async function key() {
  if (!credential) return null;
  return credential.kind === "key" ? credential.key : await accessToken();
}

const holds = (role) => roles.includes(role) || roles.includes("admin");

function signedOut(message) {
  sessionStorage.removeItem(KEY);
  if (credential && credential.kind === "account") forget();
  credential = null;
  roles = [];
  catalogue = null;
  shown = null;
  run += 1;
  release();
  $("plays").replaceChildren();
  $("tasks").replaceChildren();
  forgetAudit();
  $("reports").replaceChildren();
  $("reports-toc-list").replaceChildren();
  $("reports-toc").hidden = true;
  problem("");
  show("signed-out", "signed-in");
  say(message);
}

/** An answer refusing the key or the sign-in: 401 signs out, 403 says the role may not;
 * true for either. */
function refused(result) {
  if (result.status === 403) {
    say(problemText(result));
    return true;
  }
  if (result.status !== 401) return false;
  signedOut(
    credential && credential.kind === "account"
      ? t("Your sign-in has ended. Sign in again.")
      : t("That key was not accepted. Check it and try again."),
  );
  return true;
}

// --- plays and their audiences ---

function play(item) {
  const entry = el("li", undefined, "step");
  const title = el("p", undefined, "step-says");
  // TRANSLATORS: after a play's id in bold, what the play says: "welcome-letter: Welcome aboard".
  title.append(el("strong", item.id), document.createTextNode(t(": {says}", { says: item.says })));
  entry.append(title);
  const how = { channel: item.channel, purpose: item.purpose };
  const ask = item.kind === "ask";
  const facts = [
    item.purpose
      ? ask
        ? t("An ask by {channel} for {purpose}", how)
        : t("A message by {channel} for {purpose}", how)
      : ask
        ? t("An ask by {channel}", how)
        : t("A message by {channel}", how),
    t("stages: {stages}", { stages: (item.stages || []).join(", ") }),
    (item.circles || []).length ? t("circles: {circles}", { circles: item.circles.join(", ") }) : t("circles: any"),
    tn("rests {n} day after a no", "rests {n} days after a no", item.cooldown_days),
  ];
  if ((item.interests || []).length) facts.push(t("interests: {interests}", { interests: item.interests.join(", ") }));
  entry.append(el("p", `${facts.join("; ")}.`, "hint"));
  if (!holds("ingest")) return entry; // #audience-role says why there is no download
  const download = el("button", t("Download audience (CSV)"), "secondary small");
  download.type = "button";
  download.dataset.audience = item.id;
  // TRANSLATORS: read after "Download audience (CSV)" by a screen reader: "… of welcome-letter".
  download.append(el("span", " " + t("of {play}", { play: item.id }), "visually-hidden"));
  entry.append(download);
  return entry;
}

async function downloadAudience(button) {
  const id = button.dataset.audience;
  button.disabled = true;
  say(t("Reading the audience of {play}…", { play: id }));
  const result = await audience(id, key, (people) =>
    say(
      tn(
        "Reading the audience of {play}… {n} person so far.",
        "Reading the audience of {play}… {n} people so far.",
        people,
        { play: id },
      ),
    ),
  );
  button.disabled = false;
  if (refused(result)) return;
  if (!result.blob) {
    say(t("The audience of {play} could not be downloaded. {problem}", { play: id, problem: problemText(result) }));
    return;
  }
  save(result.blob, `audience-${id}.csv`);
  say(
    tn(
      "The audience of {play} is downloaded: {n} person.",
      "The audience of {play} is downloaded: {n} people.",
      result.people,
      { play: id },
    ),
  );
}

// --- the period and the reports ---

function problem(text, fields = []) {
  $("period-problem").textContent = text;
  for (const name of ["from", "to"]) {
    const input = $(name);
    if (text && fields.includes(name)) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "period-problem period-hint");
    } else {
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "period-hint");
    }
  }
}

const FIELDS = { from: t("From"), to: t("To") };

// "from must not be after `to`" reads as "From must not be after “To”."
function fieldProblem(error) {
  const label = FIELDS[error.field] || String(error.field || t("The period"));
  const message = String(error.message)
    // TRANSLATORS: a field's name quoted inside a sentence, "must not be after “To”".
    .replace(/`(\w+)`/g, (_, name) => t("“{field}”", { field: FIELDS[name] || name }))
    .replace(/[.\s]+$/, "");
  // TRANSLATORS: the period picker's problem: a field's label, then what is wrong with it.
  return t("{field} {problem}.", { field: label, problem: message });
}

/** Say next to the picker why the API refused the period, and mark the fields it names. */
function refusedPeriod(result) {
  const errors = ((result.data && result.data.errors) || []).filter((error) => error && error.message);
  const fields = errors.map((error) => error.field);
  const text = errors.length ? errors.map(fieldProblem).join(" ") : problemText(result);
  problem(text, fields.length ? fields : ["from", "to"]);
}

function choose(period) {
  $("from").value = period.from;
  $("to").value = period.to;
  marks();
}

// A quick period is pressed while the dates are exactly its days up to today.
function marks() {
  const from = $("from").value;
  const to = $("to").value;
  for (const button of document.querySelectorAll("[data-days]")) {
    const chosen = to === today() && length(from, to) === Number(button.dataset.days);
    button.setAttribute("aria-pressed", String(chosen));
  }
}

function contents() {
  const list = $("reports-toc-list");
  list.replaceChildren(
    ...catalogue.map((entry) => {
      const item = el("li");
      const link = el("a", entry.title);
      link.href = `#report-${entry.id}`;
      item.append(link);
      return item;
    }),
  );
  $("reports-toc").hidden = false;
}

async function readCatalogue() {
  const result = await call("GET", "/api/reports", { token: key });
  if (refused(result)) return false;
  if (result.status !== 200 || !result.data || !Array.isArray(result.data.reports)) {
    say(t("The reports could not be listed. {problem}", { problem: problemText(result) }));
    return false;
  }
  catalogue = result.data.reports.map((entry) => ({
    id: String(entry.id),
    title: String(entry.title),
  }));
  contents();
  $("reports").replaceChildren(...catalogue.map(placeholder));
  return true;
}

function reportPath(id, from, to, format = "json") {
  const query = new URLSearchParams({ from, to, format });
  return `/api/reports/${encodeURIComponent(id)}?${query}`;
}

function busy(on) {
  $("reports").setAttribute("aria-busy", String(on));
}

/** Load every report for the period in the picker; the ones shown stay until all is well.
 * `opening` starts each status message (what happened just before, such as signing in). */
async function loadReports(opening = "") {
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to) {
    problem(t("Enter both days of the period, as dates."), [from ? "to" : "from"]);
    $(from ? "to" : "from").focus();
    return;
  }
  const mine = ++run;
  problem("");
  busy(true);
  say(opening + t("Loading the reports for {period}…", { period: periodText(from, to) }));
  if (!catalogue && !(await readCatalogue())) {
    if (mine === run) busy(false);
    return;
  }
  if (mine !== run) return;
  const results = await Promise.all(
    catalogue.map((entry) => call("GET", reportPath(entry.id, from, to), { token: key })),
  );
  if (mine !== run) return;
  if (results.some(refused)) {
    busy(false);
    return;
  }
  const invalid = results.find((result) => result.status === 400);
  if (invalid) {
    refusedPeriod(invalid);
    busy(false);
    const said = [t("The period was not changed: see the problem next to it.")];
    if (shown) said.push(t("The reports still show {period}.", { period: periodText(shown.from, shown.to) }));
    say(said.join(" "));
    return;
  }
  release();
  shown = { from, to };
  const span = periodText(from, to);
  const drawn = catalogue.map((entry, n) =>
    fill($(`report-${entry.id}`), results[n], key, t("From {period}, both days included.", { period: span })),
  );
  // The contents name each report as its heading does, once the report has said it.
  catalogue.forEach((entry, n) => {
    const link = document.querySelector(`#reports-toc-list a[href="#report-${entry.id}"]`);
    const title = results[n].status === 200 && results[n].data && results[n].data.title;
    if (link && title) link.textContent = title;
  });
  const loaded = results.filter((result) => result.status === 200).length;
  await Promise.all(drawn);
  if (mine !== run) return;
  busy(false);
  say(
    opening +
      (loaded < catalogue.length
        ? tn(
            "{loaded} of {n} report loaded for {period}; the others say why not.",
            "{loaded} of {n} reports loaded for {period}; the others say why not.",
            catalogue.length,
            { loaded, period: span },
          )
        : tn("{n} report for {period}.", "{n} reports for {period}.", loaded, { period: span })),
  );
}

async function downloadReport(button) {
  const id = button.dataset.csv;
  if (!shown) return;
  button.disabled = true;
  say(t("Preparing the CSV file…"));
  const result = await fetchFile(reportPath(id, shown.from, shown.to, "csv"), key, "text/csv");
  button.disabled = false;
  if (refused(result)) return;
  if (!result.blob) {
    say(t("The CSV file could not be made. {problem}", { problem: problemText(result) }));
    return;
  }
  save(result.blob, suggestedName(result.answer, `${id}-${shown.from}-${shown.to}.csv`));
  say(t("The CSV file for {period} is downloaded.", { period: periodText(shown.from, shown.to) }));
}

// --- tasks ---

async function loadTasks() {
  const result = await call("GET", "/api/tasks", { token: key });
  if (refused(result)) return "";
  if (result.status !== 200 || !result.data) {
    return t("The tasks could not be read. {problem}", { problem: problemText(result) }) + " ";
  }
  const tasks = result.data.tasks || [];
  $("tasks").replaceChildren(
    ...tasks.map((task) => {
      const row = el("tr");
      const first = el("th", task.play);
      first.scope = "row";
      row.append(
        first,
        el("td", task.person),
        el("td", task.channel),
        el("td", task.contact === null ? "–" : task.contact),
        el("td", task.due_since),
      );
      return row;
    }),
  );
  $("tasks-table").hidden = tasks.length === 0;
  $("tasks-none").hidden = tasks.length !== 0;
  return tn("{n} open task.", "{n} open tasks.", tasks.length) + " ";
}

async function downloadTasks(button) {
  button.disabled = true;
  say(t("Preparing the tasks file…"));
  const result = await fetchFile("/api/tasks?format=csv", key, "text/csv");
  button.disabled = false;
  if (refused(result)) return;
  if (!result.blob) {
    say(t("The tasks file could not be made. {problem}", { problem: problemText(result) }));
    return;
  }
  save(result.blob, suggestedName(result.answer, "tasks.csv"));
  say(t("The open tasks are downloaded."));
}

// --- signing in ---

/** Who the key or the account is, as the page says it. */
function whoText(me) {
  const held = { roles: me.roles.join(", "), name: me.name };
  return me.kind === "key"
    ? // TRANSLATORS: the API key's name, then its role (reader, ingest or admin).
      t("Signed in with the API key {name} ({roles}).", held)
    : // TRANSLATORS: the account's user name, then its groups (reader, ingest, admin).
      t("Signed in as {name} ({roles}).", held);
}

/** Sign in with `kind` ("key", with its value; "account", once session.js holds a token). */
async function enter(kind, value, fresh) {
  say(kind === "key" ? t("Checking your key…") : t("Signing in…"));
  credential = kind === "key" ? { kind, key: value } : { kind };
  const me = await call("GET", "/api/whoami", { token: key });
  const account = kind === "account";
  if (me.status === 401 || me.status === 403) {
    signedOut(
      account
        ? me.status === 401
          ? t("Your sign-in has ended. Sign in again.")
          : t("Your account is in none of the groups reader, ingest and admin. Ask an admin to add you.")
        : t("That key was not accepted. Check it and try again."),
    );
    if (fresh) $(account ? "account-name" : "key").focus();
    return;
  }
  if (me.status !== 200 || !me.data || !Array.isArray(me.data.roles)) {
    credential = null;
    say(problemText(me));
    return;
  }
  roles = me.data.roles.map(String);
  if (!holds("reader")) {
    signedOut(
      account
        ? t("Your account may not read the plays and reports. Ask an admin to add you to the group reader.")
        : t("That key may not read the plays and reports. Ask for a key with the reader role."),
    );
    return;
  }
  const result = await call("GET", "/api/plays", { token: key });
  if (refused(result)) return;
  if (result.status !== 200 || !result.data) {
    credential = null;
    say(problemText(result));
    return;
  }
  if (kind === "key") sessionStorage.setItem(KEY, value);
  $("key").value = "";
  $("account-password").value = "";
  $("whoami").textContent = whoText(me.data);
  $("audience-role").hidden = holds("ingest");
  $("audit-section").hidden = !holds("admin");
  if (holds("admin")) keepAuditKey(key); // before any wait: the section may be used at once
  const plays = result.data.plays || [];
  $("plays").replaceChildren(...plays.map(play));
  show("signed-in", "signed-out");
  $("tasks-section").hidden = !holds("ingest");
  const tasks = holds("ingest") ? await loadTasks() : "";
  if (!credential) return; // the tasks' answer signed out
  // Each status message of the loads that follow starts with what signing in found.
  const opening = tn("Signed in. {n} play.", "Signed in. {n} plays.", plays.length) + " " + tasks;
  say(opening);
  if (fresh) $("reports-title").focus();
  if (!$("from").value || !$("to").value) choose(lastDays(DEFAULT_DAYS));
  await loadReports(opening);
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const entered = $("key").value.trim();
  if (!entered) {
    say(t("Enter your API key."));
    $("key").focus();
    return;
  }
  enter("key", entered, true);
});
$("account-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("account-name").value.trim();
  const password = $("account-password").value;
  if (!name || !password) {
    say(t("Enter your user name and password."));
    $(name ? "account-password" : "account-name").focus();
    return;
  }
  const button = $("account-sign-in");
  button.disabled = true;
  say(t("Signing in…"));
  const problem = await signInWithPassword(name, password);
  button.disabled = false;
  if (problem) {
    $("account-password").value = "";
    say(problem);
    $("account-password").focus();
    return;
  }
  enter("account", null, true);
});
$("hosted-sign-in").addEventListener("click", () => {
  say(t("Going to the sign-in page…"));
  startHosted();
});
$("sign-out").addEventListener("click", async () => {
  const account = credential && credential.kind === "account";
  if (account) await signOutAccount(); // from the hosted page, this goes there and back
  signedOut(account ? t("Signed out.") : t("Signed out. The key is forgotten in this tab."));
  $(account ? "account-name" : "key").focus();
});
$("period-form").addEventListener("submit", (event) => {
  event.preventDefault();
  loadReports();
});
for (const name of ["from", "to"]) $(name).addEventListener("input", marks);
for (const button of document.querySelectorAll("[data-days]")) {
  button.addEventListener("click", () => {
    choose(lastDays(Number(button.dataset.days)));
    loadReports();
  });
}
$("reports").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-csv]");
  if (button) downloadReport(button);
});
$("tasks-csv").addEventListener("click", (event) => downloadTasks(event.currentTarget));
$("plays").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-audience]");
  if (button) downloadAudience(button);
});

const todayIso = today();
$("from").max = todayIso;
$("to").max = todayIso;
// Rendered disabled: without this module nothing would stop the form posting the key.
$("sign-in").disabled = false;
$("account-sign-in").disabled = false;

/** Offer an account's sign-in when the deployment has one, then sign in as the tab was. */
async function start() {
  const way = await accountSignIn();
  if (way) {
    $("account-way").hidden = false;
    $("key-way-title").hidden = false;
    $("hosted-way").hidden = way.how !== "hosted";
    $("account-form").hidden = way.how !== "password";
  }
  if (way && way.how === "hosted") {
    const back = await finishHosted();
    if (back === false) return; // on to the page in the language the sign-in began on
    if (back === null) return enter("account", null, true);
    if (typeof back === "string") return say(back);
  }
  const kept = sessionStorage.getItem(KEY);
  if (kept) return enter("key", kept, false);
  // Reloaded after signing in on the hosted page: back there, which signs in at once.
  if (way && way.how === "hosted" && wasHosted()) return startHosted();
}

start();
