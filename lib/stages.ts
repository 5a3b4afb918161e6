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
import { DataError } from "./errors.ts";
import { exists, portablePath, writeJsonAtomic } from "./fsutil.ts";
import type { ModelKind } from "./language_model.ts";
import { claim, finishStamp, readStamp, stageKey, ZS_STAMP } from "./_stamps.ts";
import type { LogRecord, ResultLayout } from "./runs.ts";
import { evaluateText, runPretraining } from "./pipeline.ts";
import {
  ctxDefaults,
  elapsed,
  modelStage,
  needFinished,
  reused,
  skipped,
  type StageContext,
  type StageResult,
  zeroShotTasksWithData,
} from "./_stage_base.ts";
import { zeroShotCurves } from "./zeroshot.ts";
import { type PretrainStageSettings, type ReproduceSettings, resolveDataPath } from "./settings.ts";

export { stageKey, STAMP_FILE } from "./_stamps.ts";
export {
  finalCheckpoint,
  type StageContext,
  type StageResult,
  tasksWithData,
} from "./_stage_base.ts";
export {
  isLayersSession,
  isTable5Session,
  type LayersSession,
  type LayersSweep,
  openLayersStage,
  openTable5Stage,
  runLayersStage,
  runTable5Stage,
  type Table5Session,
  type Table5StageOptions,
} from "./_finetune_stages.ts";

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
  const { model, name, dir, off } = modelStage("pretrain", s, layout, ctx, opts.model);
  if (off) return off;
  return await pretrainInto(name, dir, s.pretrain, model, ctx, {
    ...opts,
    runInfo: { reproduce: s.scale },
    scale: s.scale,
  });
}

/** What {@link pretrainInto} needs of a scale's pre-training settings (the stage key is all of it). */
export type PretrainRunSettings =
  & Pick<
    PretrainStageSettings,
    | "preset"
    | "corpus"
    | "merges"
    | "steps"
    | "batchSize"
    | "lr"
    | "warmupSteps"
    | "evalEvery"
    | "evalWindows"
    | "ckptEvery"
    | "seed"
  >
  & {
    /** `train` (default) or `gpt1`. */
    vocab?: string;
    /** Log-spaced checkpoints per octave (default 1). */
    ckptPerOctave?: 1 | 2;
    /** A held-out book for the final perplexity, or null. */
    evalText: string | null;
    /** Cap on its windows (null / absent: all). */
    evalTextWindows?: number | null;
  };

/**
 * The body of a pre-training stage, for `runPretrainStage` and the protocol's stages: claims
 * `dir` by its stamp (reuse, resume, or a fresh start), checks the corpus, runs
 * {@link runPretraining}, then the held-out book's perplexity (`eval-text.json`).
 */
export async function pretrainInto(
  name: string,
  dir: string,
  p: Readonly<PretrainRunSettings>,
  model: ModelKind,
  ctx: StageContext,
  opts: Omit<PretrainStageOptions, "model"> & { runInfo: Record<string, unknown>; scale: string },
): Promise<StageResult> {
  const c = ctxDefaults(ctx);
  const t0 = performance.now();
  const state = await claim(dir, name, stageKey(name, p), p, c.fresh);
  if (state === "done") return await reused(name, dir);
  const corpus = p.corpus.map((spec) => resolveDataPath(spec, ctx.dataRoot));
  for (const spec of corpus) {
    if (spec !== "embedded" && !(await exists(spec))) {
      throw new DataError(`the ${opts.scale} corpus needs this file`, {
        file: spec,
        fix: "pass the datasets folder (--data / GPT1_DATA), or run --scale smoke",
      });
    }
  }
  const { result: r, data } = await runPretraining({
    model,
    preset: p.preset,
    corpus,
    vocab: p.vocab ?? "train",
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
    ...(p.ckptPerOctave ? { ckptPerOctave: p.ckptPerOctave } : {}),
    resume: state === "resume",
    stopAfter: opts.stopAfter,
    onLog: opts.onLog,
    progress: { data: c.progress("corpus"), train: c.progress(name) },
    warn: (m) => c.log(`warning: ${m}`),
    log: (line) => c.log(line),
    corpusInfo: p.corpus,
    runInfo: opts.runInfo,
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
  const tasks = await zeroShotTasksWithData(ctx.dataRoot, z.tasks ?? undefined);
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
