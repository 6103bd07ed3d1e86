// /confirm/#t=…: confirm the address, keep the manage token for this tab, go to preferences.
import { call, keepToken, problemText, say, show } from "./api.js";

// The token leaves the address at once but stays here, so "Try again" can send it again.
const match = /(?:^#|&)t=([^&]+)/.exec(location.hash);
history.replaceState(null, "", location.pathname + location.search);
let token = null;
try {
  token = match ? decodeURIComponent(match[1]) : null;
} catch {
  token = null; // a malformed %-escape: no real link looks like that
}

const retry = document.getElementById("retry");
retry.addEventListener("click", () => {
  retry.hidden = true;
  confirm();
});

async function confirm() {
  if (!token) {
    say(match ? "This confirmation link has expired or was already replaced." : "This link is incomplete.");
    show("expired");
    return;
  }
  say("Confirming…");
  const result = await call("POST", "/api/confirm", { body: { token } });
  if (result.status === 200 && result.data && result.data.manage_token) {
    keepToken(result.data.manage_token);
    token = null;
    say("Confirmed. Opening your preferences…");
    location.replace("/preferences/");
  } else if (result.status === 401 || result.status === 403) {
    token = null;
    say("This confirmation link has expired or was already replaced.");
    show("expired");
  } else {
    say(problemText(result));
    if (result.status === 0 || result.status >= 500) {
      retry.hidden = false;
      retry.focus();
    }
  }
}

confirm();
