// /preferences/: the person's own page. Every change is saved at once, said in #status, and
// most can be undone with #undo.
import { call, day, el, forgetToken, keepToken, problemText, say, show, takeToken, when } from "./api.4f8b02bd.js";
import { postalBody, renderContacts } from "./contacts.a6a04825.js";
import { clearProblems, localProblem, showProblems } from "./fields.bc7a8118.js";
import { t } from "./i18n.23342438.js";
import { loadInvite } from "./invite.5d956ec2.js";
import { follow } from "./language.63725176.js";

// TRANSLATORS: how a permission came to be as it is, after "Yes since 3 Mar 2026, ".
const HOW = {
  confirm: t("when you confirmed"),
  api: t("on this page"),
  "one-click": t("by one-click unsubscribe"),
  gpc: t("by your browser's privacy signal"),
  expiry: t("lapsed after a long quiet"),
  form: t("at sign-up"),
  import: t("when we imported your details"),
};

const WAITING = {
  phone: t("Yes once your phone number is verified (see “Where we reach you”)"),
  postal: t("Yes once you give your postal address (see “Where we reach you”)"),
};

let token = null;
let person = null;
// The stored postal address goes into its form once, and again after it is saved.
let postalFilled = false;

const $ = (id) => document.getElementById(id);
const all = (selector) => Array.from(document.querySelectorAll(selector));
const focused = (input) => document.activeElement === input;

function expired() {
  const shown = !$("prefs").hidden;
  forgetToken();
  token = null;
  say(t("Your link has expired or was replaced."));
  show("expired", "prefs");
  if (shown) $("expired-title").focus();
}

function sinceText(state) {
  if (state.state === "never" || !state.since) return t("Never asked");
  const how = HOW[state.source] || "";
  const values = { time: when(state.since), how };
  if (state.state === "granted") return how ? t("Yes since {time}, {how}", values) : t("Yes since {time}", values);
  return how ? t("No since {time}, {how}", values) : t("No since {time}", values);
}

function render() {
  renderContacts(person, { fillPostal: !postalFilled, describe: (p) => describePair(p.channel, p.purpose) });
  postalFilled = true;
  const boxes = new Map(all('input[name="permission"]').map((box) => [box.value, box]));
  for (const state of person.permissions) {
    const box = boxes.get(`${state.channel}:${state.purpose}`);
    if (!box) continue;
    const waiting = state.state !== "granted" && waitingFor(person, state.channel, state.purpose);
    box.checked = state.state === "granted" || Boolean(waiting);
    const since = $(box.getAttribute("aria-describedby"));
    if (since) since.textContent = waiting ? WAITING[waiting] : sinceText(state);
  }
  for (const box of all('input[name="interest"]')) {
    box.checked = person.interests.includes(box.value);
  }
  const settings = person.settings;
  const zone = $("time_zone");
  if (!focused(zone)) zone.value = settings.time_zone || "";
  for (const input of all('input[name="quiet-from"], input[name="quiet-until"]')) {
    const quiet = settings.quiet_hours[input.dataset.channel];
    const key = input.name === "quiet-from" ? "from" : "until";
    if (!focused(input)) input.value = quiet ? quiet[key] : "";
  }
  for (const button of all("button[data-quiet-reset]")) {
    const channel = button.dataset.quietReset;
    const quiet = settings.quiet_hours[channel];
    button.hidden = !(quiet && quiet.own);
    const note = $(`quiet-${channel}-note`);
    if (note) {
      note.textContent = !quiet
        ? t("No quiet hours.")
        : quiet.own
          ? t("Your own quiet hours.")
          : t("Our default quiet hours.");
    }
  }
  for (const input of all('input[name="max_per_week"]')) {
    const cap = settings.max_per_week[input.dataset.channel];
    if (!focused(input)) input.value = cap === null || cap === undefined ? "" : String(cap);
  }
  const pause = $("paused_until");
  if (!focused(pause)) pause.value = settings.paused_until ? settings.paused_until.slice(0, 10) : "";
  $("pause-clear").hidden = !settings.paused_until;
  renderRelationship(person.relationship);
}

