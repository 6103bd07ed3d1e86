// One report on the dashboard: its sections, each a chart and the table it is drawn from.
// Charts arrive as SVG files fetched with the key and are shown as images from Blob URLs,
// so no markup from the API ever becomes part of the page; the table beside each chart is
// its accessible equivalent, and every value reaches the page through textContent.
import { el, problemText } from "./api.4f8b02bd.js";
import { fetchFile } from "./downloads.db44a0d5.js";
import { t, tn } from "./i18n.23342438.js";

const LONG_TABLE = 14;
// Rates come in tenths; a complaint rate, read against a bar of 0.1%, in hundredths.
const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, {
  maximumFractionDigits: 2,
});
const CHARTS = {
  bar: t("Bar chart"),
  stacked: t("Stacked bar chart"),
  line: t("Line chart"),
  hbar: t("Bar chart"),
};

// Blob URLs of the charts on the page: let go of before every reload and at sign-out.
const charts = new Set();

/** Let go of the charts' Blob URLs and of the tables watched for overflow. */
export function release() {
  for (const url of charts) URL.revokeObjectURL(url);
  charts.clear();
  if (overflow) overflow.disconnect();
}

/** A report's place on the page, before its figures arrive. */
export function placeholder(entry) {
  const section = el("section", undefined, "report");
  section.id = `report-${entry.id}`;
  section.setAttribute("aria-labelledby", `report-${entry.id}-title`);
  const head = el("div", undefined, "report-head");
  const title = el("h3", entry.title);
  title.id = `report-${entry.id}-title`;
  const download = el("button", t("Download CSV"), "secondary small");
  download.type = "button";
  download.dataset.csv = entry.id;
  download.disabled = true;
  download.append(el("span", ofReport(entry.title), "visually-hidden"));
  head.append(title, download);
  const body = el("div", undefined, "report-body");
  body.append(el("p", t("Loading…"), "hint loading"));
  section.append(head, body);
  return section;
}

/** The rest of a report's "Download CSV" button's name, for a screen reader: "… of Sign-ups". */
function ofReport(title) {
  // TRANSLATORS: read after "Download CSV" on a report's button: "Download CSV of Sign-ups".
  return " " + t("of {report}", { report: title });
}

/** Fill a report's place with what the API answered (the report, or why not); `period` is
 * the sentence that says which days the figures are from. */
export function fill(section, result, key, period) {
  const body = section.querySelector(".report-body");
  const download = section.querySelector("button[data-csv]");
  const report = result.data;
  if (result.status !== 200 || !report || !Array.isArray(report.sections)) {
    download.disabled = true;
    const failed = t("This report could not be loaded. {problem}", { problem: problemText(result) });
    body.replaceChildren(el("p", failed, "problem"));
    return Promise.resolve();
  }
  section.querySelector("h3").textContent = report.title;
  download.querySelector("span").textContent = ofReport(report.title);
  download.disabled = false;
  const parts = [el("p", report.description), el("p", period, "meta")];
  const draws = [];
  for (const part of report.sections) {
    const [element, draw] = sectionElement(report, part, key);
    parts.push(element);
    draws.push(draw);
  }
  if (Array.isArray(report.notes) && report.notes.length) {
    const notes = el("ul", undefined, "notes");
    notes.setAttribute("aria-label", t("Notes on {report}", { report: report.title }));
    notes.append(...report.notes.map((note) => el("li", note)));
    parts.push(notes);
  }
  body.replaceChildren(...parts);
  return Promise.all(draws.map((draw) => draw()));
}

function sectionElement(report, part, key) {
  const id = `report-${report.report}-${part.id}`;
  const box = el("div", undefined, "report-part");
  box.id = id;
  const heading = el("h4", part.title);
  heading.id = `${id}-title`;
  const about = el("p", part.description);
  about.id = `${id}-about`;
  box.append(heading, about);
  const rows = Array.isArray(part.rows) ? part.rows : [];
  if (!rows.length) {
    box.append(el("p", t("Nothing to show for this period."), "empty"));
    return [box, async () => {}];
  }
  const figure = el("div", undefined, "chart");
  figure.append(el("p", t("Drawing the chart…"), "hint loading"));
  box.append(figure, tableElement(part, id));
  return [box, () => drawChart(figure, report, part, key)];
}

async function drawChart(figure, report, part, key) {
  const result = await fetchFile(chartPath(report, part), key, "image/svg+xml");
  if (!figure.isConnected) return; // the page moved on while the chart was on its way
  if (!result.blob) {
    const reason = t("The chart could not be drawn. {problem} The figures are in the table.", {
      problem: problemText(result),
    });
    figure.replaceChildren(el("p", reason, "problem"));
    return;
  }
  const url = URL.createObjectURL(result.blob);
  charts.add(url);
  const image = document.createElement("img");
  // TRANSLATORS: a chart's alternative text: its title, then what it shows.
  image.alt = t("{title}. {summary}", { title: part.title, summary: summary(part) });
  image.src = url;
  try {
    await image.decode();
  } catch {
    figure.replaceChildren(
      el("p", t("The chart could not be shown. The figures are in the table."), "problem"),
    );
    return;
  }
  if (figure.isConnected) figure.replaceChildren(image);
}

