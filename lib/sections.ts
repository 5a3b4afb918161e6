/**
 * The report's sections, built from result files: {@link resultSections} (a run's pre-training
 * curves, Tables 2–5 beside the paper, Figure 2) and {@link layoutSections} (the same for a
 * whole reproduction, with the LSTM baseline, the held-out text and the paper's claims), plus
 * the tables and figures they share with the notebooks ({@link zeroShotTable},
 * {@link zeroShotFigure}, {@link settingsRows}). Pure apart from reading the result files.
 *
 * @example
 * ```ts
 * import { layoutSections } from "./sections.ts";
 * import { writeReport } from "./report.ts";
 * import { committedLayout } from "./runs.ts";
 * await writeReport("/tmp/report.html", await layoutSections(committedLayout()));
 * ```
 * @module
 */
import { join } from "node:path";
import { DataError } from "./errors.ts";
import {
  readLayers,
  readLog,
  readResult,
  readTable5,
  readZeroShot,
  type ResultLayout,
  zeroShotPath,
  type ZeroShotRow,
  type ZeroShotTaskName,
} from "./runs.ts";
import type { TextEval } from "./pipeline.ts";
import * as paper from "./paper.ts";
import { lineChart, lossCurve, perplexityCurve, TABLE5_VARIANT_NAMES } from "./plot.ts";
import type { Figure } from "./_plot.ts";
import { barsVsPaper, layersChart, table5Chart, zeroShotChart } from "./paper_charts.ts";
import { paperTableRows, type ReportSection, type Row } from "./report.ts";
import type { ReproduceSettings } from "./settings.ts";
import { paperClaims } from "./claims.ts";

/** Where {@link resultSections} reads results; every file is optional. */
export interface ResultFiles {
  /** A pre-training run folder (reads `log.jsonl`). */
  run?: string;
  /** `table5.json` of `runTable5` (`{cells}`). */
  table5?: string;
  /** `zeroshot.json` of `zeroShotCurves` (`{rows}`). */
  zeroshot?: string;
  /** The layers ablation's JSON (`{rows}` or an array of `{nTransfer, train, valid}`). */
  layers?: string;
  /** Our scores by task key for Tables 2–4 (default: the `full` cells of Table 5). */
  scores?: Readonly<Record<string, number>>;
}

async function readJson(path: string | undefined): Promise<unknown> {
  if (!path) return undefined;
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new DataError(`cannot read results: ${(e as Error).message}`, {
      file: path,
      fix: "rerun the step that writes it, or delete the file",
    });
  }
}