function renderRelationship(relationship) {
  $("stage-label").textContent = relationship.stage.label;
  $("stage-says").textContent = relationship.stage.says;
  $("circle-label").textContent = relationship.circle.label;
  $("circle-says").textContent = relationship.circle.says;
  const list = $("steps");
  list.replaceChildren();
  for (const step of relationship.next_steps) {
    const item = el("li", undefined, "step");
    const says = step.ends
      ? `${step.says} ${t("Say yes to keep it; otherwise it ends on {date}.", { date: day(step.ends) })}`
      : step.says;
    item.append(el("p", says, "step-says"));
    item.append(el("p", t("Why: {reason}.", { reason: step.reason }), "hint"));
    const actions = el("div", undefined, "inline");
    const box = step.kind === "ask" && step.asks ? permissionBox(step.asks.channel, step.asks.purpose) : null;
    if (box) {
      const accept = el("button", t("Yes, please"), "small");
      accept.type = "button";
      accept.dataset.accept = step.play;
      accept.setAttribute("aria-label", t("Yes, please: {what}", { what: permissionWhat(box) }));
      actions.append(accept);
    }
    const decline = el("button", t("No thanks"), "secondary small");
    decline.type = "button";
    decline.dataset.decline = step.play;
    decline.setAttribute("aria-label", t("No thanks: {what}", { what: step.says }));
    actions.append(decline);
    item.append(actions);
    list.append(item);
  }
  $("no-steps").hidden = relationship.next_steps.length > 0;
}

let queue = Promise.resolve();
let pending = 0;

/**
 * Queue a change: changes are sent one at a time, each with the token and the state of the
 * moment it is actually sent. `body` is the request body or a function of that state;
 * `done(after, before)` gives the message and the optional Undo from the server's answer.
 * `control` is disabled while the change waits and runs. A refused request's problems are
 * shown next to the fields of `form` when one is given. Resolves to true when saved.
 */
function save(method, path, body, done, control, form) {
  pending += 1;
  if (control) control.disabled = true;
  const run = async () => {
    try {
      return await send(method, path, body, done, form);
    } finally {
      pending -= 1;
      if (control) control.disabled = false;
    }
  };
  const next = queue.then(run);
  queue = next.catch(() => false);
  return next;
}

async function send(method, path, body, done, form) {
  if (!token || !person) return false;
  const before = person;
  say(t("Saving…"));
  const payload = typeof body === "function" ? body(before) : body;
  const result = await call(method, path, { token, body: payload });
  if (result.status === 401 || result.status === 403) {
    expired();
    return false;
  }
  if (result.status >= 200 && result.status < 300) {
    if (result.data && result.data.permissions) {
      person = result.data;
      if (person.manage_token) {
        token = person.manage_token;
        keepToken(token);
      }
    } else {
      // Accepted (a code or a mail is on its way) without the person in the answer: read it.
      const again = await call("GET", "/api/me", { token });
      if (again.status === 200 && again.data) person = again.data;
    }
    if (form) clearProblems(form);
    // Later changes are waiting: render from the last answer only, so boxes they change stay.
    if (pending <= 1) render();
    const [message, undo] = done(person, before);
    say(message, undo);
    return true;
  }
  // A contact form's conflict is its own (a code for another number, say): shown by the form.
  if (result.status === 409 && !form) {
    await refresh();
    if (token) say(t("Your change was not saved: your preferences changed meanwhile. Please try again."));
    return false;
  }
  say(form ? t("Not saved. {problems}", { problems: showProblems(form, result) }) : problemText(result));
  if (person && pending <= 1) render();
  return false;
}

/** Load the person again from the server and show it (after a conflict). */
async function refresh() {
  const result = await call("GET", "/api/me", { token });
  if (result.status === 401 || result.status === 403 || result.status === 404) {
    expired();
    return;
  }
  if (result.status === 200 && result.data) {
    person = result.data;
    render();
  }
}

/** An Undo: queue `change`, then move focus to the status line that says what happened. */
function undoing(change) {
  return () =>
    change().then(() => {
      if (token) $("status").focus();
    });
}

function labelOf(input) {
  return input.labels && input.labels[0] ? input.labels[0].textContent.trim() : input.value;
}

function legendOf(input) {
  const legend = input.closest("fieldset")?.querySelector("legend");
  return legend ? legend.textContent.trim() : "";
}

/**
 * What a permission asked for waits for: "phone" (a phone channel's, for the number's code),
 * "postal" (post's, for an address), or null when it waits for nothing.
 */