function chartPath(report, part) {
  const query = new URLSearchParams({
    from: report.from,
    to: report.to,
    format: "svg",
    section: part.id,
  });
  return `/api/reports/${encodeURIComponent(report.report)}?${query}`;
}

/** What a chart shows, in a sentence or two: its alternative text, beside the full table.
 * It names what the chart draws, as the API's column kinds say (whatever the language of
 * the headings): the counts, or the percentages when there are none; never totals or text;
 * and the total row (keyed `all`) is no bar. */
export function summary(part) {
  const rows = part.rows.filter((row) => row.key !== "all");
  const kinds = Array.isArray(part.kinds) ? part.kinds : [];
  const numeric = part.columns
    .map((name, n) => ({ name: String(name), n, kind: kinds[n] }))
    .filter(({ kind }) => kind === "count" || kind === "percent")
    .filter(({ n }) => rows.some((row) => typeof row.cells[n] === "number"));
  const counts = numeric.filter(({ kind }) => kind === "count");
  const drawn = counts.length ? counts : numeric;
  const shown = { kind: CHARTS[part.chart] || t("Chart"), columns: list(drawn.map(({ name }) => name)) };
  // "The one row" is English's own turn of phrase; any other count, the plural's forms.
  const sentences = [
    rows.length === 1
      ? t("{kind}: {columns}, for the one row of the table.", shown)
      : tn(
          "{kind}: {columns}, for each of the {n} row of the table.",
          "{kind}: {columns}, for each of the {n} rows of the table.",
          rows.length,
          shown,
        ),
  ];
  if (drawn.length === 1 && rows.length > 1) {
    const { n } = drawn[0];
    const value = (row) => (typeof row.cells[n] === "number" ? row.cells[n] : -Infinity);
    const top = rows.reduce((best, row) => (value(row) > value(best) ? row : best));
    sentences.push(t("Highest: {row}, {value}.", { row: top.cells[0], value: cellText(top.cells[n]) }));
  } else if (part.chart === "line" && rows.length > 1) {
    const first = rows[0].cells;
    const last = rows[rows.length - 1].cells;
    const moves = drawn.map(({ name, n }) =>
      // TRANSLATORS: how one line of a chart moved over the period, "Sign-ups 3 to 12".
      t("{column} {from} to {to}", { column: name, from: cellText(first[n]), to: cellText(last[n]) }),
    );
    sentences.push(t("From {first} to {last}: {moves}.", { first: first[0], last: last[0], moves: moves.join(", ") }));
  }
  sentences.push(t("Every figure is in the table below."));
  return sentences.join(" ");
}

function list(names) {
  if (names.length < 2) return names.join("");
  // TRANSLATORS: the last two of a list of columns, "Sign-ups, Confirmed and Withdrawn".
  return t("{items} and {last}", { items: names.slice(0, -1).join(", "), last: names[names.length - 1] });
}

/** A cell as the tables show it: numbers in the page's language, a dash for no figure. */
export function cellText(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return numbers.format(value);
  return String(value);
}

function tableElement(part, id) {
  const table = el("table");
  const caption = el("caption", t("Figures: {title}", { title: part.title }));
  caption.id = `${id}-caption`;
  table.setAttribute("aria-describedby", `${id}-about`);
  const numeric = part.columns.map((_, n) => part.rows.some((row) => typeof row.cells[n] === "number"));
  const headRow = el("tr");
  part.columns.forEach((name, n) => {
    const cell = el("th", name, n && numeric[n] ? "num" : undefined);
    cell.scope = "col";
    headRow.append(cell);
  });
  const head = el("thead");
  head.append(headRow);
  const body = el("tbody");
  for (const row of part.rows) {
    const line = el("tr", undefined, row.key === "all" ? "total" : undefined);
    line.dataset.key = row.key;
    row.cells.forEach((value, n) => {
      const cell = n === 0 ? el("th", cellText(value)) : el("td", undefined, numeric[n] && "num");
      if (n === 0) {
        cell.scope = "row";
      } else if (value === null || value === undefined) {
        const dash = el("span", "–");
        dash.setAttribute("aria-hidden", "true");
        cell.append(dash, el("span", t("no figure"), "visually-hidden"));
      } else {
        cell.textContent = cellText(value);
      }
      line.append(cell);
    });
    body.append(line);
  }
  table.append(caption, head, body);

  const wrap = el("div", undefined, "table-wrap");
  wrap.dataset.caption = caption.id;
  wrap.append(table);
  watchOverflow(wrap);
  if (part.rows.length <= LONG_TABLE) return wrap;
  const more = el("details", undefined, "figures");
  more.append(el("summary", tn("All {n} row of figures", "All {n} rows of figures", part.rows.length)), wrap);
  return more;
}

// A table wider than the screen scrolls sideways; only then is its frame a named region in
// the tab order, so a keyboard can scroll it without a tab stop for every table.
const overflow =
  typeof ResizeObserver === "function"
    ? new ResizeObserver((entries) => entries.forEach((entry) => scrollable(entry.target)))
    : null;

function watchOverflow(wrap) {
  if (overflow) overflow.observe(wrap);
}

function scrollable(wrap) {
  if (wrap.scrollWidth > wrap.clientWidth + 1) {
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-labelledby", wrap.dataset.caption);
  } else {
    wrap.removeAttribute("tabindex");
    wrap.removeAttribute("role");
    wrap.removeAttribute("aria-labelledby");
  }
}