function rowsOf<T>(json: unknown, key: string): T[] {
  if (Array.isArray(json)) return json as T[];
  const v = (json as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(v) ? (v as T[]) : [];
}

/**
 * The sections of a run's report, from its result files: pre-training curves, Tables 2–4 and 5
 * side by side with the paper (chart and table each), and both panels of Figure 2. A missing file
 * gives the paper's values alone and a line saying how to compute ours.
 *
 * @example
 * ```ts
 * const sections = await resultSections({ run: "results/small", table5: "results/table5/table5.json" });
 * await writeReport("results/small/report.html", sections, { title: "gpt1-lab: small" });
 * ```
 */
export async function resultSections(files: ResultFiles): Promise<ReportSection[]> {
  const sections: ReportSection[] = [];

  // pre-training
  const log: LogLine[] = files.run ? await readLog(files.run) : [];
  const valid = log.filter((r) => r.kind === "valid");
  const last = valid.at(-1);
  sections.push({
    title: "Pre-training",
    text: log.length
      ? `Run \`${files.run}\`: ${
        log.filter((r) => r.kind === "train").length
      } train records up to update ${Math.max(...log.map((r) => r.step))}` +
        (last
          ? `, last validation loss ${last.loss.toFixed(3)} nats (perplexity ${
            Math.exp(last.loss).toFixed(1)
          }) at update ${last.step}. The paper reports perplexity ${paper.PAPER_FACTS.pretrainPerplexity} ` +
            "on BooksCorpus with its 40k vocabulary: comparable only with the same data and vocabulary."
          : ".")
      : "No pre-training log yet: `deno task gpt1 pretrain --out <run>`.",
    figures: log.length ? [lossCurve(log), perplexityCurve(log)] : [],
  });

  // Table 5 cells (also the default source of our scores for Tables 2-4)
  const cells = rowsOf<Table5Json>(await readJson(files.table5), "cells");
  const scores: Record<string, number> = { ...files.scores };
  if (!files.scores) { for (const c of cells) if (c.variant === "full") scores[c.task] = c.value; }

  for (const t of [paper.TABLE2, paper.TABLE3, paper.TABLE4]) {
    const ours = Object.fromEntries(t.columns.map((c) => [c.key, scores[c.key]]));
    const any = t.columns.some((c) => scores[c.key] !== undefined);
    sections.push({
      title: `${t.id.replace("table", "Table ")}: ${t.title}`,
      text: any
        ? "This run (fine-tuned, dev sets) next to the paper (test sets where the paper used them)."
        : "No fine-tuning results for these tasks yet; the paper's values alone.",
      figures: [barsVsPaper(t, ours)],
      tables: [{
        caption: `${t.id.replace("table", "Table ")} (paper)${any ? " and this run" : ""}`,
        rows: paperTableRows(t, any ? ours : undefined),
      }],
    });
  }

  const t5rows: Row[] = ["full", "no-pretrain", "no-aux"].map((v) => {
    const method = TABLE5_VARIANT_NAMES[v];
    const row: Row = { method };
    for (
      const c of cells.filter((c) => c.variant === v)
    ) {
      row[c.task] = c.value;
      row[`${c.task} (paper)`] = c.paper;
    }
    return row;
  });
  sections.push({
    title: "Table 5: ablations",
    text: cells.length
      ? "Our three Transformer variants on each task with data, from the same pre-trained checkpoint; hatched bars are the paper's."
      : "No Table 5 run yet: `deno task gpt1 table5`. The paper's table:",
    figures: cells.length ? [table5Chart(cells)] : [],
    tables: [
      cells.length
        ? { caption: "Table 5: this run (paper)", rows: t5rows }
        : { caption: "Table 5 (paper)", rows: paperTableRows(paper.TABLE5) },
    ],
  });

  const layers = rowsOf<LayerJson>(await readJson(files.layers), "rows");
  sections.push({
    title: "Figure 2 (left): transferring layers",
    text: layers.length
      ? "Accuracy after transferring the first layers of the pre-trained model; dashed: the paper's RACE and MultiNLI."
      : "No layers ablation yet; the paper's curves alone.",
    figures: [layersChart(layers, paper.FIGURE2_LAYERS)],
  });

  const zs = rowsOf<ZeroShotJson>(await readJson(files.zeroshot), "rows");
  sections.push({
    title: "Figure 2 (right): zero-shot behaviour",
    text: zs.length
      ? "Relative zero-shot performance (0 = chance, 1 = the reference score) over the pre-training checkpoints; dashed: the paper's Transformer, dotted (click the legend): its LSTM."
      : "No zero-shot curves yet: `deno task gpt1 zeroshot`. The paper's curves alone.",
    figures: [zeroShotChart(zs, paper.FIGURE2_ZEROSHOT)],
  });
  return sections;
}

type LogLine = { kind: "train" | "valid"; step: number; loss: number; perplexity?: number };
type Table5Json = {
  task: string;
  variant: string;
  metric: string;
  value: number;
  paper: number | null;
};
type LayerJson = { nTransfer: number; train: number; valid: number; task?: string };
type ZeroShotJson = {
  step: number;
  task: string;
  relative: number;
  raw?: number;
  heuristic?: string;
  dataset?: string;
};

/**
 * Zero-shot rows pivoted for a table: one row per checkpoint (`updates`), one column per task
 * with its raw score in the task's metric (`SST-2 (acc)`).
 */
export function zeroShotTable(rows: readonly ZeroShotRow[]): Row[] {
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b);
  const col = (r: ZeroShotRow) => `${r.dataset} (${r.metric})`;
  return steps.map((step) => {
    const row: Row = { updates: step };
    for (const r of rows.filter((r) => r.step === step)) row[col(r)] = r.raw;
    return row;
  });
}

