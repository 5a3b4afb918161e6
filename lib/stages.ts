/**
 * The stages of `deno task reproduce`, each a function the notebooks call too: pre-training
 * ({@link runPretrainStage}, the Transformer and the LSTM baseline), Table 5
 * ({@link runTable5Stage}), the layers-transferred ablation ({@link runLayersStage}) and the
 * zero-shot curves ({@link runZeroShotStage}), and their bookkeeping.
 *
 * Each stage writes a stamp (`reproduce-stage.json`) into its folder holding a hash of its
 * settings and of the stage it builds on, so a rerun reuses finished stages, resumes a killed
 * one, and recomputes (after deleting its folder) one whose settings changed. A folder that
 * holds results without a stamp (committed results) is never touched.
 *
 * @example
 * ```ts
 * import { runPretrainStage } from "./stages.ts";
 * import { reproduceSettings } from "./settings.ts";
 * import { reproduceLayout } from "./runs.ts";
 * const s = reproduceSettings("smoke");
 * const layout = reproduceLayout("results/_scratch/reproduce-smoke", s.layers.tasks);
 * const r = await runPretrainStage(s, layout, { dataRoot: "../shared/datasets" });
 * console.log(r.status, r.note);
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError, DataError } from "./errors.ts";
import { exists, portablePath, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import { type ModelConfig, type ModelKind, numLayers } from "./language_model.ts";
import type { Gpt1Tokenizer } from "./tokenizer/bpe.ts";
import type { FinetuneResult } from "./finetune.ts";
import { readCheckpointInfo } from "./checkpoint.ts";
import { claim, finishStamp, readStamp, stageKey, ZS_STAMP } from "./_stamps.ts";
import {
  checkpointName,
  type LayersRow,
  type LogRecord,
  pretrainDir,
  readResult,
  type ResultLayout,
  type Table5Cell,
  type ZeroShotTaskName,
} from "./runs.ts";
import { loadVocab } from "./vocab.ts";
import { evaluateText, runPretraining } from "./pipeline.ts";
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
import { ZEROSHOT_FOLDERS, zeroShotCurves } from "./zeroshot.ts";
import {
  capsFor,
  defaultCacheDir,
  type LayersStageSettings,
  type ReproduceSettings,
  resolveDataPath,
  type Table5StageSettings,
} from "./settings.ts";

export { stageKey, STAMP_FILE } from "./_stamps.ts";

/** What every stage needs besides its settings. */
export interface StageContext {
  /** The datasets folder (benchmarks, `pretrain_gutenberg/`). */
  dataRoot: string;
  /** Vocabulary and token caches (default `results/_cache`). */
  cacheDir?: string;
  /** A progress display per piece of work (default: none). */
  progress?: (label: string) => Progress;
  /** One line per event (default `console.log`). */
  log?: (line: string) => void;
  /** Recompute even when the stamp says the stage is done. */
  fresh?: boolean;
}

/** The outcome of one stage. */
export interface StageResult {
  /** `pretrain`, `table5`, `layers`, `zeroshot` (`-lstm` for the LSTM's), or `report`. */
  stage: string;
  /** `ran` (computed now), `reused` (finished earlier, same settings), `skipped` (no data). */
  status: "ran" | "reused" | "skipped";
  /** Wall-clock seconds the stage took to compute (a reused stage: when it ran). */
  seconds: number;
  /** One line about what happened. */
  note: string;
}

function ctxDefaults(ctx: StageContext) {
  return {
    cacheDir: ctx.cacheDir ?? defaultCacheDir(),
    progress: ctx.progress ?? (() => silentProgress),
    log: ctx.log ?? ((l: string) => console.log(l)),
    fresh: ctx.fresh ?? false,
  };
}

const elapsed = (t0: number) => (performance.now() - t0) / 1000;

/** The final checkpoint of a pre-training stage (`ckpt-<steps>.safetensors`). */
export function finalCheckpoint(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): string {
  return join(pretrainDir(layout, model), checkpointName(s.pretrain.steps));
}

