/**
 * The run-folder contract: what a pre-training, fine-tuning or reproduce folder holds and the one
 * reader of each file. Writers (train.ts, finetune.ts, the pipeline) and readers (reports,
 * notebooks, the claims) both name files through here.
 *
 * ```
 * <pretrain run>/log.jsonl                 LogRecord per line (train and valid)
 * <pretrain run>/ckpt-<step>.safetensors   checkpointName(step), listed by listCheckpoints
 * <pretrain run>/zeroshot.json             zeroShotPath (read by zeroshot.ts's readZeroShot)
 * <table5>/table5.json, <table5>/<task>-<variant>/   readTable5, table5RunDir
 * <layers-task>/layers.json                readLayers
 * ```
 * A reproduce output folder is laid out by {@link reproduceLayout}; the committed results by
 * {@link committedLayout}.
 *
 * @example
 * ```ts
 * const log = await readLog("results/small"); // LogRecord[]
 * const cells = await readTable5(committedLayout());
 * ```
 * @module
 */
import { join } from "node:path";
import { CheckpointError, DataError } from "./errors.ts";
import { exists, REPO_ROOT } from "./fsutil.ts";
import type { ModelKind } from "./language_model.ts";
import { TABLE5, TABLE5_VARIANT_NAMES, type ZeroShotTask } from "./paper.ts";
import { getTask, type Split } from "./tasks/mod.ts";

// ---------------------------------------------------------------------------------------------
// pre-training run folders

/** One line of `log.jsonl`. */
export interface LogRecord {
  /** `train` (a training step) or `valid` (a validation evaluation). */
  kind: "train" | "valid";
  /** Updates done when the record was written (1-based for train: after update `step`). */
  step: number;
  /** Mean cross-entropy (nats per token). */
  loss: number;
  /** Learning rate used by the update (train only). */
  lr?: number;
  /** Global gradient norm before clipping (train only). */
  gradNorm?: number;
  /** Training throughput over the last logging interval (train only). */
  tokensPerSec?: number;
  /** Tokens seen so far. */
  tokens: number;
  /** Backend that ran the step. */
  backend: string;
  /** Seconds since the run (or its resumption) started. */
  wallSec: number;
  /** Perplexity = exp(loss) (valid only). */
  perplexity?: number;
}

