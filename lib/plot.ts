/**
 * Plotly figure builders: pure functions from results to plain plotly JSON `{data, layout,
 * config}`: the pre-training curves, a generic line chart, text summaries and the MIME bundle
 * (the paper's tables and Figure 2 are in `paper_charts.ts`). No DOM, no
 * plotly.js: a notebook shows a figure as the `application/vnd.plotly.v1+json` MIME type
 * ({@link plotBundle}, via `jupyter.ts`), and `report.ts` draws it in an HTML page that inlines
 * plotly.js once. Every chart has axis titles with units and, where the paper has the number,
 * the paper's values overlaid (dashed lines, hatched bars).
 *
 * @example
 * ```ts
 * import { lossCurve, plotBundle } from "./plot.ts";
 * const fig = lossCurve([{ kind: "train", step: 10, loss: 9.0, tokens: 0, backend: "cpu", wallSec: 1 }]);
 * plotBundle(fig)["text/plain"]; // "Pre-training loss\n  train loss: 1 points, ..."
 * ```
 * @module
 */
import { PAPER_FACTS } from "./paper.ts";
import {
  type Figure,
  figure,
  hline,
  line,
  type MimeBundle,
  PALETTE,
  PLOTLY_MIME,
  titleText,
  type Trace,
} from "./_plot.ts";

export { TABLE5_VARIANT_NAMES } from "./paper.ts";
export type { Figure, MimeBundle, Trace } from "./_plot.ts";
export { PALETTE, PLOTLY_MIME, titleText } from "./_plot.ts";

// ---------------------------------------------------------------------------------------
// pre-training curves

/** The fields of a `log.jsonl` record the curves read (see `train.ts` `LogRecord`). */
export interface LogPoint {
  /** `train` or `valid`. */
  kind: "train" | "valid";
  /** Update number. */
  step: number;
  /** Cross-entropy, nats per token. */
  loss: number;
  /** exp(loss) (valid records). */
  perplexity?: number;
}

/** Options of {@link lossCurve} and {@link perplexityCurve}. */
export interface CurveOptions {
  /** Chart title. */
  title?: string;
  /** Draw the paper's BooksCorpus perplexity 18.4 as a dashed reference (default true). */
  paper?: boolean;
  /** Exponential moving average weight for the train curve, 0 = raw (default 0). */
  smooth?: number;
}

function ema(ys: number[], w: number): number[] {
  if (!(w > 0)) return ys;
  const out: number[] = [];
  let m = ys[0];
  for (const y of ys) {
    m = w * m + (1 - w) * y;
    out.push(m);
  }
  return out;
}

/** The finite train and validation records of a log, and the train loss smoothed. */
function logSeries(records: readonly LogPoint[], opts: CurveOptions) {
  const train = records.filter((r) => r.kind === "train" && Number.isFinite(r.loss));
  const valid = records.filter((r) => r.kind === "valid" && Number.isFinite(r.loss));
  return { train, valid, trainLoss: ema(train.map((r) => r.loss), opts.smooth ?? 0) };
}

