// /confirm/#t=…: show what confirming would grant, and confirm only when the person presses
// "Yes, confirm". Loading, prefetching or rendering this page grants nothing.
import { call, el, keepToken, problemText, say, show } from "./api.4f8b02bd.js";
import { t } from "./i18n.23342438.js";
import { carry, root } from "./language.63725176.js";

// The token leaves the address at once but stays here, so "Try again" can send it again.
const match = /(?:^#|&)t=([^&]+)/.exec(location.hash);
history.replaceState(null, "", location.pathname + location.search);
let token = null;
try {
  token = match ? decodeURIComponent(match[1]) : null;
} catch {
  token = null; // a malformed %-escape: no real link looks like that
}
// Switching language before confirming keeps the link working.
carry(() => (token ? `#t=${encodeURIComponent(token)}` : ""));

const form = document.getElementById("confirm-form");
const retry = document.getElementById("retry");
let again = preview;
retry.addEventListener("click", () => {
  retry.hidden = true;
  again();
});

function refused(result) {
  if (result.status === 410) {
    const used = result.data && result.data.type && result.data.type.endsWith("/link-used");
    document.getElementById("spent-title").textContent = used
      ? t("This link has already been used")
      : t("A newer sign-up replaced this link");
    say(used ? t("This link has already been used.") : t("This link was replaced by a newer one."));
    form.hidden = true;
    show("spent");
    return true;
  }
  if (result.status === 401 || result.status === 403) {
    token = null;
    say(t("This confirmation link has expired or was already replaced."));
    form.hidden = true;
    show("expired");
    return true;
  }
  return false;
}

function failed(result, next) {
  say(problemText(result));
  if (result.status === 0 || result.status >= 500) {
    again = next;
    retry.hidden = false;
    retry.focus();
  }
}

async function preview() {
  if (!token) {
    say(match ? t("This confirmation link has expired or was already replaced.") : t("This link is incomplete."));
    show("expired");
    return;
  }
  const result = await call("POST", "/api/confirm/preview", { body: { token } });
  if (result.status === 200 && result.data) {
    render(result.data);
    say(t("Please check what you agree to, then press “Yes, confirm”."));
    form.hidden = false;
  } else if (!refused(result)) {
    failed(result, preview);
  }
}

function render(asked) {
  document.getElementById("confirm-email").textContent = asked.email;
  const list = document.getElementById("confirm-permissions");
  list.replaceChildren();
  for (const [n, p] of asked.permissions.entries()) {
    const id = `confirm-permission-${n}`;
    const item = el("li");
    const box = el("input");
    box.type = "checkbox";
    box.id = id;
    box.value = `${p.channel}:${p.purpose}`;
    box.checked = !p.withheld_by_gpc;
    box.disabled = p.withheld_by_gpc;
    // TRANSLATORS: a permission to confirm, "Email: Offers".
    const label = el("label", t("{channel}: {purpose}", { channel: p.channel_label, purpose: p.purpose_label }));
    label.htmlFor = id;
    item.append(box, label);
    if (p.withheld_by_gpc) {
      item.append(el("span", " " + t("(not granted: your browser sends Global Privacy Control)"), "hint"));
    }
    list.append(item);
  }
  document.getElementById("confirm-no-permissions").hidden = asked.permissions.length > 0;
  document.getElementById("confirm-permissions-hint").hidden = asked.permissions.length === 0;
  const named = Boolean(asked.name);
  document.getElementById("confirm-name-group").hidden = !named;
  document.getElementById("confirm-name").textContent = asked.name || "";
  const topics = asked.interests.map((t) => t.label).join(", ");
  document.getElementById("confirm-interests-line").hidden = !topics;
  document.getElementById("confirm-interests").textContent = topics;
  document.getElementById("confirm-policy-version").textContent = asked.policy.version;
}

function chosen() {
  const boxes = document.querySelectorAll("#confirm-permissions input[type=checkbox]");
  return [...boxes]
    .filter((box) => box.checked && !box.disabled)
    .map((box) => {
      const [channel, purpose] = box.value.split(":");
      return { channel, purpose };
    });
}

async function confirm() {
  const button = document.getElementById("confirm-yes");
  button.disabled = true;
  say(t("Confirming…"));
  const keepName = document.getElementById("confirm-keep-name");
  const body = { token, permissions: chosen() };
  if (!document.getElementById("confirm-name-group").hidden) body.keep_name = keepName.checked;
  const result = await call("POST", "/api/confirm", { body });
  button.disabled = false;
  if (result.status === 200 && result.data && result.data.manage_token) {
    keepToken(result.data.manage_token);
    token = null;
    say(t("Confirmed. Opening your preferences…"));
    location.replace(`${root()}preferences/`);
  } else if (!refused(result)) {
    failed(result, confirm);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  confirm();
});

document.getElementById("fresh-link").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  const result = await call("POST", "/api/confirm/fresh-link", { body: { token } });
  if (result.status === 202) {
    say(t("A fresh link is on its way to the same address. It may take a few minutes."));
  } else {
    button.disabled = false;
    say(problemText(result));
  }
});

preview();