/**
 * Zero-shot rows of the Transformer and the LSTM in one list for {@link zeroShotChart}: the
 * LSTM's tasks become `<task>-lstm` and every dataset label says which model it is.
 */
export function zeroShotBoth(
  gpt: readonly ZeroShotRow[],
  lstm: readonly ZeroShotRow[],
): ZeroShotRow[] {
  if (lstm.length === 0) return [...gpt];
  return [
    ...gpt.map((r) => ({ ...r, dataset: `${r.dataset}, Transformer` })),
    ...lstm.map((r) => ({
      ...r,
      task: `${r.task}-lstm` as ZeroShotTaskName,
      dataset: `${r.dataset}, LSTM`,
    })),
  ];
}

/**
 * Figure 2 right with this run's Transformer (solid) and LSTM (dotted) curves over the paper's
 * (dashed / dotted, the paper's LSTM shown).
 */
export function zeroShotFigure(gpt: readonly ZeroShotRow[], lstm: readonly ZeroShotRow[]): Figure {
  const fig = zeroShotChart(zeroShotBoth(gpt, lstm), paper.FIGURE2_ZEROSHOT, {
    lstm: lstm.length ? "show" : "legendonly",
  });
  for (const t of fig.data) {
    if (t.name.startsWith("this run") && t.name.includes(", LSTM")) {
      t.line = { ...(t.line as Record<string, unknown>), dash: "dot" };
    }
  }
  return fig;
}

/**
 * The report sections of a layout: {@link resultSections} (pre-training curves, Tables 2–5
 * beside the paper, Figure 2 right) with Figure 2 left drawn from every layers ablation.
 */
