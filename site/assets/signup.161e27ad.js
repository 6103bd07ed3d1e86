// The sign-up form, with JavaScript: the time zone is filled in from the browser, and the
// form is sent in place with the answer in the status line. Without JavaScript the same
// form posts as usual and the API answers with the thank-you page.
import { call, problemText } from "./api.eba8ab6f.js";

const form = document.getElementById("signup-form");
const status = document.getElementById("status");
const zone = document.getElementById("time_zone");

if (zone && zone.value === "UTC") {
  try {
    const guessed = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (guessed) zone.value = guessed;
  } catch {
    // An old browser without time zone names: UTC stays, and the person can change it.
  }
}

function pairs(values) {
  return values.map((value) => {
    const [channel, purpose] = String(value).split(":");
    return { channel, purpose };
  });
}

if (form && status) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      email: String(data.get("email") || "").trim(),
      policy_version: String(data.get("policy_version") || ""),
      time_zone: String(data.get("time_zone") || "UTC").trim() || "UTC",
      interests: data.getAll("interests").map(String),
      permissions: pairs(data.getAll("permissions")),
    };
    const name = String(data.get("name") || "").trim();
    if (name) body.name = name;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    status.textContent = "Sending…";
    const result = await call("POST", "/api/signup", { body });
    if (button) button.disabled = false;
    if (result.status === 202) {
      status.textContent =
        "Thank you. Please check your mail and confirm your address: nothing is granted " +
        "until you do. If no mail arrives within a few minutes, look in your spam folder.";
      form.reset();
      if (zone && body.time_zone) zone.value = body.time_zone;
    } else {
      status.textContent = problemText(result);
    }
  });
}