function waitingFor(state, channel, purpose) {
  const contacts = state.contacts || {};
  for (const kind of ["phone", "postal"]) {
    const asked = contacts[`${kind}_asked`] || [];
    if (asked.some((p) => p.channel === channel && p.purpose === purpose)) return kind;
  }
  return null;
}

function askedOf(state, channel, purpose) {
  return waitingFor(state, channel, purpose) !== null;
}

function permissionOf(state, channel, purpose) {
  const found = state.permissions.find((p) => p.channel === channel && p.purpose === purpose);
  return Boolean(found && found.state === "granted");
}

/** The grid's checkbox for a channel and purpose, or null when the page has none. */
function permissionBox(channel, purpose) {
  return all('input[name="permission"]').find((box) => box.value === `${channel}:${purpose}`) || null;
}

/** What a grid checkbox stands for, in words: "Events by Email". */
function permissionWhat(box) {
  return inWords(labelOf(box), legendOf(box));
}

function describePair(channel, purpose) {
  const box = permissionBox(channel, purpose);
  return box ? permissionWhat(box) : inWords(purpose, channel);
}

function inWords(purpose, channel) {
  // TRANSLATORS: a permission in words, "Events by Email".
  return t("{purpose} by {channel}", { purpose, channel });
}

function permissionChanged(box) {
  const [channel, purpose] = box.value.split(":");
  setPermission(channel, purpose, box.checked, permissionWhat(box));
}

/**
 * Queue one permission change, said in #status with an Undo; the grid shows the server's
 * answer. `control` is disabled while it waits and runs. Resolves to true when saved.
 */
function setPermission(channel, purpose, granted, what, control) {
  const change = (yes) => ({ changes: [{ channel, purpose, granted: yes }] });
  const done = (after, before) => {
    // Asked for and waiting for the number's code or an address counts as said yes to: the
    // box stays ticked.
    const now = permissionOf(after, channel, purpose) || askedOf(after, channel, purpose);
    const was = permissionOf(before, channel, purpose) || askedOf(before, channel, purpose);
    const named = { what };
    let message;
    if (now && !permissionOf(after, channel, purpose)) {
      message =
        waitingFor(after, channel, purpose) === "postal"
          ? t("Saved: yes to {what} once you give your postal address. Until then we do not use it.", named)
          : t("Saved: yes to {what} once your phone number is verified. Until then we do not use it.", named);
    } else if (now !== granted) {
      const state = after.permissions.find((p) => p.channel === channel && p.purpose === purpose);
      message =
        state && state.source === "gpc"
          ? t("Not changed: {what}. Your browser's privacy signal keeps this off.", named)
          : now
            ? t("Not changed: {what} is yes.", named)
            : t("Not changed: {what} is no.", named);
    } else message = now ? t("Saved: yes to {what}.", named) : t("Saved: no more {what}.", named);
    const undo =
      now === was
        ? undefined
        : undoing(() =>
            save("PATCH", "/api/me/permissions", change(was), () => [t("Undone: {what} is back as it was.", named)]),
          );
    return [message, undo];
  };
  return save("PATCH", "/api/me/permissions", change(granted), done, control);
}

function interestsChanged(box) {
  const value = box.value;
  const wanted = box.checked;
  const what = labelOf(box);
  save(
    "PUT",
    "/api/me/interests",
    (before) => ({
      interests: wanted
        ? [...before.interests.filter((i) => i !== value), value]
        : before.interests.filter((i) => i !== value),
    }),
    (after, before) => [
      wanted ? t("Saved: you are interested in {what}.", { what }) : t("Saved: no more {what}.", { what }),
      undoing(() =>
        save("PUT", "/api/me/interests", { interests: before.interests.slice() }, () => [
          t("Undone: your interests are back as they were."),
        ]),
      ),
    ],
  );
}

/** A settings change; `restore(before)` is the patch that puts it back. */
function settingsSave(patch, message, restore, control) {
  return save(
    "PATCH",
    "/api/me/settings",
    patch,
    (after, before) => [
      message,
      undoing(() => save("PATCH", "/api/me/settings", restore(before), () => [t("Undone: back as it was.")])),
    ],
    control,
  );
}

