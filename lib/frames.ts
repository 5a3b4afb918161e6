/**
 * DataFrames (danfojs) where a pandas user expects one: the results of a layout (Table 5 cells,
 * layers-ablation points, zero-shot curves) as one frame each, and dataset exploration per task
 * (one row per example: label, words), with the usual `groupby` / `describe` on top.
 *
 * Roles: **danfo** is for analysis in notebooks (frames to group, describe, filter); **arquero**
 * stays the renderer of tables (`report.ts` `tableHtml`, `jupyter.ts` `showTable`). A frame is
 * shown with `showTable(frameRows(df))`.
 *
 * danfojs-node is imported lazily, on the first call that builds a frame (about 1.5 s, and
 * nothing of it when a program never asks for a frame). It brings no TensorFlow.js of its own:
 * its `tensorflowlib` requires `@tensorflow/tfjs`, which resolves to the project's 4.22.0
 * instance, so no backend is registered or replaced (`tests/frames_test.ts` checks
 * `tf.getBackend()` and the backend registry before and after). Its dependency
 * `@tensorflow/tfjs-node` is installed but never loaded, and its install script stays unrun
 * (Deno runs no npm lifecycle scripts without `--allow-scripts`).
 *
 * danfo's statistics: `count` skips NaN, `mean` / `std` / `median` of a column with NaN are NaN
 * (drop them first: `df.dropNa()`); missing values (a cell the paper has no score for) are NaN
 * here, never null (danfo's `describe` throws on null).
 *
 * @example
 * ```ts
 * import { frameRows, resultsFrame } from "./frames.ts";
 * import { showTable } from "./jupyter.ts";
 * const t5 = await resultsFrame("table5"); // the committed results
 * await showTable(frameRows(t5.groupby(["variant"]).agg({ value: ["mean", "count"] })));
 * ```
 * @module
 */
import process from "node:process";
import type * as Danfo from "danfojs-node";
import { type Figure, lineChart, type Series } from "./plot.ts";
import {
  committedLayout,
  readLayers,
  readTable5,
  readZeroShot,
  type ResultLayout,
} from "./runs.ts";
import { getTask, loadTask, type Split } from "./tasks/mod.ts";
import type { Example } from "./tasks/common.ts";
import { DataError } from "./errors.ts";
import { exists } from "./fsutil.ts";
import { join } from "node:path";

/**
 * A danfo DataFrame (the base class: what `groupby(...).agg(...)`, `describe()` and `merge`
 * return; danfojs-node's own `DataFrame` extends it with file writers).
 */
export type DataFrame = ReturnType<ReturnType<Danfo.DataFrame["groupby"]>["count"]>;

/** One row of a frame: column → value (numbers, strings, booleans; missing numbers are NaN). */
export type FrameRow = Record<string, string | number | boolean>;

let _danfo: Promise<typeof Danfo> | null = null;

/**
 * The danfojs-node module, imported on first use (its Node deprecation warnings about
 * `punycode`, from its HTTP readers, are muted during the import).
 */
export function danfo(): Promise<typeof Danfo> {
  if (!_danfo) {
    _danfo = (async () => {
      const before = process.noDeprecation;
      process.noDeprecation = true;
      try {
        return await import("danfojs-node");
      } finally {
        process.noDeprecation = before;
      }
    })();
  }
  return _danfo;
}

/** A DataFrame of rows (all rows with the same columns, in the first row's order). */
export async function toFrame(
  rows: readonly FrameRow[],
  columns?: readonly string[],
): Promise<DataFrame> {
  const dfd = await danfo();
  const cols = columns ?? (rows.length ? Object.keys(rows[0]) : []);
  if (rows.length === 0) return new dfd.DataFrame([], { columns: [...cols] });
  return new dfd.DataFrame(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]]))));
}

/**
 * The rows of a frame as plain objects, for `showTable` (arquero) or JSON. When the index is not
 * the default 0…n−1 (e.g. `describe()`'s count, mean, …) it becomes a first column named `index`.
 */
