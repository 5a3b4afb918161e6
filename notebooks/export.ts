/**
 * Exports an executed notebook as one self-contained HTML page: Markdown cells, code, and every
 * output (streams, errors, HTML, Markdown, images, and plotly figures drawn offline with
 * plotly.js inlined once in `<head>`). nbconvert cannot do this: it does not render the plotly
 * MIME type, and inlining plotly.js into cell outputs breaks the Deno kernel (see
 * `../shared/notes/jupyter-on-deno.md`).
 *
 * ```sh
 * deno run -A notebooks/export.ts results/notebooks/00_setup.ipynb   # -> results/notebooks/00_setup.html
 * deno run -A notebooks/export.ts --out /tmp/html a.ipynb b.ipynb
 * ```
 * @module
 */
import { basename, extname, join } from "node:path";
import type { Figure } from "../lib/_plot.ts";
import { PLOTLY_MIME } from "../lib/_plot.ts";
import { writeFileAtomic } from "../lib/fsutil.ts";
import { DataError } from "../lib/errors.ts";
import {
  escapeHtml,
  figureHtml,
  htmlPage,
  markdownToHtml,
  plotlyJsSource,
  stripAnsi,
} from "../lib/report.ts";

/** nbformat 4 multiline strings: a string or a list of lines. */
type Multiline = string | string[];

/** One output of a code cell (nbformat 4). */
export interface NbOutput {
  /** `stream`, `display_data`, `execute_result` or `error`. */
  output_type: string;
  /** Stream name (`stdout` / `stderr`). */
  name?: string;
  /** Stream text. */
  text?: Multiline;
  /** MIME bundle of display_data / execute_result. */
  data?: Record<string, unknown>;
  /** Error name. */
  ename?: string;
  /** Error value. */
  evalue?: string;
  /** Error traceback lines (ANSI-coloured). */
  traceback?: string[];
  /** Other fields (metadata, execution_count, transient). */
  [k: string]: unknown;
}

/** One cell (nbformat 4). */
export interface NbCell {
  /** `code`, `markdown` or `raw`. */
  cell_type: string;
  /** Source text. */
  source: Multiline;
  /** Cell metadata (`tags`). */
  metadata?: { tags?: string[]; [k: string]: unknown };
  /** Code cell outputs. */
  outputs?: NbOutput[];
  /** Code cell execution count (null when not run). */
  execution_count?: number | null;
}

/** A notebook (nbformat 4). */
export interface Notebook {
  /** Cells in order. */
  cells: NbCell[];
  /** Notebook metadata (kernelspec, language_info). */
  metadata: Record<string, unknown>;
  /** 4. */
  nbformat: number;
  /** Minor version. */
  nbformat_minor: number;
}

/** The text of an nbformat multiline string. */
export function joinSource(s: Multiline | undefined): string {
  return Array.isArray(s) ? s.join("") : (s ?? "");
}

/** Reads a notebook file; a malformed one throws DataError. */
export async function readNotebook(path: string): Promise<Notebook> {
  let nb: Notebook;
  try {
    nb = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new DataError(`cannot read the notebook: ${(e as Error).message}`, {
      file: path,
      fix: "pass an .ipynb file (JSON, nbformat 4)",
    });
  }
  if (!Array.isArray(nb.cells)) {
    throw new DataError("not a notebook (no cells array)", {
      file: path,
      fix: "pass an .ipynb file (nbformat 4)",
    });
  }
  return nb;
}

function pre(cls: string, text: string): string {
  return `<div class="${cls}"><pre>${escapeHtml(stripAnsi(text))}</pre></div>`;
}