function ownQuiet(state, channel) {
  const quiet = state.settings.quiet_hours[channel];
  return quiet && quiet.own ? { from: quiet.from, until: quiet.until } : null;
}

function quietChanged(input) {
  const channel = input.dataset.channel;
  const from = $(`quiet-${channel}-from`).value;
  const until = $(`quiet-${channel}-until`).value;
  const name = legendOf(input);
  if (Boolean(from) !== Boolean(until)) {
    say(t("{name}: enter both times to save quiet hours.", { name }));
    return;
  }
  const value = from ? { from, until } : null;
  settingsSave(
    { quiet_hours: { [channel]: value } },
    value
      ? t("Saved: quiet hours for {name} from {from} until {until}.", { name, from, until })
      : t("Saved: {name} is back to the default.", { name }),
    (before) => ({ quiet_hours: { [channel]: ownQuiet(before, channel) } }),
  );
}

function capChanged(input) {
  const channel = input.dataset.channel;
  const name = labelOf(input);
  if (!input.validity.valid) {
    const range = { name, min: input.min, max: input.max };
    say(t("{name}: enter a whole number from {min} to {max}, or leave it empty.", range));
    return;
  }
  const value = input.value === "" ? null : Number(input.value);
  settingsSave(
    { max_per_week: { [channel]: value } },
    value === null
      ? t("Saved: no weekly maximum of your own for {name}.", { name })
      : t("Saved: at most {count} a week by {name}.", { count: value, name }),
    (before) => ({ max_per_week: { [channel]: before.settings.max_per_week[channel] ?? null } }),
  );
}

function pauseChanged(value) {
  settingsSave(
    { paused_until: value },
    value ? t("Saved: we will not contact you before {date}.", { date: value }) : t("Saved: the pause has ended."),
    (before) => ({ paused_until: before.settings.paused_until }),
  );
}

function handleChanged(input) {
  const channel = input.dataset.channel;
  const value = input.value.trim() || null;
  settingsSave(
    { handles: { [channel]: value } },
    value
      ? t("Saved: your {name} handle.", { name: labelOf(input) })
      : t("Saved: your {name} handle is removed.", { name: labelOf(input) }),
    (before) => ({ handles: { [channel]: (before.settings.handles || {})[channel] ?? null } }),
  );
}

/** A contact form's own problem, found before asking: next to its field and in #status. */
function notSent(form, field, problem) {
  say(t("Not sent. {problems}", { problems: localProblem(form, field, problem) }));
}

/** "Now given: Offers by Text message.", for what waited for a number or an address. */
function nowGiven(given) {
  return t("Now given: {what}.", { what: given.map((p) => describePair(p.channel, p.purpose)).join(", ") });
}

function changeEmail(event) {
  event.preventDefault();
  const form = event.target;
  const email = form.elements.email.value.trim();
  if (!email) {
    notSent(form, "email", t("Enter the new email address."));
    return;
  }
  save(
    "POST",
    "/api/me/contacts/email",
    { email },
    (after) => {
      const message = t(
        "We sent a confirmation mail to {email}. Nothing changes until you confirm it from " +
          "that mail; until then we keep writing to {address}.",
        { email, address: after.contacts.email.address },
      );
      const sent = $("email-sent");
      sent.textContent = message;
      sent.hidden = false;
      form.reset();
      return [message];
    },
    $("email-send"),
    form,
  );
}

function sendCode(event) {
  event.preventDefault();
  const form = event.target;
  const number = form.elements.number.value.trim();
  if (!number) {
    notSent(form, "number", t("Enter your phone number, with its country code."));
    return;
  }
  // Only when ticked: nothing carries over by itself. The server asks again for what was
  // given for the old number, and gives it once the new one is verified.
  const body = { number };
  if (!$("phone-carry").hidden && $("phone-carry-box").checked) body.carry_over = true;
  save(
    "POST",
    "/api/me/contacts/phone",
    body,
    (after) => {
      form.reset();
      const to = after.contacts.phone ? after.contacts.phone.number : number;
      return [t("We texted a six-digit code to {number}. Enter it below to verify your number.", { number: to })];
    },
    $("phone-send"),
    form,
  ).then((ok) => {
    if (ok && !$("code-form").hidden) $("phone-code").focus();
  });
}

