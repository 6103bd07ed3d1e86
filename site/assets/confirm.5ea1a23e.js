// /confirm/#t=…: confirm the address, keep the manage token for this tab, go to preferences.
import { call, keepToken, problemText, say, show } from "./api.c68742ad.js";

async function confirm() {
  const match = /(?:^#|&)t=([^&]+)/.exec(location.hash);
  history.replaceState(null, "", location.pathname + location.search);
  if (!match) {
    say("This link is incomplete.");
    show("expired");
    return;
  }
  const result = await call("POST", "/api/confirm", { body: { token: decodeURIComponent(match[1]) } });
  if (result.status === 200 && result.data && result.data.manage_token) {
    keepToken(result.data.manage_token);
    say("Confirmed. Opening your preferences…");
    location.replace("/preferences/");
  } else if (result.status === 401 || result.status === 403) {
    say("This confirmation link has expired or was already replaced.");
    show("expired");
  } else {
    say(problemText(result));
  }
}

confirm();