const stageName = (stage: string, model: ModelKind) => model === "lstm" ? `${stage}-lstm` : stage;
const lstmOff = (stage: string) => skipped(stage, "the LSTM baseline is off at this scale");

/**
 * The start of a stage that works in a pre-training folder of either model: its name
 * (`-lstm` for the LSTM), folder and context defaults; `off` when the LSTM is off at this scale.
 */
function modelStage(
  stage: string,
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  model: ModelKind = "gpt1",
) {
  const name = stageName(stage, model);
  const off = model === "lstm" && !s.lstm.enabled ? lstmOff(name) : null;
  return { c: ctxDefaults(ctx), model, name, dir: pretrainDir(layout, model), off };
}

/** Extra options of {@link runPretrainStage}. */
export interface PretrainStageOptions {
  /** Stop after this many updates of this call (the stage stays open; the next call resumes). */
  stopAfter?: number;
  /** Receives each log record (for a live chart). */
  onLog?: (rec: LogRecord) => void;
  /** Which model (default the Transformer; `lstm`: the baseline into `layout.lstm`). */
  model?: ModelKind;
}

/**
 * Pre-training: corpus → vocabulary → token cache → LM training into `layout.pretrain`
 * (`vocab/`, `log.jsonl`, `ckpt-<step>.safetensors` at 2^k steps and at the end), then the
 * per-word perplexity on the held-out book (`eval-text.json`) when it is there. Resumes a
 * stopped run from its `latest.safetensors`. With `model: "lstm"` the same for the LSTM
 * baseline (same data, vocabulary and schedule) into `layout.lstm`. Select a backend first.
 */
export async function runPretrainStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: PretrainStageOptions = {},
): Promise<StageResult> {
  const { c, model, name, dir, off } = modelStage("pretrain", s, layout, ctx, opts.model);
  if (off) return off;
  const p = s.pretrain;
  const t0 = performance.now();
  const state = await claim(dir, name, stageKey(name, p), p, c.fresh);
  if (state === "done") return await reused(name, dir);
  const corpus = p.corpus.map((spec) => resolveDataPath(spec, ctx.dataRoot));
  for (const spec of corpus) {
    if (spec !== "embedded" && !(await exists(spec))) {
      throw new DataError(`the ${s.scale} corpus needs this file`, {
        file: spec,
        fix: "pass the datasets folder (--data / GPT1_DATA), or run --scale smoke",
      });
    }
  }
  const { result: r, data } = await runPretraining({
    model,
    preset: p.preset,
    corpus,
    vocab: p.vocab,
    merges: p.merges,
    cacheDir: c.cacheDir,
    outDir: dir,
    steps: p.steps,
    batchSize: p.batchSize,
    lr: p.lr,
    warmupSteps: p.warmupSteps,
    seed: p.seed,
    evalEvery: p.evalEvery,
    evalWindows: p.evalWindows,
    ckptEvery: p.ckptEvery,
    resume: state === "resume",
    stopAfter: opts.stopAfter,
    onLog: opts.onLog,
    progress: { data: c.progress("corpus"), train: c.progress(name) },
    warn: (m) => c.log(`warning: ${m}`),
    corpusInfo: p.corpus,
    runInfo: { reproduce: s.scale },
  });
  try {
    if (r.step < p.steps) {
      const note = `stopped at update ${r.step} of ${p.steps} (call again to continue)`;
      const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, undefined, false);
      return { stage: name, status: "ran", seconds, note };
    }
    let note = `${p.steps} updates, validation loss ${r.validLoss?.toFixed(3) ?? "–"}`;
    const held = p.evalText ? resolveDataPath(p.evalText, ctx.dataRoot) : null;
    if (held && (await exists(held))) {
      const ev = await evaluateText(r.model, data.tokenizer, held, {
        maxWindows: p.evalTextWindows ?? undefined,
      });
      await writeJsonAtomic(join(dir, "eval-text.json"), {
        ...ev,
        source: portablePath(ev.source),
      });
      note += `; held-out ${ev.source.split("/").pop()}: ${ev.wordPerplexity.toFixed(1)} ` +
        "perplexity per word";
    } else if (held) c.log(`${name}: no held-out text at ${held}; per-word perplexity skipped`);
    const seconds = await finishStamp(dir, { seconds: elapsed(t0), note });
    return { stage: name, status: "ran", seconds, note };
  } finally {
    r.model.dispose();
  }
}

