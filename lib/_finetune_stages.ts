/**
 * The fine-tuning stages (internal; re-exported by `stages.ts`): Table 5 ({@link runTable5Stage})
 * and the layers-transferred ablation ({@link runLayersStage}), each also as a session a
 * notebook fills with its own `finetune` calls ({@link openTable5Stage},
 * {@link openLayersStage}), recorded as the stage records them.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { type ModelConfig, type ModelKind, numLayers } from "./language_model.ts";
import type { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import type { FinetuneResult } from "./finetune.ts";
import { readCheckpointInfo } from "./checkpoint.ts";
import { claim, finishStamp, stageKey } from "./_stamps.ts";
import {
  type LayersRow,
  pretrainDir,
  readResult,
  type ResultLayout,
  type Table5Cell,
} from "./runs.ts";
import { loadVocab } from "./vocab.ts";
import {
  ablateLayers,
  layersHeader,
  layersRow,
  layersRunDir,
  runTable5,
  table5Cell,
  table5Header,
  table5Markdown,
  transferCounts,
} from "./sweeps.ts";
import { getTask } from "./tasks/mod.ts";
import {
  capsFor,
  type LayersStageSettings,
  type ReproduceSettings,
  type Table5StageSettings,
} from "./settings.ts";
import {
  ctxDefaults,
  elapsed,
  finalCheckpoint,
  lstmOff,
  needFinished,
  reused,
  skipped,
  type StageContext,
  stageName,
  type StageResult,
  tasksWithData,
} from "./_stage_base.ts";

/** Extra options of {@link runTable5Stage}: compute only part of the table now. */
export interface Table5StageOptions {
  /** Only these variants this time (the stage stays open until every variant is done). */
  variants?: readonly string[];
  /** Only these tasks this time. */
  tasks?: readonly string[];
  /** `lstm`: Table 5's LSTM row (`full` fine-tunes from the LSTM) into `layout.table5Lstm`. */
  model?: ModelKind;
}

/**
 * A Table 5 stage opened for fine-tunes run by hand (a notebook cell calling `finetune`
 * itself): the stage's folder is claimed as {@link runTable5Stage} claims it, {@link record}
 * adds a finished run to `table5.json` exactly as the stage's own sweep writes it, and
 * {@link close} writes `table5.md` and the stamp.
 */
export interface Table5Session {
  /** `table5` or `table5-lstm`. */
  stage: string;
  /** The model whose checkpoint every run starts from. */
  model: ModelKind;
  /** The tasks with data, in the stage's order. */
  tasks: string[];
  /** The stage's settings (variants, caps, epochs, lr, seed). */
  settings: Readonly<Table5StageSettings>;
  /** The final pre-training checkpoint. */
  ckpt: string;
  /** Its config, read from the header (each fine-tune loads the weights itself). */
  config: ModelConfig;
  /** The pre-training run's vocabulary. */
  tokenizer: Gpt1Tokenizer;
  /** The folder of one run (`<table5>/<task>-<variant>`). */
  runDir(task: string, variant: string): string;
  /** True when `table5.json` already holds the cell. */
  has(task: string, variant: string): Promise<boolean>;
  /** Adds a finished fine-tune (run into {@link runDir}) as a cell of `table5.json`. */
  record(
    task: string,
    variant: string,
    result: FinetuneResult,
    caps?: { maxTrain?: number; maxEval?: number },
  ): Promise<Table5Cell>;
  /** Writes `table5.md` and the stamp (finished once every variant of every task is there). */
  close(cells?: Table5Cell[]): Promise<StageResult>;
}

/**
 * Opens the Table 5 stage: a {@link Table5Session} to fill, or the stage's outcome when there
 * is nothing to do (finished earlier with the same settings, no data, the LSTM off).
 */
