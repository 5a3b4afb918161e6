/**
 * Display helpers for notebooks on the Deno kernel (`deno jupyter`): figures as the plotly MIME
 * type with an HTML form for classic Notebook and a text fallback ({@link figureBundle}), arquero
 * tables, and live progress as **one display updated in
 * place** (display_id), never a scroll of log lines. Outside a notebook (`deno run`, tests)
 * every helper falls back to the terminal, so lib code and notebooks can call them anywhere.
 *
 * Kernel facts this module designs around (`../shared/notes/jupyter-on-deno.md`): every
 * `Deno.jupyter.display` call is awaited (the kernel's iopub writers are not serialized), no
 * single output carries plotly.js (outputs of ~4 MB corrupt the stream in JupyterLab), and
 * `\r` progress does not reach the notebook.
 *
 * @example
 * ```ts
 * import { display, liveDisplay, showTable } from "../lib/jupyter.ts";
 * import { lossCurve } from "../lib/plot.ts";
 * await display(lossCurve(records));
 * await showTable([{ task: "cola", ours: 12.3, paper: 45.4 }], { caption: "CoLA" });
 * const p = liveDisplay("pretrain");
 * for (let i = 1; i <= 100; i++) p.update({ done: i, total: 100, fields: { loss: 3.1 } });
 * p.finish();
 * await p.flush();
 * ```
 * @module
 */
import { join, relative, sep } from "node:path";
import { REPO_ROOT } from "./fsutil.ts";
import { figureSummary, isFigure, plotBundle } from "./plot.ts";
import { type Figure, type MimeBundle, PLOTLY_MIME } from "./_plot.ts";
import {
  formatProgressLine,
  type Progress,
  type ProgressEvent,
  terminalProgress,
} from "./progress.ts";
import { escapeHtml, type Row, scriptJson, tableHtml, tableText } from "./report.ts";

/** Largest output this module sends (bytes of JSON); bigger ones are refused (kernel bug 2). */
export const MAX_OUTPUT_BYTES = 1_000_000;

/** The part of `Deno.jupyter` this module uses (typed here so tests can pass a fake). */
export interface JupyterApi {
  /** Sends a display_data (or update_display_data with `update: true`). */
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
}

let override: JupyterApi | null | undefined;

/**
 * Replaces the kernel API (tests pass a recorder; `null` forces the terminal fallback;
 * `undefined` restores detection).
 */
export function setJupyterApi(api: JupyterApi | null | undefined): void {
  override = api;
}

/** The kernel API when running inside `deno jupyter`, else null. */
export function jupyterApi(): JupyterApi | null {
  if (override !== undefined) return override;
  try {
    return Deno.jupyter as unknown as JupyterApi; // the getter throws outside the kernel
  } catch {
    return null;
  }
}

/** True inside a Deno Jupyter kernel. */
export function inNotebook(): boolean {
  return jupyterApi() !== null;
}

/** A value {@link display} knows: a figure, a MIME bundle, or an object with a `toBundle`. */
export type Displayable = Figure | MimeBundle | { toBundle(): MimeBundle };

/** True for a MIME bundle: a non-empty object whose keys all look like MIME types. */
export function isMimeBundle(x: unknown): x is MimeBundle {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[\w.+-]+$/i.test(k));
}

/**
 * plotly.js as `deno install` places it (`nodeModulesDir: "auto"`): the file the classic
 * Notebook's HTML form of a figure loads from the notebook server's `/files/` route.
 */
export const PLOTLY_JS_FILE: string = join(
  REPO_ROOT,
  "node_modules",
  "plotly.js-dist-min",
  "plotly.min.js",
);

/**
 * {@link PLOTLY_JS_FILE} relative to `cwd` (the kernel's working directory, which is the
 * notebook's folder), with `/` separators: the browser adds it to the notebook's `/files/` URL.
 */
export function plotlyPathFrom(cwd: string = Deno.cwd()): string {
  return relative(cwd, PLOTLY_JS_FILE).split(sep).join("/");
}

/**
 * The `text/html` form of a figure for Jupyter's classic Notebook 6, which does not render the
 * plotly MIME type: a `<div>` holding the text summary and a small script that draws the figure
 * into it with plotly.js loaded **from the notebook server** (`<base_url>files/<notebook
 * folder>/<plotlySrc>`, one `<script src>` per page, shared by every chart). plotly.js itself
 * never goes into the output (outputs of ~4 MB corrupt the Deno kernel's stream). The server
 * must serve the repository (start it from the repository root) and `deno install` must have
 * run. Outside classic Notebook (no `window.Jupyter.notebook`: nbconvert HTML, JupyterLab without
 * the plotly extension, a sanitized untrusted notebook) the script does nothing and the text
 * summary stays; if plotly.js cannot be loaded a line under the summary says why.
 */