function sendCodeAgain(button) {
  const phone = person.contacts.phone;
  if (!phone) return;
  save(
    "POST",
    "/api/me/contacts/phone",
    { number: phone.number },
    () => [t("We texted a new code to {number}. The earlier one no longer counts.", { number: phone.number })],
    button,
    $("code-form"),
  );
}

async function verifyCode(event) {
  event.preventDefault();
  const form = event.target;
  const code = form.elements.code.value.replace(/\s+/g, "");
  if (!/^[0-9]{6}$/.test(code)) {
    notSent(form, "code", t("Enter the six digits of the code we texted you."));
    return;
  }
  const ok = await save(
    "POST",
    "/api/me/contacts/phone/verify",
    { code },
    (after, before) => {
      form.reset();
      const phone = after.contacts.phone;
      const said = [
        phone ? t("Verified: {number} is yours.", { number: phone.number }) : t("Verified: your number is yours."),
      ];
      // What was waiting for the code is given now: say which.
      const given = (before.contacts.phone_asked || []).filter((p) => permissionOf(after, p.channel, p.purpose));
      if (given.length) said.push(nowGiven(given));
      return [said.join(" ")];
    },
    $("code-send"),
    form,
  );
  // The code form is gone with the code: focus moves to the line that says what happened.
  if (ok && token) $("status").focus();
}

function changePostal(event) {
  event.preventDefault();
  const form = event.target;
  const body = postalBody(form);
  if (!body.lines.length) {
    notSent(form, "lines/0", t("Enter the first line of your address."));
    return;
  }
  save(
    "PUT",
    "/api/me/contacts/postal",
    body,
    (after, before) => {
      postalFilled = false;
      // What was waiting for an address is given now: say which.
      const given = (before.contacts.postal_asked || []).filter((p) => permissionOf(after, p.channel, p.purpose));
      const said = [t("Saved: your postal address.")];
      if (given.length) said.push(nowGiven(given));
      return [said.join(" ")];
    },
    $("postal-send"),
    form,
  ).then(() => {
    if (pending === 0) render();
  });
}

function removePostal(button) {
  save(
    "DELETE",
    "/api/me/contacts/postal",
    undefined,
    () => {
      postalFilled = false;
      $("postal-form").reset();
      return [t("Removed: your postal address, and with it any permission given for post.")];
    },
    button,
    $("postal-form"),
  ).then((ok) => {
    if (ok && token) $("status").focus();
  });
}

function withdrawOpen(open) {
  $("withdraw-confirm").hidden = !open;
  $("withdraw-all").setAttribute("aria-expanded", String(open));
}

async function withdrawAll() {
  const ok = await save(
    "POST",
    "/api/me/withdraw-all",
    undefined,
    (after, before) => {
      const granted = before.permissions.filter((p) => p.state === "granted");
      return [
        t("Saved: every permission is withdrawn."),
        granted.length
          ? undoing(() =>
              save(
                "PATCH",
                "/api/me/permissions",
                { changes: granted.map((p) => ({ channel: p.channel, purpose: p.purpose, granted: true })) },
                () => [t("Undone: your permissions are back as they were.")],
              ),
            )
          : undefined,
      ];
    },
    $("withdraw-all-confirm"),
  );
  if (ok) {
    withdrawOpen(false);
    $("withdraw-all").focus();
  }
}

function decline(button) {
  const play = button.dataset.decline;
  save(
    "POST",
    `/api/me/next-steps/${encodeURIComponent(play)}/decline`,
    undefined,
    () => [t("Saved: no thanks. We will not suggest that again for a while.")],
    button,
  ).then((ok) => {
    if (!token) return;
    if (ok) {
      $("steps-title").focus();
      return;
    }
    // The list may have been drawn again: keep focus on this play's button.
    const again = all("button[data-decline]").find((b) => b.dataset.decline === play);
    (again || $("steps-title")).focus();
  });
}

/** "Yes, please" on an ask: grant exactly the permission it asks for, as ticking its box. */
function accept(button) {
  const play = button.dataset.accept;
  const step = person.relationship.next_steps.find((s) => s.play === play);
  const box = step && step.asks ? permissionBox(step.asks.channel, step.asks.purpose) : null;
  if (!box) return;
  setPermission(step.asks.channel, step.asks.purpose, true, permissionWhat(box), button).then((ok) => {
    if (!token) return;
    if (ok) {
      // The step is gone (nothing asks for a permission already given): say what happened.
      $("status").focus();
      return;
    }
    const again = all("button[data-accept]").find((b) => b.dataset.accept === play);
    (again || $("steps-title")).focus();
  });
}