/** The checkpoint file of a run at `step` (`ckpt-000128.safetensors`). */
export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(6, "0")}.safetensors`;
}

/** Lists a run folder's `ckpt-<step>.safetensors` files, sorted by step. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; path: string }[]> {
  const out: { step: number; path: string }[] = [];
  const st = await Deno.stat(runDir).catch(() => null);
  if (!st?.isDirectory) {
    throw new DataError(st ? "a run folder is expected, not a file" : "no such run folder", {
      file: runDir,
      fix: "pass the pre-training run folder holding ckpt-<step>.safetensors " +
        "(or zeroshot --init <checkpoint|gpt1> for one checkpoint)",
    });
  }
  for await (const e of Deno.readDir(runDir)) {
    const m = /^ckpt-(\d+)\.safetensors$/.exec(e.name);
    if (e.isFile && m) out.push({ step: Number(m[1]), path: join(runDir, e.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The checkpoints of a run to evaluate: every `ckpt-<step>.safetensors`, or only the given
 * `steps`; CheckpointError when none is left (the run has not been pre-trained yet).
 */
export async function runCheckpoints(
  runDir: string,
  steps?: readonly number[],
): Promise<{ step: number; path: string }[]> {
  let ckpts = await listCheckpoints(runDir);
  if (steps) ckpts = ckpts.filter((c) => steps.includes(c.step));
  if (ckpts.length === 0) {
    throw new CheckpointError("no ckpt-<step>.safetensors files in the run folder", {
      file: runDir,
      fix: "pre-train first (deno task gpt1 pretrain --out <run>)",
    });
  }
  return ckpts;
}

/**
 * The lines of a JSON-lines text: each non-blank line with its 1-based number and its value
 * (`undefined` when the line is not JSON). The one parser of `log.jsonl` and other JSONL files.
 */
export function jsonLines(text: string): { line: number; text: string; value: unknown }[] {
  const out: { line: number; text: string; value: unknown }[] = [];
  text.split("\n").forEach((l, i) => {
    if (!l.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch {
      value = undefined;
    }
    out.push({ line: i + 1, text: l, value });
  });
  return out;
}

/** The objects of a JSON-lines file, or `[]` when it is not there; a DataError on a bad line. */
export async function readJsonl<T>(path: string): Promise<T[]> {
  if (!(await exists(path))) return [];
  return jsonLines(await Deno.readTextFile(path)).map((l) => {
    if (l.value === undefined) {
      throw new DataError("not a JSON line", {
        file: path,
        line: l.line,
        fix: "delete the line (a resumed run rewrites it)",
      });
    }
    return l.value as T;
  });
}

/** The records of a pre-training run's `log.jsonl` (train and validation), or `[]`. */
export async function readLog(runDir: string): Promise<LogRecord[]> {
  return await readJsonl<LogRecord>(join(runDir, "log.jsonl"));
}

/**
 * Drops the records of `log.jsonl` at `path` past `step` (a resumed run rewrites them
 * identically); lines that are not JSON go too.
 */
export async function truncateLog(path: string, step: number): Promise<void> {
  if (!(await exists(path))) return;
  const keep = jsonLines(await Deno.readTextFile(path)).filter((l) =>
    l.value !== undefined && (l.value as LogRecord).step <= step
  );
  await Deno.writeTextFile(path, keep.map((l) => l.text + "\n").join(""));
}

// ---------------------------------------------------------------------------------------------
// result layouts

/** The folders of one set of results. The zero-shot curves are `<pretrain>/zeroshot.json`. */
export interface ResultLayout {
  /** Pre-training run folder (`log.jsonl`, `ckpt-*.safetensors`, `vocab/`, `zeroshot.json`). */
  pretrain: string;
  /** Table 5 folder (`table5.json`, `table5.md`, one folder per fine-tuning run). */
  table5: string;
  /** One layers-ablation folder (`layers.json`) per task. */
  layers: Readonly<Record<string, string>>;
  /** The LSTM baseline's pre-training run folder (with its own `zeroshot.json`). */
  lstm: string;
  /** Table 5's LSTM row (`table5.json` of `full` fine-tunes from the LSTM checkpoint). */
  table5Lstm: string;
}

/** The pre-training folder of a model kind. */
export function pretrainDir(layout: ResultLayout, model: ModelKind = "gpt1"): string {
  return model === "lstm" ? layout.lstm : layout.pretrain;
}

/** The layout `reproduce` writes under `outDir`. */
export function reproduceLayout(outDir: string, layersTasks: readonly string[]): ResultLayout {
  return {
    pretrain: join(outDir, "pretrain"),
    table5: join(outDir, "table5"),
    layers: Object.fromEntries(layersTasks.map((t) => [t, join(outDir, `layers-${t}`)])),
    lstm: join(outDir, "pretrain-lstm"),
    table5Lstm: join(outDir, "table5-lstm"),
  };
}

/** The committed results of the `small` scale (read-only: no stage ever writes there). */
export function committedLayout(root: string = REPO_ROOT): ResultLayout {
  const r = (p: string) => join(root, "results", p);
  return {
    pretrain: r("small"),
    table5: r("table5"),
    layers: { rte: r("layers-rte"), storycloze: r("layers-storycloze") },
    lstm: r("small-lstm"),
    table5Lstm: r("table5-lstm"),
  };
}

/** The zero-shot file of a layout (of the Transformer, or of the LSTM). */
export function zeroShotPath(layout: ResultLayout, model: ModelKind = "gpt1"): string {
  return join(pretrainDir(layout, model), "zeroshot.json");
}

/** The folder of one Table 5 run (`<table5>/<task>-<variant>`, as `runTable5` names it). */
export function table5RunDir(layout: ResultLayout, task: string, variant: string): string {
  return join(layout.table5, `${task}-${variant}`);
}

/** Reads a JSON file of a layout, or null when it is not there. */
export async function readResult<T>(path: string): Promise<T | null> {
  if (!(await exists(path))) return null;
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

// ---------------------------------------------------------------------------------------------
// result files

/** One cell of our Table 5. */
export interface Table5Cell {
  /** Task registry name. */
  task: string;
  /** Variant key (`full`, `no-pretrain`, `no-aux`; `lstm` in views that merge the LSTM row). */
  variant: string;
  /** The model fine-tuned (absent: `gpt1`, as in files written before the LSTM row). */
  model?: "gpt1" | "lstm";
  /** The paper's metric. */
  metric: string;
  /** Our score (paper points). */
  value: number;
  /** Split reported. */
  split: string;
  /** Examples scored. */
  n: number;
  /** Training examples used. */
  nTrain: number;
  /** The `maxTrain` cap of the run (null: none; absent in files written before it was kept). */
  maxTrain?: number | null;
  /** The `maxEval` cap of the run (null: none). */
  maxEval?: number | null;
  /** The paper's score for this cell, when Table 5 has it. */
  paper: number | null;
  /** Run folder. */
  run: string;
}

/** One point of the layers-transferred ablation (Figure 2 left). */
export interface LayersRow {
  /** Task registry name. */
  task: string;
  /** Blocks transferred as in the original `n_transfer`: -1 nothing, 0 embeddings, k blocks. */
  nTransfer: number;
  /** The paper's x axis: `nTransfer + 1` (0 = nothing, 1 = embeddings, ...). */
  x: number;
  /** Metric name. */
  metric: string;
  /** Score on (a sample of) the training data, paper points. */
  train: number;
  /** Score on the evaluation split, paper points. */
  valid: number;
  /** Evaluation split. */
  split: string;
  /** Examples scored on the evaluation split. */
  n: number;
  /** Run folder. */
  run: string;
}

/** The cells of a layout's `table5.json`, or `[]` when there is none. */
export async function readTable5(layout: ResultLayout): Promise<Table5Cell[]> {
  const j = await readResult<{ cells?: Table5Cell[] }>(join(layout.table5, "table5.json"));
  const l = await readResult<{ cells?: Table5Cell[] }>(join(layout.table5Lstm, "table5.json"));
  const lstmRow = TABLE5.rows.find((r) => r.method === TABLE5_VARIANT_NAMES.lstm)?.scores ?? {};
  const lstm = (l?.cells ?? []).filter((c) => c.variant === "full").map((c) => ({
    ...c,
    variant: "lstm",
    paper: lstmRow[c.task] ?? null,
  }));
  return [...(j?.cells ?? []), ...lstm];
}

/**
 * A point of Figure 2 left as charted (a `plot.ts` `LayerRow` with its task, metric, split, n):
 * `nTransfer` on the paper's axis (0 = nothing).
 */
export interface LayersPoint {
  /** Layers transferred, on the paper's axis (0 = none, 1 = embeddings, k = embeddings + k−1 blocks). */
  nTransfer: number;
  /** Train score (points). */
  train: number;
  /** Score on the evaluation split (points). */
  valid: number;
  /** Task title (legend). */
  task: string;
  /** Metric. */
  metric: string;
  /** Evaluation split. */
  split: string;
  /** Examples scored. */
  n: number;
}

/**
 * The layers ablations of a layout as chart rows: `ablateLayers`' `x` (the paper's axis:
 * 0 = nothing, 1 = embeddings, k = embeddings + k−1 blocks) becomes `nTransfer`, the axis
 * {@link layersChart} draws. Missing files give no rows.
 */
export async function readLayers(layout: ResultLayout): Promise<LayersPoint[]> {
  const out: LayersPoint[] = [];
  for (const [task, dir] of Object.entries(layout.layers)) {
    const path = join(dir, "layers.json");
    if (!(await exists(path))) continue;
    let rows: LayersRow[];
    try {
      const j = JSON.parse(await Deno.readTextFile(path));
      rows = Array.isArray(j) ? j : j.rows;
      if (!Array.isArray(rows)) throw new Error("no rows array");
    } catch (e) {
      throw new DataError(`cannot read the layers ablation: ${(e as Error).message}`, {
        file: path,
        fix: "rerun the ablation (deno task gpt1 ablate-layers) or delete the file",
      });
    }
    const title = getTask(task).title;
    for (const r of rows) {
      out.push({
        task: title,
        nTransfer: r.x ?? r.nTransfer + 1,
        train: r.train,
        valid: r.valid,
        metric: r.metric,
        split: r.split,
        n: r.n,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// zero-shot curves (written by zeroShotCurves)

/** The tasks of `zeroShotCurves` (`zeroshot.ts`). */
export type ZeroShotTaskName = "sst2" | "cola" | "storycloze" | "race" | "wsc";

/** How one task is evaluated and normalised. */
export interface ZeroShotTaskInfo {
  /** Figure 2's name of the heuristic. */
  heuristic: ZeroShotTask;
  /** Dataset as printed. */
  dataset: string;
  /** Split reported (WSC: the WSC273 subset). */
  split: Split | "wsc273";
  /** Metric (points). */
  metric: "acc" | "mcc";
  /** Chance level in points: 50 for two classes / candidates, 25 for RACE, 0 for MCC. */
  chance: number;
  /** The score that counts as relative performance 1, in points. */
  reference: number;
  /** Where the reference comes from. */
  referenceSource: string;
}

/** One point of a curve: one task on one checkpoint. */
export interface ZeroShotRow extends ZeroShotTaskInfo {
  /** Pre-training updates of the checkpoint. */
  step: number;
  /** Task key. */
  task: ZeroShotTaskName;
  /** Metric value in points. */
  raw: number;
  /** `(raw - chance) / (reference - chance)`. */
  relative: number;
  /** Examples scored. */
  n: number;
  /**
   * Accuracy tasks: the accuracy (points) of always answering the most frequent gold label of
   * the scored sample (e.g. 52.25 on the SST-2 sample). Absent in files written before it.
   */
  majority?: number;
  /**
   * Share (points) of the most frequent prediction: 100 means the heuristic gave every example
   * the same answer (its score is then the class balance, not the model).
   */
  predictedShare?: number;
  /** CoLA only: the threshold on the mean log-prob, chosen on `nTrain` train sentences. */
  threshold?: number;
  /** CoLA only: train sentences the threshold was chosen on. */
  nTrain?: number;
  /** Seconds this evaluation took. */
  seconds: number;
}

/** The content of `<run>/zeroshot.json`. */
export interface ZeroShotFile {
  /** `gpt1-lab/zeroshot-1`. */
  format: string;
  /** What relative performance means, per task (also repeated in every row). */
  normalisation: string;
  /** The rows, sorted by step then task. */
  rows: ZeroShotRow[];
}

/** Reads `<runDir>/zeroshot.json` (its rows), or `[]` when there is none. */
export async function readZeroShot(runDir: string): Promise<ZeroShotRow[]> {
  const path = join(runDir, "zeroshot.json");
  if (!(await exists(path))) return [];
  try {
    const f = JSON.parse(await Deno.readTextFile(path)) as ZeroShotFile;
    if (!Array.isArray(f.rows)) throw new Error("no rows array");
    return f.rows;
  } catch (e) {
    throw new CheckpointError(`cannot read zero-shot results: ${(e as Error).message}`, {
      file: path,
      fix: "delete the file (or pass force) to recompute every point",
    });
  }
}