function stepRange(recs: LogPoint[]): [number, number] {
  if (recs.length === 0) return [0, 1];
  let lo = Infinity, hi = -Infinity;
  for (const r of recs) {
    lo = Math.min(lo, r.step);
    hi = Math.max(hi, r.step);
  }
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/**
 * Pre-training loss against updates: the train loss (a line) and the validation loss
 * (markers), with the paper's final BooksCorpus loss ln 18.4 = 2.91 nats as a dashed line
 * (only comparable with the released 40k vocabulary on BooksCorpus).
 *
 * @example
 * ```ts
 * const recs = (await Deno.readTextFile("results/small/log.jsonl")).trim().split("\n").map((l) => JSON.parse(l));
 * const fig = lossCurve(recs, { smooth: 0.6 });
 * ```
 */
export function lossCurve(records: readonly LogPoint[], opts: CurveOptions = {}): Figure {
  const { train, valid, trainLoss } = logSeries(records, opts);
  const data: Trace[] = [
    line("train loss", train.map((r) => r.step), trainLoss, PALETTE[0]),
    {
      ...line("validation loss", valid.map((r) => r.step), valid.map((r) => r.loss), PALETTE[1], {
        markers: true,
      }),
    },
  ];
  if (opts.paper ?? true) {
    const [x0, x1] = stepRange([...train, ...valid]);
    const y = Math.log(PAPER_FACTS.pretrainPerplexity);
    data.push(
      hline(
        `paper: ln ${PAPER_FACTS.pretrainPerplexity} = ${y.toFixed(2)} (BooksCorpus)`,
        y,
        x0,
        x1,
      ),
    );
  }
  return figure(
    data,
    opts.title ?? "Pre-training loss",
    "update (optimizer steps)",
    "cross-entropy (nats / token)",
  );
}

/**
 * Validation perplexity (exp of the loss, log y axis) against updates, with the paper's
 * BooksCorpus perplexity 18.4 dashed; the train perplexity is drawn thin for comparison.
 */
export function perplexityCurve(records: readonly LogPoint[], opts: CurveOptions = {}): Figure {
  const { train, valid, trainLoss } = logSeries(records, opts);
  const data: Trace[] = [
    line("train perplexity", train.map((r) => r.step), trainLoss.map(Math.exp), PALETTE[0], {
      width: 1,
    }),
    line(
      "validation perplexity",
      valid.map((r) => r.step),
      valid.map((r) => r.perplexity ?? Math.exp(r.loss)),
      PALETTE[1],
      { markers: true },
    ),
  ];
  if (opts.paper ?? true) {
    const [x0, x1] = stepRange([...train, ...valid]);
    data.push(
      hline(
        `paper: ${PAPER_FACTS.pretrainPerplexity} (BooksCorpus, 40k BPE)`,
        PAPER_FACTS.pretrainPerplexity,
        x0,
        x1,
      ),
    );
  }
  return figure(
    data,
    opts.title ?? "Pre-training perplexity",
    "update (optimizer steps)",
    "perplexity (per token, log scale)",
    {
      yaxis: { type: "log" },
    },
  );
}

// ---------------------------------------------------------------------------------------
// generic line chart, summaries, MIME bundle

/** One series of {@link lineChart}. */
export interface Series {
  /** Legend name. */
  name: string;
  /** x values. */
  x: number[];
  /** y values. */
  y: (number | null)[];
  /** `solid` (default), `dash` (paper values), `dot`, `dashdot`. */
  dash?: string;
  /** Draw markers too. */
  markers?: boolean;
}

/**
 * A line chart for the figures the paper does not have (throughput, tokens per word, ...):
 * series, axis titles (give units) and optional log axes.
 *
 * @example
 * ```ts
 * lineChart([{ name: "tokens/s", x: [1, 2], y: [900, 950] }], {
 *   title: "Throughput", x: "update", y: "tokens / second",
 * });
 * ```
 */
export function lineChart(
  series: readonly Series[],
  opts: { title: string; x: string; y: string; logX?: boolean; logY?: boolean },
): Figure {
  const data = series.map((s, i) =>
    line(s.name, s.x, s.y, PALETTE[i % PALETTE.length], { dash: s.dash, markers: s.markers })
  );
  return figure(data, opts.title, opts.x, opts.y, {
    xaxis: opts.logX ? { type: "log" } : {},
    yaxis: opts.logY ? { type: "log" } : {},
  });
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/**
 * A short text description of a figure (the `text/plain` fallback shown where plotly does not
 * render): the title, then one line per trace with its point count and y range.
 */
export function figureSummary(fig: Figure): string {
  const lines = [titleText(fig.layout.title) || "Plotly figure"];
  for (const t of fig.data) {
    const ys = t.y.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    const range = ys.length === 0
      ? "no data"
      : ys.length === 1
      ? `y = ${fmt(ys[0])}`
      : `y ${fmt(Math.min(...ys))} … ${fmt(Math.max(...ys))}, last ${fmt(ys[ys.length - 1])}`;
    lines.push(`  ${t.name}: ${ys.length} points, ${range}`);
  }
  return lines.join("\n");
}

/**
 * The MIME bundle a notebook displays: the plotly JSON and its text summary. plotly.js itself is
 * never included (it is 4–11 MB and would break the kernel's output stream; see the notes).
 */
export function plotBundle(fig: Figure): MimeBundle {
  return { [PLOTLY_MIME]: fig, "text/plain": figureSummary(fig) };
}

/** True when `x` looks like a {@link Figure} (an object with `data` array and `layout`). */
export function isFigure(x: unknown): x is Figure {
  return typeof x === "object" && x !== null && Array.isArray((x as Figure).data) &&
    typeof (x as Figure).layout === "object";
}
