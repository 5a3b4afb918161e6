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
 * This file runs the protocol ({@link runProtocol}, {@link protocolPlan}); the arms are in
 * `_protocol_arms.ts`, the summary of finished cells (the chosen learning rate, mean ± sd, the
 * seed whose GLUE file is the arm's, summary.md) in `_protocol_summary.ts` and the plan's
 * arithmetic in `_protocol_plan.ts`, each re-exported here.
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
import { resumableSweep } from "./sweeps.ts";
import type { Progress } from "./progress.ts";
import { planProtocol, type ProtocolPlan } from "./_protocol_plan.ts";
import { PROTOCOL_ARMS, protocolArm } from "./_protocol_arms.ts";
import {
  chooseLr,
  type ProtocolCell,
  protocolMarkdown,
  type ProtocolRow,
  summarizeProtocol,
} from "./_protocol_summary.ts";

export { planProtocol, type ProtocolPlan };
export {
  type ArmKey,
  armTransfer,
  isLayersArm,
  PROTOCOL_ARMS,
  type ProtocolArm,
  protocolArm,
} from "./_protocol_arms.ts";
export {
  chooseLr,
  type LayersCurve,
  layersCurves,
  type ProtocolCell,
  protocolMarkdown,
  type ProtocolRow,
  type Spread,
  summarizeProtocol,
} from "./_protocol_summary.ts";

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

/** A cell's identity in protocol.json. */
export function cellKey(
  c: { arm: string; labels: number | null; lr: number; seed: number },
): string {
  return `${c.arm}|${c.labels ?? "all"}|${c.lr}|${c.seed}`;
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