export async function layoutSections(layout: ResultLayout): Promise<ReportSection[]> {
  const sections = await resultSections({
    run: layout.pretrain,
    table5: join(layout.table5, "table5.json"),
    zeroshot: zeroShotPath(layout),
  });
  const layers = await readLayers(layout);
  const i = sections.findIndex((s) => s.title.startsWith("Figure 2 (left)"));
  if (i >= 0 && layers.length) {
    const tasks = [...new Set(layers.map((r) => r.task))].join(" and ");
    sections[i] = {
      ...sections[i],
      text: `Accuracy on ${tasks} after transferring the embeddings and the first blocks of the ` +
        "pre-trained model (x = 0: nothing, 1: embeddings, k: embeddings + k−1 blocks); solid: " +
        "evaluation split, dotted: training data. Dashed: the paper's RACE and MultiNLI.",
      figures: [layersChart(layers, paper.FIGURE2_LAYERS)],
      tables: [{
        caption: "Layers transferred (this run)",
        rows: layers.map((r) => ({
          task: r.task,
          "layers transferred": r.nTransfer,
          train: r.train,
          [`evaluation`]: r.valid,
          split: r.split,
          n: r.n,
        })),
      }],
    };
  }
  const cells = await readTable5(layout);
  const zs = await readZeroShot(layout.pretrain);
  const lz = await readZeroShot(layout.lstm);
  const lstmLog = await readLog(layout.lstm);
  const lstmCells = cells.filter((c) => c.variant === "lstm");
  const at = (prefix: string) => sections.findIndex((s) => s.title.startsWith(prefix));
  const pre = at("Pre-training");
  if (pre >= 0 && lstmLog.some((r) => r.kind === "valid")) {
    const gptLog = await readLog(layout.pretrain);
    const series = [["Transformer", gptLog], ["LSTM baseline", lstmLog]] as const;
    sections[pre] = {
      ...sections[pre],
      figures: [
        ...(sections[pre].figures ?? []),
        lineChart(
          series.map(([name, log]) => {
            const v = log.filter((r) => r.kind === "valid");
            return { name, x: v.map((r) => r.step), y: v.map((r) => r.loss), markers: true };
          }),
          {
            title: "Validation loss: Transformer vs the LSTM baseline (same data and schedule)",
            x: "pre-training updates",
            y: "validation loss (nats per token)",
          },
        ),
      ],
    };
  }
  const held: Row[] = [];
  for (const [model, dir] of [["Transformer", layout.pretrain], ["LSTM baseline", layout.lstm]]) {
    const ev = await readResult<TextEval>(join(dir, "eval-text.json"));
    if (!ev) continue;
    held.push({
      model,
      text: ev.source.split("/").pop() ?? ev.source,
      tokens: ev.tokens,
      "loss (nats/token)": Number(ev.loss.toFixed(4)),
      "perplexity per token": Number(ev.perplexity.toFixed(2)),
      "perplexity per word": Number(ev.wordPerplexity.toFixed(1)),
    });
  }
  if (pre >= 0 && held.length) {
    sections[pre] = {
      ...sections[pre],
      tables: [...(sections[pre].tables ?? []), {
        caption: "Held-out text (not in the pre-training corpus)",
        rows: held,
      }],
    };
  }
  const t5 = at("Table 5");
  if (t5 >= 0 && lstmCells.length) {
    const row: Row = { method: TABLE5_VARIANT_NAMES.lstm };
    for (const c of lstmCells) {
      row[c.task] = c.value;
      row[`${c.task} (paper)`] = c.paper;
    }
    const table = sections[t5].tables?.[0];
    sections[t5] = {
      ...sections[t5],
      text:
        `${sections[t5].text ?? ""} The last row fine-tunes the LSTM baseline, pre-trained on ` +
        'the same tokens, vocabulary and schedule (the paper\'s "LSTM w/ aux LM").',
      figures: [table5Chart(cells)],
      tables: table ? [{ ...table, rows: [...table.rows, row] }] : [],
    };
  }
  const z = at("Figure 2 (right)");
  if (z >= 0 && lz.length) {
    sections[z] = {
      ...sections[z],
      text: "Relative zero-shot performance (0 = chance, 1 = the reference score) over the " +
        "pre-training checkpoints of this run's Transformer (solid) and LSTM baseline (dotted); " +
        "the paper's Transformer dashed, its LSTM dotted and thin.",
      figures: [zeroShotFigure(zs, lz)],
    };
  }
  const claims = paperClaims({ cells, layers, zeroshot: zs, lstmZeroshot: lz });
  sections.push({
    title: "The paper's claims, checked",
    text: "The paper's qualitative findings next to this run. A small model pre-trained on a CPU " +
      "is not held to the paper's numbers, only to their direction; `–` marks no data yet or " +
      "a finding that is not a requirement.",
    tables: [{ caption: "Claims", rows: claims }],
  });
  return sections;
}

/** A list for a table cell; many `{data}/` files are counted per folder. */
function listText(v: readonly unknown[]): string {
  const data = v.filter((x): x is string => typeof x === "string" && x.startsWith("{data}/"));
  if (data.length <= 3) return v.join(", ");
  const dirs = [...new Set(data.map((x) => x.slice(0, x.lastIndexOf("/") + 1)))];
  return [
    ...v.filter((x) => !data.includes(x as string)),
    `${data.length} files in ${dirs.join(", ")}`,
  ]
    .join(", ");
}

/** Settings as table rows `{setting, value}` (nested keys joined with dots). */
export function settingsRows(s: Readonly<ReproduceSettings>): Row[] {
  const rows: Row[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    } else {
      const text = Array.isArray(v) ? listText(v) : v === null ? "–" : String(v);
      rows.push({ setting: prefix, value: text });
    }
  };
  walk("", { pretrain: s.pretrain, table5: s.table5, layers: s.layers, zeroshot: s.zeroshot });
  return rows;
}