/** HTML of one output; `nextId` names figure divs. Returns the HTML and whether it is a figure. */
export function outputHtml(out: NbOutput, nextId: () => string): { html: string; figure: boolean } {
  switch (out.output_type) {
    case "stream":
      return {
        html: pre(out.name === "stderr" ? "output-stderr" : "output-text", joinSource(out.text)),
        figure: false,
      };
    case "error":
      return {
        html: pre(
          "output-error",
          out.traceback?.length ? out.traceback.join("\n") : `${out.ename}: ${out.evalue}`,
        ),
        figure: false,
      };
    case "display_data":
    case "execute_result": {
      const d = out.data ?? {};
      if (d[PLOTLY_MIME]) {
        let fig = d[PLOTLY_MIME] as Figure | string;
        if (typeof fig === "string") fig = JSON.parse(fig) as Figure;
        return { html: figureHtml(fig, nextId()), figure: true };
      }
      if (d["text/html"] !== undefined) {
        return {
          html: `<div class="output-html">${joinSource(d["text/html"] as Multiline)}</div>`,
          figure: false,
        };
      }
      if (d["image/svg+xml"] !== undefined) {
        return {
          html: `<div class="output-svg">${joinSource(d["image/svg+xml"] as Multiline)}</div>`,
          figure: false,
        };
      }
      for (const img of ["image/png", "image/jpeg"]) {
        if (d[img] !== undefined) {
          const b64 = joinSource(d[img] as Multiline).replace(/\s+/g, "");
          return {
            html: `<div class="output-image"><img src="data:${img};base64,${b64}"></div>`,
            figure: false,
          };
        }
      }
      if (d["text/markdown"] !== undefined) {
        return {
          html: `<div class="output-markdown">${
            markdownToHtml(joinSource(d["text/markdown"] as Multiline))
          }</div>`,
          figure: false,
        };
      }
      if (d["text/plain"] !== undefined) {
        return {
          html: pre("output-text", joinSource(d["text/plain"] as Multiline)),
          figure: false,
        };
      }
      return { html: "", figure: false };
    }
    default:
      return { html: "", figure: false };
  }
}

/**
 * The HTML page of a notebook (pure given `plotlyJs`). Returns the page and the number of
 * figures in it; plotly.js is only inlined when there is at least one figure.
 */
export function notebookToHtml(
  nb: Notebook,
  opts: { title: string; plotlyJs?: string; showCode?: boolean },
): { html: string; figures: number } {
  const parts: string[] = [];
  let n = 0;
  const nextId = () => `fig-${++n}`;
  for (const cell of nb.cells) {
    const src = joinSource(cell.source);
    if (cell.cell_type === "markdown") {
      parts.push(`<div class="cell cell-markdown">${markdownToHtml(src)}</div>`);
    } else if (cell.cell_type === "code") {
      const body: string[] = [];
      if (opts.showCode ?? true) {
        const count = cell.execution_count ?? " ";
        body.push(
          `<div class="cell-input"><div class="cell-prompt">[${count}]</div>` +
            `<pre><code>${escapeHtml(src)}</code></pre></div>`,
        );
      }
      for (const out of cell.outputs ?? []) body.push(outputHtml(out, nextId).html);
      parts.push(`<div class="cell cell-code">${body.join("\n")}</div>`);
    }
  }
  const body = parts.join("\n");
  return { html: htmlPage({ title: opts.title, body, plotlyJs: opts.plotlyJs }), figures: n };
}

/**
 * Writes `inPath` (an executed notebook) as HTML at `outPath` (default: beside it, `.html`).
 * plotly.js is read once per process from the npm package unless given.
 */
export async function exportNotebook(
  inPath: string,
  outPath?: string,
  opts: { plotlyJs?: string; title?: string } = {},
): Promise<{ path: string; figures: number; bytes: number }> {
  const nb = await readNotebook(inPath);
  const path = outPath ?? inPath.slice(0, inPath.length - extname(inPath).length) + ".html";
  const plotlyJs = opts.plotlyJs ?? (await cachedPlotly());
  const title = opts.title ?? basename(inPath, extname(inPath));
  const { html, figures } = notebookToHtml(nb, { title, plotlyJs });
  await writeFileAtomic(path, html);
  return { path, figures, bytes: new TextEncoder().encode(html).length };
}

let plotlyCache: Promise<string> | null = null;
function cachedPlotly(): Promise<string> {
  plotlyCache ??= plotlyJsSource();
  return plotlyCache;
}

if (import.meta.main) {
  const args = [...Deno.args];
  let out: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out") out = args[++i];
    else if (args[i] === "--help" || args[i] === "-h") {
      console.log("usage: deno run -A notebooks/export.ts [--out DIR] executed.ipynb ...");
      Deno.exit(0);
    } else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error("usage: deno run -A notebooks/export.ts [--out DIR] executed.ipynb ...");
    Deno.exit(2);
  }
  if (out) await Deno.mkdir(out, { recursive: true });
  for (const f of files) {
    const target = out ? join(out, basename(f, extname(f)) + ".html") : undefined;
    const r = await exportNotebook(f, target);
    console.log(`${f} -> ${r.path} (${r.figures} figures, ${(r.bytes / 1e6).toFixed(1)} MB)`);
  }
}
