// /data/: consent receipts, the full download, and erasure.
import { call, el, forgetToken, problemText, say, show, takeToken, when } from "./api.js";

const HOW = {
  form: "At sign-up",
  confirm: "When you confirmed",
  api: "On your preferences page",
  "one-click": "One-click unsubscribe",
  gpc: "Your browser's privacy signal",
  expiry: "Lapsed after a long quiet",
  import: "Imported",
};
const STATUS = { granted: "yes", withdrawn: "no", never: "not asked" };

let token = null;
let erasing = false; // while erasure runs, ticking the box must not enable Erase again
const $ = (id) => document.getElementById(id);

function expired() {
  forgetToken();
  say("Your link has expired or was replaced.");
  show("expired", "data");
}

function changes(receipt) {
  const lines = [];
  for (const service of receipt.services || []) {
    for (const purpose of service.purposes || []) {
      const was = STATUS[purpose.previousStatus] || purpose.previousStatus;
      const now = STATUS[purpose.status] || purpose.status;
      const name = (purpose.purposeCategory || [])[0] || purpose.purposeId;
      lines.push(`${name} by ${service.service}: ${was} → ${now}`);
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
    row.append(cell(when(new Date(receipt.consentTimestamp * 1000).toISOString()), "Date"));
    const what = cell(undefined, "What changed");
    const list = el("ul", undefined, "plain");
    for (const line of changes(receipt)) list.append(el("li", line));
    what.append(list);
    row.append(what);
    const how = HOW[receipt.collectionMethod] || receipt.collectionMethod;
    row.append(cell(receipt.gpc ? `${how} (privacy signal)` : how, "How"));
    row.append(cell(receipt.policyVersion, "Policy"));
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
  say("Preparing your download…");
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
  say(`Downloaded ${link.download}.`);
}

async function erase() {
  if (!$("erase-understood").checked) {
    say("Tick “I understand” first.");
    return;
  }
  if (erasing) return;
  erasing = true;
  say("Erasing…");
  $("erase").disabled = true;
  const result = await call("DELETE", "/api/me", { token });
  erasing = false;
  if (result.status === 204) {
    forgetToken();
    token = null;
    show("erased", "data");
    say("Everything is erased.");
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
  const result = await call("GET", "/api/me/receipts", { token });
  if (result.status === 401 || result.status === 403 || result.status === 404) return expired();
  if (result.status !== 200 || !result.data) return say(problemText(result));
  renderReceipts(result.data.receipts || []);
  show("data");
  say(`${(result.data.receipts || []).length} receipts.`);
}

$("download").addEventListener("click", download);
$("erase-understood").addEventListener("change", (event) => {
  $("erase").disabled = erasing || !event.target.checked;
});
$("erase").addEventListener("click", erase);
load();
