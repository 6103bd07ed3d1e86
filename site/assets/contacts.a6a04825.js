// "Where we reach you" on /preferences/: the addresses GET /api/me answers under `contacts`.
// Every value reaches the page as text.
import { when } from "./api.4f8b02bd.js";
import { t } from "./i18n.23342438.js";

const $ = (id) => document.getElementById(id);

function text(id, value) {
  const element = $(id);
  if (element) element.textContent = value;
}

/** "Offers by Text message, Events by Phone call": the grid's granted boxes on `kind` channels. */
export function grantedOn(person, kind) {
  const kinds = new Map(
    Array.from(document.querySelectorAll("fieldset.channel[data-kind]")).map((set) => [
      set.querySelector('input[name="permission"]')?.value.split(":")[0],
      set.dataset.kind,
    ]),
  );
  return person.permissions.filter((p) => p.state === "granted" && kinds.get(p.channel) === kind);
}

/** The postal address on one line, as the person wrote it. */
export function postalLine(postal) {
  const place = [postal.postcode, postal.city].filter(Boolean).join(" ");
  return [...postal.lines, place, postal.region, postal.country].filter(Boolean).join(", ");
}

/**
 * Show the contacts section from GET /api/me's `contacts`. `fillPostal` also puts the
 * stored postal address into its form (on load and after it is saved, never while typed).
 */
export function renderContacts(person, { fillPostal, describe }) {
  const contacts = person.contacts;
  text("email-address", contacts.email.address);
  text("email-since", t("since {time}", { time: when(contacts.email.since) }));
  // Mail to the address came back for good (a bounce): nothing more goes to it until the
  // person gives another one, which the form below does.
  const bounced = contacts.email.undeliverable;
  if ($("email-undeliverable")) {
    $("email-undeliverable").hidden = !bounced;
    text(
      "email-undeliverable",
      bounced
        ? t(
            "Our mail to this address has been coming back since {time}, so we have " +
              "stopped sending to it. Give us another address below to hear from us again.",
            { time: when(bounced.since) },
          )
        : "",
    );
  }

  if ($("contact-phone")) {
    const phone = contacts.phone;
    text("phone-number", phone ? phone.number : t("None given yet."));
    text(
      "phone-since",
      !phone
        ? ""
        : phone.verified
          ? t("verified {verified}, given {given}", { verified: when(phone.verified_at), given: when(phone.since) })
          : t("not verified yet, given {given}", { given: when(phone.since) }),
    );
    text("phone-change-title", phone ? t("Change your phone number") : t("Give us your phone number"));
    $("code-form").hidden = !(phone && !phone.verified);
    const asked = contacts.phone_asked || [];
    $("phone-asked").hidden = asked.length === 0;
    const askedList = { list: asked.map(describe).join(", ") };
    text(
      "phone-asked",
      !asked.length
        ? ""
        : phone
          ? t("Waiting for your number to be verified: {list}.", askedList)
          : t("Waiting for your number: {list}.", askedList),
    );
    const old = phone ? grantedOn(person, "phone") : [];
    $("phone-carry").hidden = old.length === 0;
    if (!old.length) $("phone-carry-box").checked = false;
    text(
      "phone-carry-list",
      old.length ? t("Given for {number}: {list}.", { number: phone.number, list: old.map(describe).join(", ") }) : "",
    );
  }

  if ($("contact-postal")) {
    const postal = contacts.postal;
    text("postal-address", postal ? postalLine(postal) : t("None given yet."));
    text("postal-since", postal ? t("since {time}", { time: when(postal.since) }) : "");
    $("postal-remove").hidden = !postal;
    const waiting = contacts.postal_asked || [];
    $("postal-asked").hidden = waiting.length === 0;
    text(
      "postal-asked",
      waiting.length ? t("Waiting for your address: {list}.", { list: waiting.map(describe).join(", ") }) : "",
    );
    const given = postal ? grantedOn(person, "postal") : [];
    $("postal-carry").hidden = given.length === 0;
    if (!given.length) $("postal-carry-box").checked = false;
    text(
      "postal-carry-list",
      given.length ? t("Given for this address: {list}.", { list: given.map(describe).join(", ") }) : "",
    );
    if (fillPostal && postal) {
      document.querySelectorAll('#postal-form input[name="line"]').forEach((input, n) => {
        input.value = postal.lines[n] || "";
      });
      for (const name of ["postcode", "city", "region", "country"]) $(`postal-${name}`).value = postal[name] || "";
    }
  }

  for (const input of document.querySelectorAll('input[name="handle"]')) {
    const handle = (contacts.handles || {})[input.dataset.channel];
    if (document.activeElement !== input) input.value = handle || "";
  }
}

/** The postal form as the body of PUT /api/me/contacts/postal. */
export function postalBody(form) {
  const value = (name) => form.elements[name].value.trim();
  const body = {
    lines: Array.from(form.querySelectorAll('input[name="line"]'))
      .map((input) => input.value.trim())
      .filter(Boolean),
    postcode: value("postcode"),
    city: value("city"),
    region: value("region"),
    country: value("country").toUpperCase(),
  };
  // Only when ticked: nothing carries over to a new address by itself.
  if (!$("postal-carry").hidden && $("postal-carry-box").checked) body.carry_over = true;
  return body;
}
