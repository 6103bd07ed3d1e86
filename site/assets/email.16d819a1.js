// /email/#t=… (the link mailed to a new address) and /email/#undo=… (the notice mailed to
// the old one): the address changes, or moves back, only when the person presses the button.
// Loading, prefetching or rendering this page changes nothing.
import { call, keepToken, problemText, say, show } from "./api.4f8b02bd.js";
import { t } from "./i18n.23342438.js";
import { carry } from "./language.63725176.js";

// The token leaves the address at once but stays here, so "Try again" can send it again.
const match = /(?:^#|&)(t|undo)=([^&]+)/.exec(location.hash);
history.replaceState(null, "", location.pathname + location.search);
let token = null;
try {
  token = match ? decodeURIComponent(match[2]) : null;
} catch {
  token = null; // a malformed %-escape: no real link looks like that
}
const undoing = Boolean(match) && match[1] === "undo";
// Switching language before pressing the button keeps the link working.
carry(() => (token ? `#${undoing ? "undo" : "t"}=${encodeURIComponent(token)}` : ""));
const form = document.getElementById(undoing ? "undo-change" : "confirm-change");
const retry = document.getElementById("retry");

async function send(event) {
  if (event) event.preventDefault();
  retry.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(undoing ? t("Moving your address back…") : t("Changing your address…"));
  const path = undoing ? "/api/contacts/email/undo" : "/api/contacts/email/confirm";
  const result = await call("POST", path, { body: { token } });
  button.disabled = false;
  if (result.status === 200 && result.data && result.data.person) {
    keepToken(result.data.manage_token);
    const address = result.data.person.contacts.email.address;
    document.getElementById("changed-address").textContent = address;
    form.hidden = true;
    show("changed");
    say(
      undoing
        ? t("Undone: we write to {address} again.", { address })
        : t("Done: from now on we write to {address}.", { address }),
    );
    document.getElementById("changed-title").focus();
    return;
  }
  if (result.status === 401 || result.status === 403) {
    token = null;
    form.hidden = true;
    say(t("This link has expired, was used up or was replaced."));
    show("expired");
    document.getElementById("expired-title").focus();
    return;
  }
  say(problemText(result));
  if (result.status === 0 || result.status >= 500) {
    retry.hidden = false;
    retry.focus();
  }
}

if (!token) {
  say(match ? t("This link has expired, was used up or was replaced.") : t("This link is incomplete."));
  show("expired");
} else {
  document.getElementById("email-heading").textContent = undoing
    ? t("Undo the change of your email address")
    : t("Confirm your new email address");
  form.addEventListener("submit", send);
  retry.addEventListener("click", () => send());
  form.hidden = false;
  say(undoing ? t("Press the button to move your address back.") : t("Press the button to confirm your new address."));
}