export function classicNotebookHtml(
  fig: Figure,
  plotlySrc: string,
  id: string = `gpt1-nbfig-${crypto.randomUUID()}`,
): string {
  const height = typeof fig.layout.height === "number" ? fig.layout.height : 460;
  return `<div id="${id}" class="gpt1-nb-figure" style="min-height:${height}px">` +
    `<pre>${escapeHtml(figureSummary(fig))}</pre></div>\n<script>\n` + _LOADER
    .replace("__ID__", () => scriptJson(id))
    .replace("__FIG__", () => scriptJson(fig))
    .replace("__SRC__", () => scriptJson(plotlySrc)) + "</script>";
}

/**
 * The classic-Notebook loader: finds the div (jQuery may run the script before the output is in
 * the page, so it retries briefly), loads plotly.js once per page, draws.
 */
const _LOADER = `(function () {
  var id = __ID__, fig = __FIG__, rel = __SRC__, tries = 0;
  function note(el, msg) {
    var p = document.createElement("div");
    p.style.color = "#a00";
    p.textContent = msg;
    el.appendChild(p);
  }
  function draw(el) {
    el.innerHTML = "";
    el.style.minHeight = "";
    window.Plotly.newPlot(el, fig.data, fig.layout, fig.config || {});
  }
  function go() {
    var el = document.getElementById(id);
    if (!el) { if (tries++ < 100) setTimeout(go, 30); return; }
    if (window.Plotly) { draw(el); return; }
    var nb = window.Jupyter && window.Jupyter.notebook;
    if (!nb || typeof nb.notebook_path !== "string") return;
    var dir = nb.notebook_path.split("/").slice(0, -1).map(encodeURIComponent);
    var root = nb.base_url || "/";
    if (root.charAt(root.length - 1) !== "/") root += "/";
    var src = root + "files/" + (dir.length ? dir.join("/") + "/" : "") + rel;
    if (!window.gpt1PlotlyLoad) {
      window.gpt1PlotlyLoad = new Promise(function (ok, fail) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = function () { window.Plotly ? ok() : fail(new Error("no window.Plotly")); };
        s.onerror = function () { fail(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }
    window.gpt1PlotlyLoad.then(function () { draw(el); }, function (e) {
      note(el, String(e.message || e) + ": start the notebook server from the repository root " +
        "and run deno install");
    });
  }
  go();
})();
`;

/**
 * The MIME bundle of a figure in a notebook: the plotly MIME type first (JupyterLab with the
 * plotly extension and VS Code pick it; VS Code prefers the first vendor type), then
 * {@link classicNotebookHtml} (classic Notebook 6 picks `text/html`), then the text summary.
 */
export function figureBundle(fig: Figure, plotlySrc: string = plotlyPathFrom()): MimeBundle {
  const { [PLOTLY_MIME]: plotly, "text/plain": text } = plotBundle(fig);
  return {
    [PLOTLY_MIME]: plotly,
    "text/html": classicNotebookHtml(fig, plotlySrc),
    "text/plain": text,
  };
}

/** The MIME bundle of a displayable value (a figure: {@link figureBundle}). */
export function toBundle(x: Displayable): MimeBundle {
  if (isFigure(x)) return figureBundle(x);
  if (typeof (x as { toBundle?: unknown }).toBundle === "function") {
    return (x as { toBundle(): MimeBundle }).toBundle();
  }
  if (isMimeBundle(x)) return x;
  throw new TypeError(
    "display: expected a plotly figure, a MIME bundle or an object with toBundle()",
  );
}

function checkSize(bundle: MimeBundle): void {
  const n = JSON.stringify(bundle).length;
  if (n > MAX_OUTPUT_BYTES) {
    throw new RangeError(
      `display: output of ${n} bytes is over ${MAX_OUTPUT_BYTES} (large outputs corrupt the Deno ` +
        "kernel's output stream); plot fewer points or write an HTML report instead",
    );
  }
}

