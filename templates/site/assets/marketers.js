// /marketers/: sign in with an API key (kept in this tab's sessionStorage, never in the URL)
// and list the plays.
import { call, el, problemText, say, show } from "./api.js";

const KEY = "befriend.marketer";
const $ = (id) => document.getElementById(id);

function signedOut(message) {
  sessionStorage.removeItem(KEY);
  $("plays").replaceChildren();
  show("signed-out", "signed-in");
  say(message);
}

function play(item) {
  const entry = el("li", undefined, "step");
  const title = el("p", undefined, "step-says");
  title.append(el("strong", item.id), document.createTextNode(`: ${item.says}`));
  entry.append(title);
  const facts = [
    `${item.kind === "ask" ? "An ask" : "A message"} by ${item.channel}${item.purpose ? ` for ${item.purpose}` : ""}`,
    `stages: ${(item.stages || []).join(", ")}`,
    `circles: ${(item.circles || []).length ? item.circles.join(", ") : "any"}`,
    `rests ${item.cooldown_days} days after a no`,
  ];
  if ((item.interests || []).length) facts.push(`interests: ${item.interests.join(", ")}`);
  entry.append(el("p", `${facts.join("; ")}.`, "hint"));
  return entry;
}

async function enter(key, fresh) {
  say("Checking your key…");
  const result = await call("GET", "/api/plays", { token: key });
  if (result.status === 401 || result.status === 403) {
    signedOut(
      result.status === 401
        ? "That key was not accepted. Check it and try again."
        : "That key may not read the plays. Ask for a key with the reader role.",
    );
    if (fresh) $("key").focus();
    return;
  }
  if (result.status !== 200 || !result.data) {
    say(problemText(result));
    return;
  }
  sessionStorage.setItem(KEY, key);
  $("key").value = "";
  const list = $("plays");
  list.replaceChildren(...(result.data.plays || []).map(play));
  show("signed-in", "signed-out");
  say(`Signed in. ${(result.data.plays || []).length} plays.`);
  if (fresh) $("reports-title").focus();
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) {
    say("Enter your API key.");
    $("key").focus();
    return;
  }
  enter(key, true);
});
$("sign-out").addEventListener("click", () => {
  signedOut("Signed out. The key is forgotten in this tab.");
  $("key").focus();
});

// Rendered disabled: without this module nothing would stop the form posting the key.
$("sign-in").disabled = false;

const kept = sessionStorage.getItem(KEY);
if (kept) enter(kept, false);
