// The words these modules put into the page, in the page's language. The build renders the
// page's translations as `<script type="application/json" id="messages">` (none on English
// pages): English message -> translation, and for a plural the English singular -> its
// forms. Messages are whole sentences with `{name}` placeholders, so a translation may put
// the words in its own order; Babel extracts them from the calls `t("…")` and
// `tn("…", "…", n)`, so their messages are always plain string literals. The result is a
// plain string: the modules put it into the page as text, never as HTML.

let catalog = null;
let plurals = null;

/** The page's translations, read once; none (English) when the block is missing or broken. */
function messages() {
  if (catalog) return catalog;
  catalog = {};
  const block = document.getElementById("messages");
  if (block && block.type === "application/json") {
    try {
      const parsed = JSON.parse(block.textContent);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) catalog = parsed;
    } catch {
      // A block that is not JSON: the English messages are still whole and true.
    }
  }
  return catalog;
}

/** `{name}` in `text` replaced by `String(values[name])`; a name without a value stays. */
function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

/** A message in the page's language, its `{name}` placeholders filled from `values`. */
export function t(message, values = {}) {
  const found = messages()[message];
  return fill(typeof found === "string" && found ? found : message, values);
}

/**
 * Which plural form `n` takes in the page's language: 0 for the "one" category, else 1.
 * English, German, French and Spanish have these two forms, in this order; a language
 * with more forms (Polish, Russian, Arabic…) needs its own rule here, matching the
 * `Plural-Forms` of its catalog.
 */
function form(n) {
  if (!plurals) {
    try {
      plurals = new Intl.PluralRules(document.documentElement.lang || "en");
    } catch {
      plurals = new Intl.PluralRules("en"); // a `lang` the browser does not know
    }
  }
  return plurals.select(n) === "one" ? 0 : 1;
}

/** `singular` or `plural` by `n`, in the page's language, with `{n}` and `values` filled. */
export function tn(singular, plural, n, values = {}) {
  const found = messages()[singular];
  const index = form(n);
  const forms = Array.isArray(found) ? found : [];
  const text = typeof forms[index] === "string" && forms[index] ? forms[index] : [singular, plural][index];
  return fill(text, { ...values, n });
}
