// A form's problems next to its fields: a refused request's RFC 9457 `errors` (each a JSON
// pointer and a message), or what the page finds itself before asking. A field names its
// pointer in `data-field`; its problem goes in the element `<its id>-problem`; a group of
// fields (`lines/0`, `lines/1`) shares `[data-problem-for="lines"]`; the rest goes in the
// form's `[data-problem-for=""]`. Fields with a problem are marked `aria-invalid`.
import { problemText } from "./api.4f8b02bd.js";
import { t } from "./i18n.23342438.js";

const $ = (id) => document.getElementById(id);

function labelText(input) {
  const label = input.labels && input.labels[0];
  if (!label) return input.name;
  const copy = label.cloneNode(true);
  copy.querySelectorAll(".optional").forEach((part) => part.remove());
  return copy.textContent.trim();
}

function sentence(message) {
  const trimmed = String(message).trim().replace(/[.\s]+$/, "");
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}.`;
}

/** Take back every problem a form shows. */
export function clearProblems(form) {
  for (const problem of form.querySelectorAll(".field-problem")) problem.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/**
 * Show a refused request's problems (RFC 9457, `errors: [{field, message}]` with JSON
 * pointers) next to the fields they name, mark those fields invalid and focus the first.
 * What names no field of the form is shown at the form's end. Returns the sentences for
 * the status line.
 */
export function showProblems(form, result) {
  clearProblems(form);
  const errors = ((result.data && result.data.errors) || []).filter((error) => error && error.message);
  const general = form.querySelector('[data-problem-for=""]');
  const said = [];
  let first = null;
  for (const error of errors) {
    const field = String(error.field || "").replace(/^\//, "");
    const input = field ? form.querySelector(`[data-field="${CSS.escape(field)}"]`) : null;
    const group = field ? form.querySelector(`[data-problem-for="${CSS.escape(field)}"]`) : null;
    const place = (input && $(`${input.id}-problem`)) || group || general;
    const marked = input
      ? [input]
      : group
        ? Array.from(form.querySelectorAll(`[data-field^="${CSS.escape(field)}/"]`))
        : [];
    for (const each of marked) each.setAttribute("aria-invalid", "true");
    first = first || marked[0] || null;
    const message = sentence(error.message);
    if (place) place.textContent = place.textContent ? `${place.textContent} ${message}` : message;
    // TRANSLATORS: a field's problem in the status line, "Email: Enter a valid address."
    said.push(marked[0] ? t("{field}: {problem}", { field: labelText(marked[0]), problem: message }) : message);
  }
  if (!errors.length && general) general.textContent = problemText(result);
  if (first) first.focus();
  return errors.length ? said.join(" ") : problemText(result);
}

/** A problem the page finds itself before asking the server, shown as the server's are. */
export function localProblem(form, field, message) {
  return showProblems(form, { status: 422, data: { errors: [{ field, message }] } });
}