async function survey(event) {
  event.preventDefault();
  const form = event.target;
  const body = {};
  const found = form.querySelector('input[name="found_us"]:checked');
  if (found) body.found_us = found.value;
  const often = form.querySelector('input[name="how_often"]:checked');
  const channel = form.elements.preferred_channel.value;
  if (often) {
    if (!channel) {
      say(t("Say which channel “how often” is about."));
      form.elements.preferred_channel.focus();
      return;
    }
    body.how_often = often.value;
  }
  if (channel) body.preferred_channel = channel;
  const recommend = form.elements.recommend;
  if (recommend.value !== "") {
    if (!recommend.validity.valid) {
      say(t("Enter a whole number from 0 to 10 for the last question, or leave it empty."));
      recommend.focus();
      return;
    }
    body.recommend = Number(recommend.value);
  }
  if (!Object.keys(body).length) {
    say(t("Answer at least one question first."));
    return;
  }
  const thanks = () => [t("Thank you: your answers are saved.")];
  const ok = await save("POST", "/api/me/survey", body, thanks, $("survey-send"));
  if (ok) form.reset();
}

function wire() {
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !person) return;
    if (input.name === "permission") permissionChanged(input);
    else if (input.name === "interest") interestsChanged(input);
    else if (input.name === "time_zone") {
      const value = input.value.trim();
      if (!value) {
        say(t("Enter a time zone, for example Europe/Berlin."));
        return;
      }
      settingsSave({ time_zone: value }, t("Saved: your time zone is {zone}.", { zone: value }), (before) => ({
        time_zone: before.settings.time_zone,
      }));
    } else if (input.name === "quiet-from" || input.name === "quiet-until") quietChanged(input);
    else if (input.name === "max_per_week") capChanged(input);
    else if (input.name === "paused_until") pauseChanged(input.value || null);
    else if (input.name === "handle") handleChanged(input);
  });
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button || !person) return;
    if (button.dataset.quietReset) {
      const channel = button.dataset.quietReset;
      settingsSave(
        { quiet_hours: { [channel]: null } },
        t("Saved: {name} is back to the default.", { name: legendOf(button) }),
        (before) => ({ quiet_hours: { [channel]: ownQuiet(before, channel) } }),
        button,
      );
    } else if (button.dataset.accept) accept(button);
    else if (button.dataset.decline) decline(button);
    else if (button.id === "pause-clear") pauseChanged(null);
    else if (button.id === "code-again") sendCodeAgain(button);
    else if (button.id === "postal-remove") removePostal(button);
    else if (button.id === "withdraw-all") {
      withdrawOpen(true);
      $("withdraw-all-confirm").focus();
    } else if (button.id === "withdraw-all-cancel") {
      withdrawOpen(false);
      say(t("Nothing changed."));
      $("withdraw-all").focus();
    } else if (button.id === "withdraw-all-confirm") withdrawAll();
    else if (button.id === "sign-out-everywhere") {
      save(
        "POST",
        "/api/me/sign-out-everywhere",
        undefined,
        () => [t("Done: every other link to this page has stopped working. This page stays open.")],
        button,
      );
    }
  });
  $("survey").addEventListener("submit", survey);
  $("email-form").addEventListener("submit", changeEmail);
  $("phone-form")?.addEventListener("submit", sendCode);
  $("code-form")?.addEventListener("submit", verifyCode);
  $("postal-form")?.addEventListener("submit", changePostal);
}

async function load() {
  token = takeToken();
  if (!token) {
    expired();
    return;
  }
  const result = await call("GET", "/api/me", { token });
  if (result.status === 401 || result.status === 403 || result.status === 404) {
    expired();
    return;
  }
  if (result.status !== 200 || !result.data) {
    say(problemText(result));
    return;
  }
  // The language the person saved comes first: its page shows them, not this one.
  if (follow(result.data.settings.language)) return;
  person = result.data;
  render();
  show("prefs");
  say(t("Your preferences are up to date."));
  await loadInvite(() => token);
}

wire();
load();