/** The tasks of `tasks` whose benchmark folder is under `dataRoot`. */
export async function tasksWithData(dataRoot: string, tasks: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tasks) if (await exists(join(dataRoot, getTask(t).folder))) out.push(t);
  return out;
}

async function needFinished(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): Promise<string> {
  const dir = pretrainDir(layout, model);
  const st = await readStamp(dir);
  if (!st?.finished || !(await exists(finalCheckpoint(layout, s, model)))) {
    throw new ConfigError(`${stageName("pre-training", model)} has not finished`, {
      file: dir,
      fix: `run the pre-training stage first (runPretrainStage${
        model === "lstm" ? ' with model: "lstm"' : ""
      })`,
    });
  }
  return st.key;
}

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

async function reused(stage: string, dir: string, file?: string): Promise<StageResult> {
  const st = await readStamp(dir, file);
  return {
    stage,
    status: "reused",
    seconds: st?.seconds ?? 0,
    note: `finished earlier: ${st?.note ?? dir}`,
  };
}

function skipped(stage: string, note: string): StageResult {
  return { stage, status: "skipped", seconds: 0, note };
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
      const header = layersHeader(getTask(task).name, ckpt, {
        maxTrain: caps.maxTrain ?? undefined,
        maxEval: caps.maxEval ?? undefined,
        epochs: l.epochs,
        lr: l.lr,
        auxLm: l.auxLm,
        seed: l.seed,
      });
      const file = join(dir, "layers.json");
      const rowsNow = async () => (await readResult<{ rows?: LayersRow[] }>(file))?.rows ?? [];
      return {
        task,
        ckpt,
        config,
        tokenizer: await loadVocab(join(layout.pretrain, "vocab")),
        counts: transferCounts(numLayers(config), l.layers ?? undefined),
        maxTrain: caps.maxTrain ?? undefined,
        maxEval: caps.maxEval ?? undefined,
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

/**
 * Figure 2 right at this scale: the four zero-shot heuristics on every checkpoint of the
 * pre-training run (`<pretrain>/zeroshot.json`); points already computed with the same
 * settings are kept.
 */
export async function runZeroShotStage(
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  opts: { model?: ModelKind } = {},
): Promise<StageResult> {
  const { c, model, name, dir, off } = modelStage("zeroshot", s, layout, ctx, opts.model);
  if (off) return off;
  const z = s.zeroshot;
  const t0 = performance.now();
  const all = z.tasks ?? (Object.keys(ZEROSHOT_FOLDERS) as ZeroShotTaskName[]);
  const tasks: ZeroShotTaskName[] = [];
  for (const t of all) if (await exists(join(ctx.dataRoot, ZEROSHOT_FOLDERS[t]))) tasks.push(t);
  if (tasks.length === 0) return skipped(name, `no zero-shot data under ${ctx.dataRoot}`);
  const upstream = await needFinished(layout, s, model);
  const key = stageKey(name, { z, tasks }, upstream);
  const st = await readStamp(dir, ZS_STAMP);
  if (st?.key === key && st.finished && !c.fresh) return await reused(name, dir, ZS_STAMP);
  const force = st?.key !== key || c.fresh;
  await writeJsonAtomic(join(dir, ZS_STAMP), { stage: name, key, finished: false, settings: z });
  const { rows } = await zeroShotCurves(dir, {
    dataRoot: ctx.dataRoot,
    tasks,
    maxExamples: { ...z.maxExamples },
    batchSize: z.batchSize,
    force,
    progress: c.progress(name),
  });
  const steps = new Set(rows.map((r) => r.step)).size;
  const note = `${rows.length} points: ${tasks.join(", ")} on ${steps} checkpoints`;
  const seconds = await finishStamp(dir, { seconds: elapsed(t0), note }, ZS_STAMP);
  return { stage: name, status: "ran", seconds, note };
}