export async function openTable5Stage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: { model?: ModelKind } = {},
): Promise<Table5Session | StageResult> {
  const c = ctxDefaults(ctx);
  const model = opts.model ?? "gpt1";
  const name = stageName("table5", model);
  if (model === "lstm" && !s.lstm.enabled) return lstmOff(name);
  const t = model === "lstm" ? { ...s.table5, tasks: s.lstm.tasks, variants: ["full"] } : s.table5;
  const t0 = performance.now();
  const tasks = await tasksWithData(ctx.dataRoot, t.tasks);
  if (tasks.length === 0) return skipped(name, `no benchmark data under ${ctx.dataRoot}`);
  const upstream = await needFinished(layout, s, model);
  const dir = model === "lstm" ? layout.table5Lstm : layout.table5;
  const state = await claim(dir, name, stageKey(name, { t, tasks }, upstream), t, c.fresh);
  if (state === "done") return await reused(name, dir);
  const ckpt = finalCheckpoint(layout, s, model);
  const file = join(dir, "table5.json");
  const cellsNow = async () => (await readResult<{ cells?: Table5Cell[] }>(file))?.cells ?? [];
  const runDir = (task: string, variant: string) => join(dir, `${getTask(task).name}-${variant}`);
  return {
    stage: name,
    model,
    tasks,
    settings: t,
    ckpt,
    config: (await readCheckpointInfo(ckpt)).config,
    tokenizer: await loadVocab(join(pretrainDir(layout, model), "vocab")),
    runDir,
    has: async (task, variant) =>
      (await cellsNow()).some((x) => x.task === getTask(task).name && x.variant === variant),
    async record(task, variant, result, caps = {}) {
      const cells = await cellsNow();
      const cell = await table5Cell({
        task: getTask(task).name,
        variant,
        model,
        result,
        runDir: runDir(task, variant),
        maxTrain: caps.maxTrain,
        maxEval: caps.maxEval,
      });
      cells.push(cell);
      await writeJsonAtomic(file, { ...table5Header(ckpt, t, cells), cells });
      return cell;
    },
    async close(cells?: Table5Cell[]) {
      const all = cells ?? await cellsNow();
      await writeFileAtomic(join(dir, "table5.md"), table5Markdown(all));
      const complete = tasks.every((task) =>
        t.variants.every((v) => all.some((x) => x.task === task && x.variant === v))
      );
      const note = `${all.length} runs (${tasks.join(", ")})${complete ? "" : ", partial"}`;
      const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, undefined, complete);
      return { stage: name, status: "ran", seconds, note };
    },
  };
}

/** True when `x` is an opened {@link Table5Session} (not a stage's outcome). */
export function isTable5Session(x: Table5Session | StageResult): x is Table5Session {
  return "record" in x;
}

/**
 * Table 5 at this scale: each task with data fine-tuned as the full model, without
 * pre-training and without the auxiliary LM, from the stage's final checkpoint
 * (`layout.table5/table5.json` + `table5.md`). Its `full` cells are our column of Tables 2–4.
 * With `model: "lstm"`: the `full` fine-tunes from the LSTM checkpoint (Table 5's last row).
 */
export async function runTable5Stage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: Table5StageOptions = {},
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const t5 = await openTable5Stage(s, layout, ctx, { model: opts.model });
  if (!isTable5Session(t5)) return t5;
  const { tasks, settings: t, model } = t5;
  let cells: Table5Cell[] = [];
  for (const task of opts.tasks ? tasks.filter((x) => opts.tasks!.includes(x)) : tasks) {
    const caps = capsFor(t, task);
    cells = await runTable5({
      ckpt: t5.ckpt,
      tokenizer: t5.tokenizer,
      dataRoot: ctx.dataRoot,
      outDir: model === "lstm" ? layout.table5Lstm : layout.table5,
      tasks: [task],
      variants: opts.variants ?? t.variants,
      maxTrain: caps.maxTrain ?? undefined,
      maxEval: caps.maxEval ?? undefined,
      epochs: t.epochs,
      lr: t.lr,
      seed: t.seed,
      skipDone: true, // appends to table5.json, keeping the cells already there
      progress: (task, v) => c.progress(`${task} ${model === "lstm" ? "lstm" : v}`),
    });
  }
  return await t5.close(cells);
}

/**
 * One task's sweep of a {@link LayersSession} (`start(task)`): the checkpoint, vocabulary,
 * transfer counts and caps of its fine-tunes, {@link record} adds a finished one to
 * `layers.json` exactly as {@link ablateLayers} writes it, {@link finish} writes the stamp.
 */
export interface LayersSweep {
  /** The task. */
  task: string;
  /** The final pre-training checkpoint every fine-tune starts from. */
  ckpt: string;
  /** Its config, read from the header (each fine-tune loads the weights itself). */
  config: ModelConfig;
  /** The pre-training run's vocabulary. */
  tokenizer: Gpt1Tokenizer;
  /** The transfer counts (-1 nothing, 0 the embeddings, k the embeddings and k blocks). */
  counts: number[];
  /** Caps on training and evaluation examples at this scale. */
  maxTrain?: number;
  maxEval?: number;
  /** The folder of one fine-tune (`<layers>/transfer<n>`). */
  runDir(n: number): string;
  /** True when `layers.json` already holds the count. */
  has(n: number): Promise<boolean>;
  /** Adds a finished fine-tune (run into {@link runDir}) as a row of `layers.json`. */
  record(n: number, result: FinetuneResult): Promise<LayersRow>;
  /** Writes the task's stamp; `rows`: the sweep's rows (default: read from `layers.json`). */
  finish(rows?: readonly LayersRow[]): Promise<void>;
}

