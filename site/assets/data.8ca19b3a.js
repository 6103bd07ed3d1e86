// /data/: consent receipts, the full download, and erasure.
import { call, el, forgetToken, problemText, say, show, takeToken, when } from "./api.4f8b02bd.js";
import { t, tn } from "./i18n.23342438.js";
import { follow } from "./language.63725176.js";

const HOW = {
  form: t("At sign-up"),
  confirm: t("When you confirmed"),
  api: t("On your preferences page"),
  "one-click": t("One-click unsubscribe"),
  gpc: t("Your browser's privacy signal"),
  expiry: t("Lapsed after a long quiet"),
  import: t("Imported"),
};
// TRANSLATORS: whether a permission was given, before and after a change on a receipt.
const STATUS = { granted: t("yes"), withdrawn: t("no"), never: t("not asked") };

let token = null;
let erasing = false; // while erasure runs, ticking the box must not enable Erase again
const $ = (id) => document.getElementById(id);

function expired() {
  forgetToken();
  say(t("Your link has expired or was replaced."));
  show("expired", "data");
}

function changes(receipt) {
  const lines = [];
  for (const service of receipt.services || []) {
    for (const purpose of service.purposes || []) {
      const was = STATUS[purpose.previousStatus] || purpose.previousStatus;
      const now = STATUS[purpose.status] || purpose.status;
      const name = (purpose.purposeCategory || [])[0] || purpose.purposeId;
      // TRANSLATORS: one change on a receipt, "Offers by Email: no → yes".
      lines.push(t("{purpose} by {channel}: {was} → {now}", { purpose: name, channel: service.service, was, now }));
    }
  }
  return lines;
}

function renderReceipts(receipts) {
  const body = $("receipts-body");
  body.replaceChildren();
  for (const receipt of receipts) {
    const row = el("tr");
    const cell = (text, label) => {
      const td = el("td", text);
      td.dataset.label = label;
      return td;
    };
    row.append(cell(when(new Date(receipt.consentTimestamp * 1000).toISOString()), t("Date")));
    const what = cell(undefined, t("What changed"));
    const list = el("ul", undefined, "plain");
    for (const line of changes(receipt)) list.append(el("li", line));
    what.append(list);
    row.append(what);
    const how = HOW[receipt.collectionMethod] || receipt.collectionMethod;
    row.append(cell(receipt.gpc ? t("{how} (privacy signal)", { how }) : how, t("How")));
    row.append(cell(receipt.policyVersion, t("Policy")));
    body.append(row);
  }
  $("receipts").hidden = receipts.length === 0;
  $("no-receipts").hidden = receipts.length > 0;
}

function filename(disposition) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || "");
  const name = match ? decodeURIComponent(match[1]) : "";
  return /^[\w.-]+$/.test(name) ? name : "befriend-export.json";
}

async function download() {
  say(t("Preparing your download…"));
  const result = await call("GET", "/api/me/export", { token });
  if (result.status === 401 || result.status === 403) return expired();
  if (result.status !== 200 || !result.data) return say(problemText(result));
  const blob = new Blob([JSON.stringify(result.data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = el("a");
  link.href = url;
  link.download = filename(result.answer.headers.get("Content-Disposition"));
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  say(t("Downloaded {file}.", { file: link.download }));
}

async function erase() {
  if (!$("erase-understood").checked) {
    say(t("Tick “I understand” first."));
    return;
  }
  if (erasing) return;
  erasing = true;
  say(t("Erasing…"));
  $("erase").disabled = true;
  const result = await call("DELETE", "/api/me", { token });
  erasing = false;
  if (result.status === 204) {
    forgetToken();
    token = null;
    show("erased", "data");
    say(t("Everything is erased."));
    $("erased-title").focus();
    return;
  }
  if (result.status === 401 || result.status === 403) return expired();
  $("erase").disabled = !$("erase-understood").checked;
  say(problemText(result));
}

async function load() {
  token = takeToken();
  if (!token) return expired();
  // The language the person saved comes first: its page shows them, not this one.
  const me = await call("GET", "/api/me", { token });
  if (me.status === 200 && me.data && follow(me.data.settings.language)) return;
  const result = await call("GET", "/api/me/receipts", { token });
  if (result.status === 401 || result.status === 403 || result.status === 404) return expired();
  if (result.status !== 200 || !result.data) return say(problemText(result));
  const receipts = result.data.receipts || [];
  renderReceipts(receipts);
  show("data");
  say(tn("{n} receipt.", "{n} receipts.", receipts.length));
}

$("download").addEventListener("click", download);
$("erase-understood").addEventListener("change", (event) => {
  $("erase").disabled = erasing || !event.target.checked;
});
$("erase").addEventListener("click", erase);
load();
