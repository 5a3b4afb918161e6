/**
 * The offline HTML report: sections of prose, plotly figures and tables in one self-contained
 * page with plotly.js inlined **once** (from the npm package `plotly.js-dist`), so it opens
 * without a network. The same page builder serves the notebook exporter
 * (`notebooks/export.ts`). Tables are arquero tables (`toHTML`), with a text form for terminals
 * and notebook fallbacks.
 *
 * @example
 * ```ts
 * import { writeReport } from "./report.ts";
 * import { lossCurve } from "./plot.ts";
 * await writeReport("results/small/report.html", [
 *   { title: "Pre-training", text: "Loss of the **small** run.", figures: [lossCurve(records)] },
 * ]);
 * ```
 * @module
 */
import * as aq from "arquero";
import { writeFileAtomic } from "./fsutil.ts";
import { DataError } from "./errors.ts";
import { figureSummary } from "./plot.ts";
import { type Figure, titleText } from "./_plot.ts";
import type { PaperTable } from "./paper.ts";

/** A table row: column name → cell (null / undefined print as "–"). */
export type Row = Record<string, string | number | boolean | null | undefined>;

/** A table with an optional caption. */
export interface TableSpec {
  /** Caption shown above the table. */
  caption?: string;
  /** Rows (all rows share the first row's columns, plus any later ones). */
  rows: readonly Row[];
  /** Decimals for non-integer numbers (default 1). */
  digits?: number;
}

/** One section of a report. */
export interface ReportSection {
  /** Heading. */
  title: string;
  /** Prose in Markdown (headings, paragraphs, lists, `code`, **bold**, *italic*, links, tables). */
  text?: string;
  /** Charts, drawn in order after the prose. */
  figures?: readonly Figure[];
  /** Tables, after the charts. */
  tables?: readonly TableSpec[];
  /** Raw HTML appended at the end (trusted). */
  html?: string;
}

/** Options of {@link renderReport} and {@link writeReport}. */
export interface ReportOptions {
  /** Page title (default "gpt1-lab report"). */
  title?: string;
  /** One line under the title (run, date, commit, ...). */
  subtitle?: string;
  /** plotly.js source to inline; default: read from the npm package ({@link plotlyJsSource}). */
  plotlyJs?: string;
}

// ---------------------------------------------------------------------------------------
// small pure helpers