export function frameRows(df: DataFrame, opts: { index?: string } = {}): FrameRow[] {
  const cols = df.columns as string[];
  const values = df.values as unknown[][];
  const idx = df.index as (string | number)[];
  const plain = idx.every((v, i) => v === i);
  return values.map((row, i) => {
    const out: FrameRow = {};
    if (!plain) out[opts.index ?? "index"] = idx[i];
    cols.forEach((c, j) => (out[c] = row[j] as string | number | boolean));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// results

/** The result files {@link resultsFrame} reads. */
export type ResultsKind = "table5" | "layers" | "zeroshot";

/** Columns of each kind's frame, in order. */
export const RESULTS_COLUMNS: Readonly<Record<ResultsKind, readonly string[]>> = {
  table5: [
    "task",
    "title",
    "variant",
    "model",
    "metric",
    "value",
    "paper",
    "diff",
    "split",
    "n",
    "nTrain",
  ],
  layers: ["task", "nTransfer", "metric", "train", "valid", "split", "n"],
  zeroshot: ["model", "task", "heuristic", "step", "metric", "raw", "relative", "chance", "n"],
};

const nan = (v: number | null | undefined): number => (typeof v === "number" ? v : NaN);

/**
 * The rows of one kind of result of a layout (default: the committed results), as plain
 * objects with {@link RESULTS_COLUMNS}: `table5` one row per cell (the LSTM row has variant
 * `lstm`, model `lstm`; `paper` and `diff` = value − paper are NaN where Table 5 has no score),
 * `layers` one row per point of every layers ablation (`nTransfer` on the paper's axis), and
 * `zeroshot` one row per (model, checkpoint, task) of the Transformer's and the LSTM's curves.
 */
export async function resultsRows(
  kind: ResultsKind,
  layout: ResultLayout = committedLayout(),
): Promise<FrameRow[]> {
  if (kind === "table5") {
    return (await readTable5(layout)).map((c) => ({
      task: c.task,
      title: getTask(c.task).title,
      variant: c.variant,
      model: c.model ?? (c.variant === "lstm" ? "lstm" : "gpt1"),
      metric: c.metric,
      value: c.value,
      paper: nan(c.paper),
      diff: c.paper === null ? NaN : c.value - c.paper,
      split: c.split,
      n: c.n,
      nTrain: c.nTrain,
    }));
  }
  if (kind === "layers") {
    return (await readLayers(layout)).map((p) => ({
      task: p.task,
      nTransfer: p.nTransfer,
      metric: p.metric,
      train: p.train,
      valid: p.valid,
      split: p.split,
      n: p.n,
    }));
  }
  const out: FrameRow[] = [];
  for (const [model, dir] of [["gpt1", layout.pretrain], ["lstm", layout.lstm]] as const) {
    for (const r of await readZeroShot(dir)) {
      out.push({
        model,
        task: r.task,
        heuristic: r.heuristic,
        step: r.step,
        metric: r.metric,
        raw: r.raw,
        relative: r.relative,
        chance: r.chance,
        n: r.n,
      });
    }
  }
  return out;
}

/**
 * One kind of result of a layout as a danfo DataFrame ({@link resultsRows}; columns
 * {@link RESULTS_COLUMNS}, an empty frame with those columns when nothing has been computed).
 *
 * @example
 * ```ts
 * const t5 = await resultsFrame("table5");
 * t5.groupby(["variant"]).agg({ value: ["mean", "count"] }).print(); // Table 5's "Avg" column
 * (await resultsFrame("zeroshot")).groupby(["model", "task"]).agg({ relative: "max" }).print();
 * ```
 */
export async function resultsFrame(
  kind: ResultsKind,
  layout: ResultLayout = committedLayout(),
): Promise<DataFrame> {
  return await toFrame(await resultsRows(kind, layout), RESULTS_COLUMNS[kind]);
}

// ---------------------------------------------------------------------------------------------
// datasets

/** One example of a benchmark, as {@link datasetRows} describes it. */
export interface DatasetRow extends FrameRow {
  /** Task registry name. */
  task: string;
  /** Split (`train`, `dev`, `test`). */
  split: string;
  /** Label name (`spec.labels`); STS-B: the score rounded to an integer (`"0"` … `"5"`). */
  label: string;
  /** Words (whitespace-separated) of every text of the example (multiple choice: the context,
   * the question and the longest answer: the longest sequence the model sees). */
  words: number;
  /** The same texts' BPE tokens, when an `encode` was given (else NaN). */
  tokens: number;
}

/** Options of {@link datasetRows}. */
export interface DatasetOptions {
  /** Splits (default `train` and `dev`; splits without a file, or without labels, are skipped). */
  splits?: readonly Split[];
  /** At most this many examples per split (the first ones; default: all). */
  limit?: number;
  /** A tokenizer's `encode`, to count BPE tokens too (slow on the large training sets). */
  encode?: (text: string) => number[];
}

/** The texts of an example, the longest candidate for multiple choice. */
function exampleTexts(e: Example): string[] {
  if ("text" in e) return [e.text];
  if ("premise" in e) return [e.premise, e.hypothesis];
  if ("a" in e) return [e.a, e.b];
  const longest = e.answers.reduce((a, b) => (b.length > a.length ? b : a), "");
  return [e.context, ...(e.question ? [e.question] : []), longest];
}

const wordCount = (s: string) => s.split(/\s+/).filter((w) => w.length > 0).length;

/**
 * One row per labeled example of each task's splits under `dataRoot` ({@link DatasetRow}).
 * Tasks whose folder is missing are listed in `missing` (no rows).
 */
export async function datasetRows(
  tasks: readonly string[],
  dataRoot: string,
  opts: DatasetOptions = {},
): Promise<{ rows: DatasetRow[]; missing: string[] }> {
  const rows: DatasetRow[] = [];
  const missing: string[] = [];
  for (const name of tasks) {
    const spec = getTask(name);
    if (!(await exists(join(dataRoot, spec.folder)))) {
      missing.push(spec.name);
      continue;
    }
    for (const split of opts.splits ?? ["train", "dev"]) {
      if (!spec.splits.includes(split)) continue;
      let examples: Example[];
      try {
        examples = (await loadTask(spec.name, dataRoot, split, { limit: opts.limit })).examples;
      } catch (e) {
        const absent = e instanceof Deno.errors.NotFound ||
          (e instanceof DataError && /not found|no such file|missing/i.test(e.message));
        if (absent) continue; // a split without its file
        throw e;
      }
      for (const e of examples) {
        if (e.label === undefined) continue;
        const texts = exampleTexts(e);
        rows.push({
          task: spec.name,
          split,
          label: spec.labels ? spec.labels[e.label] : String(Math.round(e.label)),
          words: texts.reduce((n, t) => n + wordCount(t), 0),
          tokens: opts.encode ? texts.reduce((n, t) => n + opts.encode!(t).length, 0) : NaN,
        });
      }
    }
  }
  return { rows, missing };
}

/** What {@link exploreDatasets} returns. */
export interface DatasetExploration {
  /** One row per example ({@link DatasetRow} columns). */
  examples: DataFrame;
  /** Label balance: task, split, label, count, share (% of the split). */
  balance: DataFrame;
  /** Length distribution per task and split: count, mean, std, min, median, max of `words`. */
  lengths: DataFrame;
  /** The share of each task's training examples per length bin (5 words wide). */
  chart: Figure;
  /** Tasks without a folder under the data root. */
  missing: string[];
}

/**
 * Dataset exploration for the notebooks: label balance and sentence-length distributions per
 * task, as danfo frames (groupby over the example rows) and a plotly chart.
 *
 * @example
 * ```ts
 * const x = await exploreDatasets(["sst2", "rte"], "../shared/datasets");
 * await showTable(frameRows(x.balance), { caption: "Label balance" });
 * await display(x.chart);
 * ```
 */
export async function exploreDatasets(
  tasks: readonly string[],
  dataRoot: string,
  opts: DatasetOptions = {},
): Promise<DatasetExploration> {
  const dfd = await danfo();
  const { rows, missing } = await datasetRows(tasks, dataRoot, opts);
  const cols = ["task", "split", "label", "words", "tokens"];
  const examples = await toFrame(rows, cols);
  if (rows.length === 0) {
    const empty = (c: string[]) => new dfd.DataFrame([], { columns: c });
    return {
      examples,
      balance: empty(["task", "split", "label", "count", "share"]),
      lengths: empty(["task", "split", "count", "mean", "std", "min", "median", "max"]),
      chart: lengthChart([]),
      missing,
    };
  }
  const counts = examples.groupby(["task", "split", "label"]).col(["words"]).count();
  counts.rename({ words_count: "count" }, { inplace: true });
  const totals = examples.groupby(["task", "split"]).col(["words"]).count();
  totals.rename({ words_count: "total" }, { inplace: true });
  const balance = dfd.merge({ left: counts, right: totals, on: ["task", "split"], how: "left" });
  balance.addColumn(
    "share",
    (balance.column("count").values as number[]).map((c, i) =>
      (100 * c) / (balance.column("total").values as number[])[i]
    ),
    { inplace: true },
  );
  balance.drop({ columns: ["total"], inplace: true });
  const lengths = examples.groupby(["task", "split"]).agg({
    words: ["count", "mean", "std", "min", "median", "max"],
  });
  lengths.rename(
    Object.fromEntries(
      ["count", "mean", "std", "min", "median", "max"].map((s) => [`words_${s}`, s]),
    ),
    { inplace: true },
  );
  return { examples, balance, lengths, chart: lengthChart(rows), missing };
}

/**
 * The length distribution of each task's training examples (dev when a task has no train rows):
 * share of examples (%) per 5-word bin, one line per task.
 */
export function lengthChart(rows: readonly DatasetRow[], binWidth = 5): Figure {
  const series: Series[] = [];
  for (const task of [...new Set(rows.map((r) => r.task))]) {
    let mine = rows.filter((r) => r.task === task && r.split === "train");
    if (mine.length === 0) mine = rows.filter((r) => r.task === task);
    const bins = new Map<number, number>();
    for (const r of mine) {
      const b = Math.floor(r.words / binWidth);
      bins.set(b, (bins.get(b) ?? 0) + 1);
    }
    const top = Math.max(...bins.keys());
    const x = Array.from({ length: top + 1 }, (_, b) => b * binWidth + binWidth / 2);
    const y = x.map((_, b) => (100 * (bins.get(b) ?? 0)) / mine.length);
    series.push({ name: `${getTask(task).title} (${mine[0].split}, n = ${mine.length})`, x, y });
  }
  return lineChart(series, {
    title: "Example length per task",
    x: `words per example (bins of ${binWidth})`,
    y: "share of examples (%)",
  });
}
