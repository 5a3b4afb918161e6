/**
 * The fine-tuning protocol of the `small` scale (issue 14): the same selection procedure for
 * every arm, on data held out of the training set only, then several seeds at the chosen
 * setting, reported as mean ± standard deviation. With several training-set sizes it is the
 * label-budget sweep (SST-2 / STS-B at 1k / 4k / 16k / all labels).
 *
 * Per task, arm and training-set size:
 * 1. **Selection.** One fine-tune per learning rate of the grid (default 1e-4, 3e-4, 1e-3;
 *    the paper's 6.25e-5 was tuned for the 117M model on full data) at the base seed, for
 *    `epochs` epochs (default 3). Each run keeps the epoch with the best score on the
 *    validation split `finetune` carves from the training data (a seeded 10%, at most 1,000
 *    examples; see finetune.ts), so the epoch is selected on that split; the learning rate whose
 *    kept model scores best on the same split is chosen (ties: the first in the grid).
 * 2. **Seeds.** `seeds` runs (default 3: base seed, +1, +2; the base-seed run of step 1 is
 *    reused) at the chosen learning rate, each again keeping its best-validation epoch. Every
 *    seed draws its own validation split, training subset and order, head and dropout.
 * 3. **Report.** The dev split (the task's reported split) is scored once per run at the end and
 *    never used for any choice; `summary.json` gives its mean ± sample sd over the seeds. The
 *    GLUE test predictions of an arm come from its seed with the best validation score, copied
 *    to `<out>/glue/<arm>/<TASK>.tsv` (full training set only).
 *
 * Arms: `full` (pre-trained, aux LM λ = 0.5), `no-pretrain` (random init, same config, λ = 0.5),
 * `no-aux` (pre-trained, λ = 0), `lstm` (the LSTM checkpoint `lstmInit`, λ = 0.5).
 *
 * Deviations from the paper (also in the README, "Protocol at small scale"): the paper fine-tunes
 * with lr 6.25e-5 for 3 epochs and reports one run (GLUE test server); here the learning rate is
 * selected per arm from a grid suited to small models, the epoch by early stopping on the
 * held-out split, and 3 seeds are averaged. In the label-budget sweep the budget counts training
 * examples only: the validation split (up to 1,000 held-out training examples) is the same size
 * at every budget, which a real few-label setting would not have.
 *
 * Cells are rows of `<out>/protocol.json` (rewritten after every run by `resumableSweep`, so a
 * killed protocol keeps what finished and `resume` continues it without recomputing a cell).
 *
 * @example
 * ```ts
 * const { rows } = await runProtocol({ task: "sst2", init: "results/small/ckpt-004096.safetensors",
 *   tokenizer, dataRoot: "../shared/datasets", outDir: "results/protocol/sst2", resume: true });
 * rows.map((r) => `${r.arm}: ${r.eval?.mean} ± ${r.eval?.sd}`);
 * ```
 * @module
 */