/**
 * Shows a figure, table bundle or MIME bundle: a `display_data` output in a notebook, its
 * `text/plain` part on stdout elsewhere. `displayId` names the output so that a later call
 * with `update: true` replaces it in place.
 */
export async function display(
  x: Displayable,
  opts: { displayId?: string; update?: boolean } = {},
): Promise<void> {
  const bundle = toBundle(x);
  checkSize(bundle);
  const api = jupyterApi();
  if (!api) {
    if (!opts.update) console.log(String(bundle["text/plain"] ?? "[output]"));
    return;
  }
  await api.display(bundle, {
    raw: true,
    ...(opts.displayId ? { display_id: opts.displayId } : {}),
    ...(opts.update ? { update: true } : {}),
  });
}

/** The MIME bundle of a table: arquero HTML (with a caption) and an aligned text table. */
export function tableBundle(
  rows: readonly Row[],
  opts: { caption?: string; digits?: number } = {},
): MimeBundle {
  let html = tableHtml(rows, opts.digits);
  let text = tableText(rows, opts.digits);
  if (opts.caption) {
    html = html.replace("<table>", `<table><caption>${escapeHtml(opts.caption)}</caption>`);
    text = `${opts.caption}\n${text}`;
  }
  return { "text/html": html, "text/plain": text };
}

/** Displays rows as a table (see {@link tableBundle}). */
export async function showTable(
  rows: readonly Row[],
  opts: { caption?: string; digits?: number } = {},
): Promise<void> {
  await display(tableBundle(rows, opts));
}

/** Displays Markdown prose computed at run time (e.g. a sentence with a number in it). */
export async function showMarkdown(md: string): Promise<void> {
  await display({ "text/markdown": md, "text/plain": md });
}

/** A {@link Progress} that draws one notebook output and updates it in place. */
export interface LiveDisplay extends Progress {
  /** The display_id of the output. */
  readonly id: string;
  /** Resolves when every update sent so far has reached the kernel (await it before the cell ends). */
  flush(): Promise<void>;
}

/** The MIME bundle of one progress state: an HTML `<progress>` bar and the text line. */
export function progressBundle(line: string, ev: ProgressEvent): MimeBundle {
  const bar = ev.total !== undefined && ev.total > 0
    ? `<progress value="${
      Math.min(ev.done, ev.total)
    }" max="${ev.total}" style="width:18em"></progress> `
    : "";
  return {
    "text/html": `<div class="gpt1-progress">${bar}<code>${escapeHtml(line)}</code></div>`,
    "text/plain": line,
  };
}

/**
 * Live progress for a notebook cell: the first update creates one output, the following ones
 * replace it (`update_display_data`), throttled to one every `intervalMs` (default 250 ms; the
 * last and the final state are always sent). Outside a notebook it is a terminal progress line.
 * Pass it wherever lib code takes a `Progress`, then `await p.flush()` at the end of the cell.
 *
 * @example
 * ```ts
 * const p = liveDisplay("table5");
 * await runTable5({ ..., progress: () => p });
 * await p.flush();
 * ```
 */
export function liveDisplay(label: string, opts: { intervalMs?: number } = {}): LiveDisplay {
  const id = `gpt1-progress-${crypto.randomUUID()}`;
  const api = jupyterApi();
  if (!api) {
    const p = terminalProgress(label, opts);
    return {
      id,
      update: (ev) => p.update(ev),
      finish: (m) => p.finish(m),
      flush: () => Promise.resolve(),
    };
  }
  const interval = opts.intervalMs ?? 250;
  const t0 = performance.now();
  let chain: Promise<void> = Promise.resolve();
  let shown = false;
  let last = -Infinity;
  let failure: unknown = null;
  const send = (bundle: MimeBundle) => {
    const update = shown;
    shown = true;
    chain = chain.then(() =>
      api.display(bundle, { raw: true, display_id: id, ...(update ? { update: true } : {}) })
    ).catch((e) => {
      failure ??= e;
    });
  };
  return {
    id,
    update(ev) {
      const now = performance.now();
      const final = ev.total !== undefined && ev.done >= ev.total;
      if (shown && now - last < interval && !final) return;
      last = now;
      send(progressBundle(formatProgressLine(label, ev, (now - t0) / 1000), ev));
    },
    finish(message) {
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      send(progressBundle(`${label} ${message ?? "done"} [${secs}s]`, { done: 1, total: 1 }));
    },
    async flush() {
      await chain;
      if (failure) throw failure;
    },
  };
}
