// The sign-up form, with JavaScript: the time zone is filled in from the browser, the phone
// number is asked for only while a phone channel is ticked, and the form is sent in place
// with the answer in the status line and each problem next to its field. Without
// JavaScript the same form posts as usual (the phone field always shown) and the API
// answers with the thank-you page, or a page that says which field is missing.
import { call } from "./api.4f8b02bd.js";
import { clearProblems, showProblems } from "./fields.bc7a8118.js";
import { t } from "./i18n.23342438.js";

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

// Where the sign-up came from: the address's campaign parameters, a tracked link's `ref`
// and a person's `invite` code, copied into the form's hidden fields so the form carries
// them however it is sent. befriend keeps only these keys, each cut at 100 characters.
const ORIGIN_KEYS = ["utm_source", "utm_medium", "utm_campaign", "ref", "invite"];
const params = new URLSearchParams(window.location.search);
for (const input of document.querySelectorAll("input[data-origin]")) {
  const value = params.get(input.name);
  if (value) input.value = value.slice(0, 100);
}

function origin(data) {
  const found = {};
  for (const key of ORIGIN_KEYS) {
    const value = String(data.get(key) || "").trim();
    if (value) found[key] = value;
  }
  return found;
}

const phoneField = document.getElementById("phone-field");
const phoneBoxes = Array.from(
  document.querySelectorAll('fieldset.channel[data-kind="phone"] input[name="permissions"]'),
);

function phoneWanted() {
  return phoneBoxes.some((box) => box.checked);
}

/** The phone field is there while a phone channel is ticked; hidden, it is not sent. */
function phoneShown() {
  if (!phoneField) return;
  phoneField.hidden = !phoneWanted();
}

function pairs(values) {
  return values.map((value) => {
    const [channel, purpose] = String(value).split(":");
    return { channel, purpose };
  });
}

if (form && status) {
  phoneShown();
  form.addEventListener("change", (event) => {
    if (phoneBoxes.includes(event.target)) phoneShown();
  });
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
    const from = origin(data);
    if (Object.keys(from).length) body.origin = from;
    const phone = String(data.get("phone") || "").trim();
    if (phone && phoneWanted()) body.phone = phone;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    status.textContent = t("Sending…");
    const result = await call("POST", "/api/signup", { body });
    if (button) button.disabled = false;
    if (result.status === 202) {
      clearProblems(form);
      status.textContent = t(
        "Thank you. Please check your mail and confirm your address: nothing is granted " +
          "until you do. If no mail arrives within a few minutes, look in your spam folder.",
      );
      form.reset();
      phoneShown();
      if (zone && body.time_zone) zone.value = body.time_zone;
    } else {
      status.textContent = showProblems(form, result);
    }
  });
}