import { join } from "node:path";
import { FINETUNE_DEFAULTS as FT } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { exists, portablePath, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { submissionFormat } from "./glue_submission.ts";
import type { TaskEncoder } from "./finetune.ts";
import type { ModelKind } from "./language_model.ts";
import { meanSd } from "./metrics.ts";
import { resumableSweep } from "./sweeps.ts";
import type { Progress } from "./progress.ts";
import { planProtocol, type ProtocolPlan } from "./_protocol_plan.ts";

export { planProtocol, type ProtocolPlan };

/** The arms of the protocol (Table 5's rows). */
export const PROTOCOL_ARMS = [
  { key: "full", label: "Transformer w/ aux LM (full)", pretrained: true, auxLm: FT.auxLm },
  { key: "no-pretrain", label: "Transformer w/o pre-training", pretrained: false, auxLm: FT.auxLm },
  { key: "no-aux", label: "Transformer w/o aux LM", pretrained: true, auxLm: 0 },
  { key: "lstm", label: "LSTM w/ aux LM", pretrained: true, auxLm: FT.auxLm },
] as const;

/** An arm's key. */
export type ArmKey = typeof PROTOCOL_ARMS[number]["key"];

/** An arm as a run sees it: pre-trained or not, its aux-LM weight, the blocks it transfers. */
export interface ProtocolArm {
  readonly key: string;
  readonly label: string;
  readonly pretrained: boolean;
  readonly auxLm: number;
  /** Blocks transferred after the embeddings (undefined: all of them; the `layers<k>` arms). */
  readonly transferLayers?: number;
}

/**
 * The arm of a key: one of {@link PROTOCOL_ARMS}, or `layers<k>` — the layers-transferred
 * ablation (Figure 2 left) as protocol arms: the pre-trained Transformer with its embeddings
 * and first k blocks transferred, the rest freshly initialised, λ = 0.5. `no-pretrain` is the
 * sweep's "nothing transferred" end and `full` its "every block" end; each `layers<k>` arm
 * chooses its learning rate the same way as the others. Undefined for an unknown key.
 *
 * @example
 * ```ts
 * import { protocolArm } from "./protocol.ts";
 * protocolArm("layers2")?.transferLayers; // 2
 * ```
 */
export function protocolArm(key: string): ProtocolArm | undefined {
  const a = PROTOCOL_ARMS.find((a) => a.key === key);
  if (a) return a;
  const m = /^layers(\d+)$/.exec(key);
  if (!m) return undefined;
  const k = Number(m[1]);
  return {
    key,
    label: `Transformer, embeddings + ${k} block${k === 1 ? "" : "s"} transferred`,
    pretrained: true,
    auxLm: FT.auxLm,
    transferLayers: k,
  };
}

/** True for a `layers<k>` arm (one point of the layers ablation, not a Table 5 row). */
export function isLayersArm(key: string): boolean {
  return protocolArm(key)?.transferLayers !== undefined;
}

/**
 * Blocks transferred by an arm of an `L`-layer model (pure): -1 nothing (`no-pretrain`),
 * 0 embeddings only, k blocks (`layers<k>`), L (`full`, `no-aux`); undefined for the LSTM or
 * an unknown key. The x axis of the layers chart and of its Spearman ρ.
 */
export function armTransfer(key: string, L: number): number | undefined {
  if (key === "no-pretrain") return -1;
  if (key === "full" || key === "no-aux") return L;
  return protocolArm(key)?.transferLayers;
}

/** The protocol's defaults: the learning-rate grid, epochs, seeds, base seed, batch size. */
export const PROTOCOL_DEFAULTS: Readonly<{
  lrs: readonly number[];
  epochs: number;
  seeds: number;
  seed: number;
  batchSize: number;
}> = Object.freeze({
  lrs: Object.freeze([1e-4, 3e-4, 1e-3]),
  epochs: FT.epochs,
  seeds: 3,
  seed: FT.seed,
  batchSize: FT.batchSize,
});

/** Options of {@link runProtocol}. */
export interface ProtocolOptions {
  /** Task (registry name or title). */
  task: string;
  /** The pre-trained Transformer checkpoint (arms full, no-aux; its config for no-pretrain). */
  init: string;
  /** The pre-trained LSTM checkpoint (arm lstm). */
  lstmInit?: string;
  /** The tokenizer both checkpoints were trained with. */
  tokenizer: TaskEncoder;
  /** Datasets root. */
  dataRoot: string;
  /** Output folder: protocol.json, summary.json, summary.md, runs/, glue/. */
  outDir: string;
  /** Arms to run (default all four; lstm needs `lstmInit`). */
  arms?: readonly string[];
  /** Learning-rate grid. */
  lrs?: readonly number[];
  /** Epochs of every run (the kept epoch is the best on the validation split). */
  epochs?: number;
  /** Seeds at the chosen setting. */
  seeds?: number;
  /** Base seed (selection runs; seeds are base, base+1, ...). */
  seed?: number;
  /** Batch size. */
  batchSize?: number;
  /** Training-set sizes (seeded subsets); null = all (capped by `maxTrain`). Default [null]. */
  trainSizes?: readonly (number | null)[];
  /** Cap on the training examples of the "all" size (a CPU budget; say so where reported). */
  maxTrain?: number;
  /** Cap on validation and dev examples (seeded sample). */
  maxEval?: number;
  /** Keep the finished cells of `<out>/protocol.json` (same settings required). */
  resume?: boolean;
  /**
   * Train nothing: summarise the finished cells of `<out>/protocol.json` (summary.json,
   * summary.md, GLUE files), e.g. after a run was stopped part way (same settings required).
   */
  noTrain?: boolean;
  /** Write GLUE test predictions (default: when the task is a GLUE task with a test file). */
  predictTest?: boolean;
  /** Length-grouped batches (finetune's `groupByLength`). */
  groupByLength?: boolean;
  /** Progress display per run. */
  progress?: (label: string) => Progress;
  /**
   * Folder of the GLUE submission files, one sub-folder per arm (default `<out>/glue`): give
   * every task the same one (e.g. `results/glue`) to get GLUE's one-folder-per-submission
   * layout, `results/glue/full/{CoLA,SST-2,...}.tsv`.
   */
  glueDir?: string;
}

/** One fine-tuning run of the protocol (a row of protocol.json). */
export interface ProtocolCell {
  /** Task registry name. */
  task: string;
  /** Arm key. */
  arm: string;
  /** The model family fine-tuned. */
  model: ModelKind;
  /** Requested training-set size (null = all, capped by maxTrain). */
  labels: number | null;
  /** Peak learning rate. */
  lr: number;
  /** Seed. */
  seed: number;
  /** Training examples actually used. */
  nTrain: number;
  /** The task's metric. */
  metric: string;
  /** Kept model's score on the validation split held out of the training data (points). */
  valid: number;
  /** Validation score after each epoch. */
  validByEpoch: number[];
  /** The kept epoch (1-based). */
  bestEpoch: number;
  /** Kept model's score on (a sample of) its training data. */
  train: number;
  /** Kept model's score on the reported split (never used for selection). */
  eval: number;
  /** Further metrics on the reported split. */
  evalExtra: Record<string, number>;
  /** The reported split. */
  split: string;
  /** Examples scored on the reported split. */
  n: number;
  /** The run folder. */
  run: string;
  /** The run's GLUE submission file, if one was written. */
  testFile: string | null;
}

/** A cell's identity in protocol.json. */
export function cellKey(
  c: { arm: string; labels: number | null; lr: number; seed: number },
): string {
  return `${c.arm}|${c.labels ?? "all"}|${c.lr}|${c.seed}`;
}

/** Mean ± sd over seeds. */
export interface Spread {
  /** Mean. */
  mean: number;
  /** Sample standard deviation (0 for one seed). */
  sd: number;
  /** Seeds. */
  n: number;
}

/** One arm at one training-set size, summarised (a row of summary.json). */
export interface ProtocolRow {
  /** Task. */
  task: string;
  /** Arm key. */
  arm: string;
  /** Requested training-set size (null = all). */
  labels: number | null;
  /** Training examples used (the seeds' mean; subsets are seeded, sizes agree unless capped). */
  nTrain: number;
  /** Metric. */
  metric: string;
  /** The grid at the base seed: validation score and kept epoch per learning rate. */
  grid: { lr: number; valid: number; bestEpoch: number }[];
  /** The chosen learning rate (best validation score of the grid), or null before selection. */
  lr: number | null;
  /** Seeds done at the chosen learning rate. */
  seeds: number[];
  /** Reported-split score over the seeds. */
  eval: Spread | null;
  /** Examples scored on the reported split (the smallest over the seeds; 0 before any). */
  nEval: number;
  /** Validation score over the seeds. */
  valid: Spread | null;
  /** The seeds' kept epochs. */
  epochs: number[];
  /** All `seeds` runs finished. */
  complete: boolean;
  /** The seed with the best validation score (its test predictions are the arm's). */
  bestSeed: number | null;
  /** That seed's GLUE submission file, if any. */
  testFile: string | null;
}

/**
 * The learning rate chosen from the grid cells of one arm and size at the base seed: the best
 * validation score, ties to the first of `lrs`. Null when a grid cell is missing. Pure.
 */
export function chooseLr(
  cells: readonly ProtocolCell[],
  lrs: readonly number[],
): number | null {
  let best: number | null = null, bestValid = -Infinity;
  for (const lr of lrs) {
    const c = cells.find((c) => c.lr === lr);
    if (!c) return null;
    if (c.valid > bestValid) {
      best = lr;
      bestValid = c.valid;
    }
  }
  return best;
}

/** One curve of the layers-transferred ablation under the protocol: a task at one label budget. */
export interface LayersCurve<R> {
  task: string;
  /** Training-set size of the curve (null: the full set). */
  labels: number | null;
  /** Its points by transfer count: -1 nothing (`no-pretrain`), 0 embeddings, … L (`full`). */
  points: { transfer: number; row: R }[];
}

/**
 * The layers curves in protocol rows (pure): for every task and training-set size with at least
 * one `layers<k>` arm, the rows of `no-pretrain`, `layers<k>` and `full` ordered by blocks
 * transferred (`no-aux` and the LSTM left out). Rows without a finished seed are left out.
 */
export function layersCurves<
  R extends { task: string; arm: string; labels: number | null; eval: unknown },
>(rows: readonly R[], nLayer: number): LayersCurve<R>[] {
  const done = rows.filter((r) => r.eval !== null);
  const keys = [
    ...new Set(
      done.filter((r) => isLayersArm(r.arm))
        .map((r) => `${r.task}|${r.labels ?? "all"}`),
    ),
  ];
  return keys.map((k) => {
    const [task, size] = k.split("|");
    const labels = size === "all" ? null : Number(size);
    const points = done.filter((r) => r.task === task && r.labels === labels && r.arm !== "no-aux")
      .flatMap((row) => {
        const transfer = armTransfer(row.arm, nLayer);
        return transfer === undefined ? [] : [{ transfer, row }];
      })
      .sort((a, b) => a.transfer - b.transfer);
    return { task, labels, points };
  });
}

/**
 * Summarises protocol cells into one row per arm and training-set size (pure): the grid, the
 * chosen learning rate, mean ± sd of the reported and validation scores over the seeds, the
 * best-validation seed.
 */
export function summarizeProtocol(
  cells: readonly ProtocolCell[],
  opts: { lrs: readonly number[]; seeds: number; seed: number },
): ProtocolRow[] {
  const groups = new Map<string, ProtocolCell[]>();
  for (const c of cells) {
    const k = `${c.task}|${c.arm}|${c.labels ?? "all"}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const rows: ProtocolRow[] = [];
  for (const cs of groups.values()) {
    const grid = opts.lrs.flatMap((lr) => {
      const c = cs.find((c) => c.lr === lr && c.seed === opts.seed);
      return c ? [{ lr, valid: c.valid, bestEpoch: c.bestEpoch }] : [];
    });
    const lr = chooseLr(cs.filter((c) => c.seed === opts.seed), opts.lrs);
    const wanted = Array.from({ length: opts.seeds }, (_, i) => opts.seed + i);
    const runs = lr === null
      ? []
      : wanted.flatMap((s) => cs.filter((c) => c.lr === lr && c.seed === s));
    let best: ProtocolCell | null = null;
    for (const c of runs) if (!best || c.valid > best.valid) best = c;
    rows.push({
      task: cs[0].task,
      arm: cs[0].arm,
      labels: cs[0].labels,
      nTrain: runs.length ? runs.reduce((s, c) => s + c.nTrain, 0) / runs.length : cs[0].nTrain,
      metric: cs[0].metric,
      grid,
      lr,
      seeds: runs.map((c) => c.seed),
      eval: runs.length ? meanSd(runs.map((c) => c.eval)) : null,
      nEval: runs.length ? Math.min(...runs.map((c) => c.n)) : 0,
      valid: runs.length ? meanSd(runs.map((c) => c.valid)) : null,
      epochs: runs.map((c) => c.bestEpoch),
      complete: runs.length === opts.seeds,
      bestSeed: best?.seed ?? null,
      testFile: best?.testFile ?? null,
    });
  }
  const armOrder = (a: string) => {
    const i = PROTOCOL_ARMS.findIndex((x) => x.key === a);
    return i >= 0 ? i : PROTOCOL_ARMS.length + (protocolArm(a)?.transferLayers ?? 1e6);
  };
  return rows.sort((a, b) =>
    a.task.localeCompare(b.task) || armOrder(a.arm) - armOrder(b.arm) ||
    (a.labels ?? Infinity) - (b.labels ?? Infinity)
  );
}

const fmt = (s: Spread | null) => s ? `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)} (n=${s.n})` : "–";

/** Protocol rows as a Markdown table (pure). */
export function protocolMarkdown(rows: readonly ProtocolRow[]): string {
  const out = [
    "| task | arm | labels | lr (chosen on valid) | epochs kept | valid | dev (reported) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    out.push(
      `| ${r.task} | ${r.arm} | ${r.labels ?? `all (${Math.round(r.nTrain)})`} | ${r.lr ?? "–"} | ${
        r.epochs.join(", ") || "–"
      } | ${fmt(r.valid)} | ${fmt(r.eval)} (${r.metric})${r.complete ? "" : " incomplete"} |`,
    );
  }
  return out.join("\n") + "\n";
}

/** A cell's run folder under `<out>/runs/`, e.g. `full-all-lr0.0003-s42`, `lstm-n1000-lr0.001-s43`. */
export function runName(arm: string, labels: number | null, lr: number, seed: number): string {
  return `${arm}-${labels === null ? "all" : `n${labels}`}-lr${lr}-s${seed}`;
}

/** The settings that shape every cell: a resumed protocol must keep them. */
function cellSettings(
  o: Required<Pick<ProtocolOptions, "epochs" | "seed" | "batchSize">> & {
    task: string;
    init: string;
    lstmInit: string | null;
    maxTrain: number | null;
    maxEval: number | null;
    groupByLength: boolean;
  },
) {
  return o;
}

/** What {@link runProtocol} returns. */
export interface ProtocolResult {
  /** Every run. */
  cells: ProtocolCell[];
  /** The summary (also `<out>/summary.json` and `summary.md`). */
  rows: ProtocolRow[];
  /** GLUE submission files copied to `<out>/glue/<arm>/`. */
  glueFiles: string[];
}

/**
 * Runs the protocol (module doc) for one task: selection, seeds, summary; resumable. Writes
 * `<out>/protocol.json` (cells), `<out>/summary.json`, `<out>/summary.md`, one run folder per
 * cell under `<out>/runs/`, and `<out>/glue/<arm>/<TASK>.tsv` for GLUE tasks with a test file.
 */
export async function runProtocol(opts: ProtocolOptions): Promise<ProtocolResult> {
  const { finetune, resolveTaskDir } = await import("./finetune.ts");
  const { getTask } = await import("./tasks/mod.ts");
  const { readCheckpointInfo } = await import("./checkpoint.ts");
  const { readTestIds } = await import("./glue_submission.ts");
  const task = getTask(opts.task);
  const lrs = [...(opts.lrs ?? PROTOCOL_DEFAULTS.lrs)];
  const nSeeds = opts.seeds ?? PROTOCOL_DEFAULTS.seeds;
  const seed0 = opts.seed ?? PROTOCOL_DEFAULTS.seed;
  const asked = [...(opts.trainSizes ?? [null])];
  const arms = (opts.arms ?? PROTOCOL_ARMS.map((a) => a.key)).map((k) => {
    const a = protocolArm(k);
    if (!a) {
      throw new ConfigError(`unknown arm ${k}`, {
        fix: `use ${
          PROTOCOL_ARMS.map((a) => a.key).join(", ")
        } or layers<k> (k blocks transferred)`,
      });
    }
    if (a.key === "lstm" && !opts.lstmInit) {
      throw new ConfigError("the lstm arm needs the LSTM checkpoint", { fix: "pass --lstm-init" });
    }
    return a;
  });
  if (lrs.length === 0 || lrs.some((x) => !(x > 0))) {
    throw new ConfigError(`learning rates ${lrs}`, { fix: "positive numbers, e.g. 1e-4,3e-4" });
  }
  if (!(nSeeds >= 1)) throw new ConfigError(`seeds ${nSeeds}`, { fix: "at least 1" });
  for (const s of asked) {
    if (s !== null && !(Number.isSafeInteger(s) && s > 0)) {
      throw new ConfigError(`training-set size ${s}`, { fix: "positive integers or all" });
    }
  }
  // a size at or above what the task has (after the hold-out and --max-train) is the full set
  const { available } = await protocolPlan({ ...opts, trainSizes: [null] });
  const full = Math.min(available, opts.maxTrain ?? Infinity);
  const sizes = [...new Set(asked.map((s) => (s !== null && s >= full ? null : s)))];
  const settings = cellSettings({
    task: task.name,
    init: portablePath(opts.init),
    lstmInit: opts.lstmInit ? portablePath(opts.lstmInit) : null,
    epochs: opts.epochs ?? PROTOCOL_DEFAULTS.epochs,
    seed: seed0,
    batchSize: opts.batchSize ?? PROTOCOL_DEFAULTS.batchSize,
    maxTrain: opts.maxTrain ?? null,
    maxEval: opts.maxEval ?? null,
    groupByLength: opts.groupByLength ?? false,
  });
  const path = join(opts.outDir, "protocol.json");
  if (opts.noTrain && !(await exists(path))) {
    throw new ConfigError("there is no protocol.json to summarise", {
      file: path,
      fix: "run the protocol first (without --no-train)",
    });
  }
  if ((opts.resume || opts.noTrain) && (await exists(path))) {
    const old = JSON.parse(await Deno.readTextFile(path)).settings;
    if (JSON.stringify(old) !== JSON.stringify(settings)) {
      throw new ConfigError(
        `protocol.json was made with other settings (${JSON.stringify(old)})`,
        { file: path, fix: "resume with the same options, or use a new --out" },
      );
    }
  }
  const config = (await readCheckpointInfo(opts.init)).config;
  const { numLayers } = await import("./language_model.ts");
  for (const a of arms) {
    if (a.transferLayers !== undefined && a.transferLayers >= numLayers(config)) {
      throw new ConfigError(`arm ${a.key}: the checkpoint has ${numLayers(config)} blocks`, {
        fix: `use layers0..layers${numLayers(config) - 1} (full transfers all of them)`,
      });
    }
  }
  const taskDir = await resolveTaskDir(opts.dataRoot, task);
  const isGlue = (() => {
    try {
      submissionFormat(task.name);
      return true;
    } catch {
      return false;
    }
  })();
  const predictTest = opts.predictTest ??
    (isGlue && await readTestIds(task.name, taskDir).then(() => true, () => false));
  await Deno.mkdir(opts.outDir, { recursive: true });

  const runCell = async (key: string): Promise<ProtocolCell> => {
    const [armKey, size, lrS, seedS] = key.split("|");
    const arm = arms.find((a) => a.key === armKey)!;
    const labels = size === "all" ? null : Number(size);
    const lr = Number(lrS), seed = Number(seedS);
    const cap = labels === null
      ? settings.maxTrain ?? undefined
      : Math.min(labels, settings.maxTrain ?? Infinity);
    const name = runName(arm.key, labels, lr, seed);
    const run = join(opts.outDir, "runs", name);
    const init = arm.key === "lstm" ? opts.lstmInit! : arm.pretrained ? opts.init : "none";
    const r = await finetune({
      task: task.name,
      dataRoot: opts.dataRoot,
      init,
      config,
      tokenizer: opts.tokenizer,
      auxLm: arm.auxLm,
      ...(arm.transferLayers !== undefined ? { transferLayers: arm.transferLayers } : {}),
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      lr,
      seed,
      maxTrain: cap,
      maxEval: settings.maxEval ?? undefined,
      groupByLength: settings.groupByLength,
      outDir: run,
      predictTest: predictTest ? join(run, "test") : undefined,
      ...(opts.progress ? { progress: opts.progress(`${task.title} ${name}`) } : {}),
    });
    const cfg = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    return {
      task: task.name,
      arm: arm.key,
      model: arm.key === "lstm" ? "lstm" : "gpt1",
      labels,
      lr,
      seed,
      nTrain: cfg.sizes.train,
      metric: r.eval.metric,
      valid: r.valid.value,
      validByEpoch: r.validByEpoch,
      bestEpoch: r.bestEpoch,
      train: r.train.value,
      eval: r.eval.value,
      evalExtra: r.eval.extra as Record<string, number>,
      split: r.eval.split,
      n: r.eval.n,
      run: portablePath(run),
      testFile: r.testFile ? portablePath(r.testFile) : null,
    };
  };
  let first = true;
  const sweep = async (keys: string[]) => {
    const cells = await resumableSweep<string, ProtocolCell>({
      path,
      listName: "cells",
      keys,
      keyOf: cellKey,
      skipDone: first ? opts.resume : true,
      run: runCell,
      header: () => ({ settings, lrs, seeds: nSeeds, arms: arms.map((a) => a.key), sizes }),
    });
    first = false;
    return cells;
  };
  const sizeKey = (s: number | null) => s ?? "all";
  let cells: ProtocolCell[] = [];
  if (opts.noTrain) cells = JSON.parse(await Deno.readTextFile(path)).cells ?? [];
  for (const size of opts.noTrain ? [] : sizes) {
    // 1. selection: the grid at the base seed
    cells = await sweep(
      arms.flatMap((a) => lrs.map((lr) => `${a.key}|${sizeKey(size)}|${lr}|${seed0}`)),
    );
    // 2. seeds at each arm's chosen learning rate
    const keys: string[] = [];
    for (const a of arms) {
      const grid = cells.filter((c) => c.arm === a.key && c.labels === size && c.seed === seed0);
      const lr = chooseLr(grid, lrs)!;
      for (let i = 0; i < nSeeds; i++) keys.push(`${a.key}|${sizeKey(size)}|${lr}|${seed0 + i}`);
    }
    cells = await sweep(keys);
  }
  // every cell of the file (a label-budget call into the folder of the main protocol keeps the
  // other arms' rows and reuses its `all` cells: same keys, same settings)
  const rows = summarizeProtocol(cells, { lrs, seeds: nSeeds, seed: seed0 });
  const glueFiles: string[] = [];
  for (const r of rows) {
    if (r.labels !== null || !r.complete || !r.testFile) continue;
    const glue = opts.glueDir ?? join(opts.outDir, "glue");
    const file = join(glue, r.arm, submissionFormat(task.name).file);
    await Deno.mkdir(join(glue, r.arm), { recursive: true });
    const src = join(opts.outDir, "runs", runName(r.arm, null, r.lr!, r.bestSeed!), "test");
    await writeFileAtomic(
      file,
      await Deno.readTextFile(join(src, submissionFormat(task.name).file)),
    );
    glueFiles.push(file);
  }
  await writeJsonAtomic(join(opts.outDir, "summary.json"), {
    task: task.name,
    settings,
    lrs,
    seeds: nSeeds,
    protocol: "lr chosen on the held-out validation split (base seed), epoch kept by best " +
      "validation score, mean ± sample sd over seeds on the reported split",
    rows,
  });
  await writeFileAtomic(join(opts.outDir, "summary.md"), protocolMarkdown(rows));
  return { cells, rows, glueFiles };
}

/**
 * {@link planProtocol} for a task's data: counts its labeled training examples (less the
 * validation hold-out finetune makes, when the task has no validation split of its own).
 */
export async function protocolPlan(
  opts: Pick<
    ProtocolOptions,
    | "task"
    | "dataRoot"
    | "arms"
    | "lrs"
    | "seeds"
    | "epochs"
    | "batchSize"
    | "trainSizes"
    | "maxTrain"
  >,
): Promise<ProtocolPlan> {
  const { resolveTaskDir, taskSplits, validHoldOut } = await import("./finetune.ts");
  const { getTask } = await import("./tasks/mod.ts");
  const task = getTask(opts.task);
  const splits = taskSplits(task);
  const dir = await resolveTaskDir(opts.dataRoot, task);
  const ex = (await task.load(dir, splits.train)).examples;
  const n = ex.filter((e) => (e as { label?: number }).label !== undefined).length;
  return planProtocol({
    task: task.name,
    available: splits.valid ? n : n - validHoldOut(n),
    arms: (opts.arms ?? PROTOCOL_ARMS.map((a) => a.key)).length,
    lrs: (opts.lrs ?? PROTOCOL_DEFAULTS.lrs).length,
    seeds: opts.seeds ?? PROTOCOL_DEFAULTS.seeds,
    epochs: opts.epochs ?? PROTOCOL_DEFAULTS.epochs,
    batchSize: opts.batchSize ?? PROTOCOL_DEFAULTS.batchSize,
    sizes: opts.trainSizes ?? [null],
    maxTrain: opts.maxTrain,
  });
}
