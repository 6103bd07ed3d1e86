// The days a report covers, as ISO dates. The API counts days in UTC, so "today" here is
// the UTC day too: a reader east of Greenwich late at night never asks for tomorrow.
import { t } from "./i18n.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const days = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "medium",
  timeZone: "UTC",
});

function parse(iso) {
  return new Date(`${iso}T00:00:00Z`);
}

/** Today's ISO date (UTC). */
export function today() {
  return new Date().toISOString().slice(0, 10);
}

/** The `count` days up to and including today, as {from, to}. */
export function lastDays(count) {
  const to = today();
  const from = new Date(parse(to).getTime() - (count - 1) * DAY_MS).toISOString().slice(0, 10);
  return { from, to };
}

/** How many days a period covers, both included; NaN when a day is not a date. */
export function length(from, to) {
  return Math.round((parse(to).getTime() - parse(from).getTime()) / DAY_MS) + 1;
}

/** "1 Mar 2026" in the page's language; the text as it came when it is not a date. */
export function day(iso) {
  const date = parse(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : days.format(date);
}

/** "1 Mar 2026 to 28 Mar 2026". */
export function periodText(from, to) {
  return t("{from} to {to}", { from: day(from), to: day(to) });
}