/** Escapes `& < > " '` for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/** Removes ANSI colour / cursor escape sequences (kernel tracebacks carry them). */
export function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** JSON safe to put inside a `<script>` element (no `</script>`, no HTML comment openers). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function inline(s: string): string {
  // code spans first, kept verbatim; then links, bold, italic on the escaped rest
  const parts = s.split(/(`[^`]+`)/);
  return parts.map((p) => {
    if (p.startsWith("`") && p.endsWith("`") && p.length > 1) {
      return `<code>${escapeHtml(p.slice(1, -1))}</code>`;
    }
    return escapeHtml(p)
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, t, u) => `<a href="${u}">${t}</a>`)
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, "$1<em>$2</em>")
      .replace(/(^|[^\w])_([^_\s][^_]*)_(?!\w)/g, "$1<em>$2</em>");
  }).join("");
}

/**
 * A small Markdown subset to HTML (what notebook prose and report text use): ATX headings,
 * paragraphs, `-`/`*`/`1.` lists, fenced code, `>` quotes, pipe tables, `code`, **bold**,
 * *italic*, [links](url), `---` rules. Raw HTML is escaped, not passed through.
 *
 * @example
 * ```ts
 * markdownToHtml("# Title\n\nSome *text*."); // "<h1>Title</h1>\n<p>Some <em>text</em>.</p>"
 * ```
 */
export function markdownToHtml(md: string): string {
  const lines = md.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let i = 0;
  const isTableSep = (l: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(l);
  const cells = (l: string) =>
    l.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  while (i < lines.length) {
    const l = lines[i];
    if (/^\s*$/.test(l)) {
      i++;
    } else if (/^\s*(```|~~~)/.test(l)) {
      const fence = l.trim().slice(0, 3);
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence); i++) body.push(lines[i]);
      i++;
      out.push(`<pre><code>${escapeHtml(body.join("\n"))}</code></pre>`);
    } else if (/^#{1,6}\s/.test(l)) {
      const n = l.match(/^#+/)![0].length;
      out.push(`<h${n}>${inline(l.slice(n).trim())}</h${n}>`);
      i++;
    } else if (/^\s*(-{3,}|\*{3,})\s*$/.test(l)) {
      out.push("<hr>");
      i++;
    } else if (l.includes("|") && i + 1 < lines.length && isTableSep(lines[i + 1])) {
      const head = cells(l);
      const rows: string[][] = [];
      for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim() !== ""; i++) {
        rows.push(cells(lines[i]));
      }
      out.push(
        `<table><thead><tr>${
          head.map((h) => `<th>${inline(h)}</th>`).join("")
        }</tr></thead><tbody>` +
          rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("") +
          "</tbody></table>",
      );
    } else if (/^\s*>/.test(l)) {
      const body: string[] = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) {
        body.push(lines[i].replace(/^\s*>\s?/, ""));
      }
      out.push(`<blockquote>${markdownToHtml(body.join("\n"))}</blockquote>`);
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(l)) {
      const ordered = /^\s*\d/.test(l);
      const items: string[] = [];
      for (; i < lines.length && !/^\s*$/.test(lines[i]); i++) {
        const m = lines[i].match(/^\s*([-*+]|\d+[.)])\s+(.*)$/);
        if (m) items.push(m[2]);
        else if (items.length) items[items.length - 1] += " " + lines[i].trim();
      }
      const tag = ordered ? "ol" : "ul";
      out.push(`<${tag}>${items.map((t) => `<li>${inline(t)}</li>`).join("")}</${tag}>`);
    } else {
      const body: string[] = [];
      for (
        ;
        i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|\s*(```|~~~|>))/.test(lines[i]);
        i++
      ) body.push(lines[i].trim());
      out.push(`<p>${inline(body.join(" "))}</p>`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------
// tables

function columnsOf(rows: readonly Row[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** Formats one cell: null/undefined/NaN → "–", numbers with `digits` decimals. */
export function formatCell(v: Row[string], digits = 1): string {
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "–";
  if (typeof v === "number") return v.toFixed(digits);
  return String(v);
}

/**
 * An HTML table of rows through arquero's `toHTML` (cells formatted by {@link formatCell}; a
 * column of integers keeps no decimals, any other numeric column gets `digits`).
 *
 * @example
 * ```ts
 * tableHtml([{ task: "cola", ours: 12.345, paper: 45.4 }]); // "<table>...<td ...>12.3</td>..."
 * ```
 */
export function tableHtml(rows: readonly Row[], digits = 1): string {
  const cols = columnsOf(rows);
  if (cols.length === 0) return "<table></table>";
  const full = rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])));
  const dt = aq.from(full);
  const format = Object.fromEntries(
    cols.map((c) => {
      const d = columnDigits(rows, c, digits);
      return [c, (v: Row[string]) => formatCell(v, d)];
    }),
  );
  return dt.toHTML({ format });
}

/** `digits` when the column holds a non-integer number, else 0 (counts stay integers). */
function columnDigits(rows: readonly Row[], col: string, digits: number): number {
  return rows.some((r) => typeof r[col] === "number" && !Number.isInteger(r[col])) ? digits : 0;
}

/** The same rows as a plain-text table (aligned columns) for terminals and text fallbacks. */
export function tableText(rows: readonly Row[], digits = 1): string {
  const cols = columnsOf(rows);
  const ds = cols.map((c) => columnDigits(rows, c, digits));
  const cellsOf = rows.map((r) => cols.map((c, j) => formatCell(r[c], ds[j])));
  const width = cols.map((c, j) => Math.max(c.length, ...cellsOf.map((r) => r[j].length)));
  const numeric = cols.map((c) => rows.every((r) => r[c] == null || typeof r[c] === "number"));
  const pad = (s: string, j: number) => numeric[j] ? s.padStart(width[j]) : s.padEnd(width[j]);
  return [
    cols.map(pad).join("  "),
    width.map((w) => "-".repeat(w)).join("  "),
    ...cellsOf.map((r) => r.map(pad).join("  ")),
  ].map((l) => l.trimEnd()).join("\n");
}

/**
 * The same rows as a Markdown table (for READMEs and `tables.md` files); `|` in cells escaped.
 *
 * @example
 * ```ts
 * tableMarkdown([{ task: "cola", ours: 12.345 }]); // "| task | ours |\n|---|---|\n| cola | 12.3 |"
 * ```
 */
export function tableMarkdown(rows: readonly Row[], digits = 1): string {
  const cols = columnsOf(rows);
  const ds = cols.map((c) => columnDigits(rows, c, digits));
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `| ${cols.map(esc).join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cols.map((c, j) => esc(formatCell(r[c], ds[j]))).join(" | ")} |`),
  ].join("\n");
}

/**
 * One of the paper's results tables as rows (`method`, then one column per printed header),
 * with this run's scores (keyed by column key) appended as a last row when given.
 *
 * @example
 * ```ts
 * import { TABLE4 } from "./paper.ts";
 * paperTableRows(TABLE4, { cola: 10.2 }).at(-1); // { method: "this run", "CoLA (mc)": 10.2, ... }
 * ```
 */
export function paperTableRows(
  table: PaperTable,
  ours?: Readonly<Record<string, number | null | undefined>>,
  label = "this run",
): Row[] {
  const rows: Row[] = table.rows.map((r) => {
    const row: Row = { method: r.ensemble ? `${r.method} (${r.ensemble}x)` : r.method };
    for (const c of table.columns) row[c.label] = r.scores[c.key] ?? null;
    return row;
  });
  if (ours) {
    const row: Row = { method: label };
    for (const c of table.columns) row[c.label] = ours[c.key] ?? null;
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// page

/** Reads plotly.js from the npm package (`plotly.js-dist-min` if mapped, else `plotly.js-dist`). */
export async function plotlyJsSource(): Promise<string> {
  const tried: string[] = [];
  for (const spec of ["plotly.js-dist-min", "plotly.js-dist"]) {
    let url: string;
    try {
      url = import.meta.resolve(spec);
    } catch {
      tried.push(spec);
      continue;
    }
    if (!url.startsWith("file:")) {
      tried.push(`${spec} (${url})`);
      continue;
    }
    try {
      return await Deno.readTextFile(new URL(url));
    } catch {
      tried.push(url);
    }
  }
  throw new DataError(`plotly.js not found (tried ${tried.join(", ")})`, {
    file: "deno.json",
    fix: 'map "plotly.js-dist" to npm:plotly.js-dist in deno.json imports and run `deno install`',
  });
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1100px;margin:0 auto;padding:16px 24px}
h1{font-size:1.7em;margin-bottom:.1em}.subtitle{color:#666;margin-top:0}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:14px}th,td{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4}caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;font-size:13px;border-radius:4px}
code{font-family:ui-monospace,Menlo,Consolas,monospace}
.gpt1-figure{width:100%;min-height:460px;margin:.5em 0}
.cell{margin:1em 0}.cell-input pre{background:#f0f4ff;border-left:3px solid #8aa4e6}
.cell-prompt{color:#888;font:12px ui-monospace,monospace}
.output-error pre{background:#fff0f0;border-left:3px solid #d62728}
.output-stderr pre{background:#fff8e6}
.output-text pre{background:#fafafa}
`;

/** HTML for one figure: a `div` and its JSON (drawn by the page's single bootstrap script). */
export function figureHtml(fig: Figure, id: string): string {
  const alt = escapeHtml(figureSummary(fig));
  return `<div class="gpt1-figure" id="${id}" role="img" aria-label="${alt}"></div>\n` +
    `<script type="application/json" id="${id}-json">${scriptJson(fig)}</script>`;
}

/**
 * Draws every `.gpt1-figure` from its JSON; `window.gpt1Figures` is the promise of all plots
 * (a browser test awaits it). Errors propagate as page errors.
 */
const BOOT = `<script>
window.gpt1Figures = Promise.all([...document.querySelectorAll(".gpt1-figure")].map((div) => {
  const fig = JSON.parse(document.getElementById(div.id + "-json").textContent);
  return Plotly.newPlot(div, fig.data, fig.layout, Object.assign({ responsive: true }, fig.config || {}));
}));
</script>`;

/**
 * A complete self-contained page: `<head>` with the CSS and (when `plotlyJs` is given and the
 * body has figures) plotly.js inlined once; the body; the script that draws the figures.
 */
export function htmlPage(opts: { title: string; body: string; plotlyJs?: string }): string {
  const hasFigures = opts.body.includes('class="gpt1-figure"');
  if (hasFigures && opts.plotlyJs === undefined) {
    throw new Error("htmlPage: the body has figures but no plotly.js source was given");
  }
  const plotly = hasFigures
    ? `<script>${opts.plotlyJs!.replace(/<\/script/gi, "<\\/script")}</script>\n`
    : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
${plotly}</head>
<body>
${opts.body}
${hasFigures ? BOOT : ""}
</body></html>
`;
}

/**
 * The report page as a string (pure given `plotlyJs`): title, a table of contents, then each
 * section's prose, figures (each with its text summary for screen readers) and tables.
 */
export function renderReport(
  sections: readonly ReportSection[],
  opts: ReportOptions & { plotlyJs: string },
): string {
  const title = opts.title ?? "gpt1-lab report";
  const parts: string[] = [`<h1>${escapeHtml(title)}</h1>`];
  if (opts.subtitle) parts.push(`<p class="subtitle">${escapeHtml(opts.subtitle)}</p>`);
  if (sections.length > 1) {
    parts.push(
      "<nav><ol>" +
        sections.map((s, i) => `<li><a href="#s${i + 1}">${escapeHtml(s.title)}</a></li>`).join(
          "",
        ) +
        "</ol></nav>",
    );
  }
  let nFig = 0;
  sections.forEach((s, i) => {
    parts.push(`<section id="s${i + 1}"><h2>${escapeHtml(s.title)}</h2>`);
    if (s.text) parts.push(markdownToHtml(s.text));
    for (const f of s.figures ?? []) parts.push(figureHtml(f, `fig-${++nFig}`));
    for (const t of s.tables ?? []) {
      const html = tableHtml(t.rows, t.digits);
      parts.push(
        t.caption
          ? html.replace("<table>", `<table><caption>${escapeHtml(t.caption)}</caption>`)
          : html,
      );
    }
    if (s.html) parts.push(s.html);
    parts.push("</section>");
  });
  return htmlPage({ title, body: parts.join("\n"), plotlyJs: opts.plotlyJs });
}

/**
 * Writes the report atomically to `path` (folders created) and returns what it holds. Works
 * offline: plotly.js is read from the installed npm package and inlined once.
 */
export async function writeReport(
  path: string,
  sections: readonly ReportSection[],
  opts: ReportOptions = {},
): Promise<{ path: string; bytes: number; figures: number; tables: number }> {
  const plotlyJs = opts.plotlyJs ?? await plotlyJsSource();
  const html = renderReport(sections, { ...opts, plotlyJs });
  const dir = path.replace(/[/\\][^/\\]*$/, "");
  if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(path, html);
  return {
    path,
    bytes: new TextEncoder().encode(html).length,
    figures: sections.reduce((n, s) => n + (s.figures?.length ?? 0), 0),
    tables: sections.reduce((n, s) => n + (s.tables?.length ?? 0), 0),
  };
}

/** The titles of a report's figures, in order (for checks and tables of contents). */
export function figureTitles(sections: readonly ReportSection[]): string[] {
  return sections.flatMap((s) => (s.figures ?? []).map((f) => titleText(f.layout.title)));
}

/** The version of an npm package of the import map (from its package.json), or null. */
export async function packageVersion(spec: string): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(import.meta.resolve(spec));
  } catch {
    return null;
  }
  if (url.protocol !== "file:") return null;
  for (let dir = new URL(".", url); dir.pathname !== "/"; dir = new URL("..", dir)) {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", dir)));
      if (pkg.name === spec || pkg.name === spec.split("/").slice(0, 2).join("/")) {
        return String(pkg.version);
      }
    } catch {
      // keep walking up
    }
  }
  return null;
}

/**
 * What the lab runs on, as table rows `{component, version}`: Deno, V8, TypeScript, the npm
 * packages that matter (TensorFlow.js, plotly.js, arquero), the OS and the CPU count.
 */
export async function environmentRows(): Promise<Row[]> {
  const rows: Row[] = [
    { component: "Deno", version: Deno.version.deno },
    { component: "V8", version: Deno.version.v8 },
    { component: "TypeScript", version: Deno.version.typescript },
  ];
  for (const spec of ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "arquero"]) {
    rows.push({ component: spec, version: await packageVersion(spec) ?? "not installed" });
  }
  const min = await packageVersion("plotly.js-dist-min");
  rows.push(
    min ? { component: "plotly.js-dist-min", version: min } : {
      component: "plotly.js-dist",
      version: await packageVersion("plotly.js-dist") ?? "not installed",
    },
  );
  rows.push({ component: "OS", version: `${Deno.build.os} ${Deno.build.arch}` });
  rows.push({ component: "CPU cores", version: navigator.hardwareConcurrency });
  return rows;
}