/** The layers stage opened for fine-tunes run by hand (a notebook cell calling `finetune`). */
export interface LayersSession {
  /** `layers`. */
  stage: string;
  /** The tasks with data, in the stage's order. */
  tasks: string[];
  /** The stage's settings (tasks, counts, caps, epochs, lr, λ, seed). */
  settings: Readonly<LayersStageSettings>;
  /** The task's sweep to fill, or null when it finished earlier with the same settings. */
  start(task: string): Promise<LayersSweep | null>;
  /** The stage's outcome once every task is through {@link LayersSweep.finish} or reused. */
  close(): Promise<StageResult>;
}

/**
 * Opens the layers stage: a {@link LayersSession} to fill task by task, or the stage's outcome
 * when there is nothing to do (no data). Each task's folder is claimed when it starts, as
 * {@link runLayersStage} claims it.
 */
export async function openLayersStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
): Promise<LayersSession | StageResult> {
  const c = ctxDefaults(ctx);
  const l = s.layers;
  const tasks = (await tasksWithData(ctx.dataRoot, l.tasks)).filter((t) => layout.layers[t]);
  if (tasks.length === 0) return skipped("layers", `no data for ${l.tasks.join(", ")}`);
  const upstream = await needFinished(layout, s);
  const notes: string[] = [];
  let ran = false, seconds = 0;
  return {
    stage: "layers",
    tasks,
    settings: l,
    async start(task) {
      const dir = layout.layers[task];
      const state = await claim(
        dir,
        "layers",
        stageKey("layers", { l, task }, upstream),
        l,
        c.fresh,
      );
      if (state === "done") {
        const r = await reused("layers", dir);
        seconds += r.seconds;
        notes.push(r.note);
        return null;
      }
      ran = true;
      const t1 = performance.now();
      const ckpt = finalCheckpoint(layout, s);
      const config = (await readCheckpointInfo(ckpt)).config;
      const caps = capsFor(l, task);
      const maxTrain = caps.maxTrain ?? undefined, maxEval = caps.maxEval ?? undefined;
      const header = layersHeader(getTask(task).name, ckpt, { ...l, maxTrain, maxEval });
      const file = join(dir, "layers.json");
      const rowsNow = async () => (await readResult<{ rows?: LayersRow[] }>(file))?.rows ?? [];
      return {
        task,
        ckpt,
        config,
        tokenizer: await loadVocab(join(layout.pretrain, "vocab")),
        counts: transferCounts(numLayers(config), l.layers ?? undefined),
        maxTrain,
        maxEval,
        runDir: (n) => layersRunDir(dir, n),
        has: async (n) => (await rowsNow()).some((r) => r.nTransfer === n),
        async record(n, result) {
          const rows = await rowsNow();
          const row = layersRow(getTask(task).name, n, result, layersRunDir(dir, n));
          rows.push(row);
          rows.sort((a, b) => a.nTransfer - b.nTransfer);
          await writeJsonAtomic(file, { ...header, rows });
          return row;
        },
        async finish(rows) {
          const all = rows ?? await rowsNow();
          const note = `${task}: ${all.map((r) => `${r.x}→${r.valid.toFixed(1)}`).join(" ")}`;
          seconds += await finishStamp(dir, { seconds: elapsed(t1), note });
          notes.push(note);
        },
      };
    },
    close() {
      const status: StageResult["status"] = ran ? "ran" : "reused";
      return Promise.resolve({ stage: "layers", status, seconds, note: notes.join("; ") });
    },
  };
}

/** True when `x` is an opened {@link LayersSession} (not a stage's outcome). */
export function isLayersSession(x: LayersSession | StageResult): x is LayersSession {
  return "start" in x;
}

/**
 * Figure 2 left at this scale: one {@link ablateLayers} sweep per task with data, from the
 * final checkpoint, into `layout.layers[task]/layers.json`.
 */
export async function runLayersStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const ls = await openLayersStage(s, layout, ctx);
  if (!isLayersSession(ls)) return ls;
  const l = ls.settings;
  for (const task of ls.tasks) {
    const sw = await ls.start(task);
    if (!sw) continue; // finished earlier with the same settings
    const rows = await ablateLayers({
      task,
      ckpt: sw.ckpt,
      tokenizer: sw.tokenizer,
      dataRoot: ctx.dataRoot,
      outDir: layout.layers[task],
      layers: l.layers ? [...l.layers] : undefined,
      maxTrain: sw.maxTrain,
      maxEval: sw.maxEval,
      epochs: l.epochs,
      lr: l.lr,
      auxLm: l.auxLm,
      seed: l.seed,
      skipDone: true,
      progress: (n) => c.progress(`${task} transfer ${n}`),
    });
    await sw.finish(rows);
  }
  return await ls.close();
}
