/**
 * Pre-training: the paper's step one. Random contiguous windows of the context length, Adam as in
 * opt.py with `warmup_cosine`, decoupled L2 0.01, dropout 0.1, global-norm clipping; validation
 * loss every N steps; checkpoints at log-spaced update counts (2^k) plus the latest; a JSONL log;
 * resume from the latest checkpoint with the same data order and the same losses; a NaN/Inf guard
 * that stops with a diagnostic and keeps the last good checkpoint.
 *
 * Run folder (`outDir`), as in DESIGN.md:
 * ```
 * config.json              everything needed to rerun (model config, options, data, backend)
 * log.jsonl                one object per logged step ({kind:"train"|"valid", step, ...})
 * ckpt-<step>.safetensors  weights (f16 by default) at steps 2^k (k >= logCkptFrom) and at the end
 * latest.safetensors       f32 weights + optimizer state, every `ckptEvery` steps: what --resume uses
 * ```
 *
 * @example
 * ```ts
 * const result = await pretrain({
 *   config: makeConfig("tiny"), train: cache.train, valid: cache.valid,
 *   outDir: "results/tiny-run", steps: 200, batchSize: 8,
 * });
 * console.log(result.validLoss);
 * ```
 * The model kind follows the config: `config: makeLstmConfig("small", { vocabSize })` trains the
 * LSTM baseline (`lstm.ts`) with the same loop, data order, schedule and checkpoints.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { blasInfo } from "./blas.ts";
import { nativeKernelsLine } from "./_native_kernels.ts";
import { join } from "node:path";
import { type Gpt1Config, PRETRAIN_DEFAULTS } from "./config.ts";
import type { Gpt1Model } from "./model.ts";
import {
  createLanguageModel,
  type LanguageModel,
  type ModelConfig,
  type ModelFor,
  modelKind,
} from "./language_model.ts";
import { ADAM_DEFAULTS, type AdamOptions, OpenAIAdam, SCHEDULES } from "./optim.ts";
import { loadAnyCheckpoint, type LoadedCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evalWindows, type WindowBatch, WindowSampler } from "./data.ts";
import { mixSeed } from "./random.ts";
import { checkpointName, type LogRecord, truncateLog } from "./runs.ts";
import { ConfigError, Gpt1LabError } from "./errors.ts";
import { exists, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";

/** The run stopped because a loss or gradient became NaN or Inf. */
export class DivergenceError extends Gpt1LabError {
  /** The update at which it happened (0-based). */
  readonly step: number;
  /** Names of the tensors that were not finite (`loss`, gradient names). */
  readonly tensors: string[];
  /** See class doc. */
  constructor(step: number, tensors: string[], file?: string) {
    super(
      "DivergenceError",
      `non-finite value at step ${step} in ${tensors.join(", ")}; the last good checkpoint is kept`,
      {
        file,
        fix: "lower the learning rate or raise the warmup, then resume with --resume",
      },
    );
    this.step = step;
    this.tensors = tensors;
  }
}

/** Options of {@link pretrain}. */
export interface PretrainOptions<C extends ModelConfig = Gpt1Config> {
  /**
   * Model config: GPT-1 (`makeConfig`) or the LSTM baseline (`makeLstmConfig`); the model is
   * built by `createLanguageModel`, so the kind follows the config.
   */
  config: C;
  /** Training token ids. */
  train: ArrayLike<number>;
  /** Validation token ids (optional; no validation when absent). */
  valid?: ArrayLike<number>;
  /** The run folder. */
  outDir: string;
  /** Total updates (the schedule spans these). */
  steps: number;
  /** Windows per batch (paper: 64). */
  batchSize: number;
  /** Peak learning rate (paper: 2.5e-4). */
  lr?: number;
  /** Warmup updates (paper: 2000 of an unstated total; scaled for small runs). */
  warmupSteps?: number;
  /** Seed for initialization, data order and dropout. */
  seed?: number;
  /** Validation every N updates (and at the end). */
  evalEvery?: number;
  /** Cap on validation windows per evaluation (evenly spaced over the split). */
  evalWindows?: number;
  /** Log a train record every N updates. */
  logEvery?: number;
  /** Save `latest.safetensors` every N updates (and at the end). */
  ckptEvery?: number;
  /** Smallest k of the 2^k checkpoints (default 4: steps 16, 32, 64, ...). */
  logCkptFrom?: number;
  /**
   * Log-spaced checkpoints per octave: 1 (default: 2^k) or 2 (2^k and 3·2^(k-1): 16, 24, 32,
   * 48, ...), for curves over training with more points.
   */
  ckptPerOctave?: 1 | 2;
  /** Storage type of the `ckpt-<step>` files (default F16; `latest` is always F32). */
  ckptDtype?: "F16" | "F32";
  /** Continue from `outDir/latest.safetensors` when it exists. */
  resume?: boolean;
  /** Progress display. */
  progress?: Progress;
  /** Called with every log record (a notebook can chart live). */
  onLog?: (rec: LogRecord) => void;
  /** Extra JSON written into config.json (data sources, tokenizer, command line). */
  runInfo?: Record<string, unknown>;
  /** Hash of the vocabulary (stored in checkpoints). */
  vocabHash?: string;
  /** Stop after this many updates in this call (for tests of resume); the schedule still spans `steps`. */
  stopAfter?: number;
  /** Test hook: called with each step's loss tensor result; may return a replacement value. */
  lossHook?: (step: number, loss: number) => number;
  /**
   * What runs the updates (default {@link tfjsEngine}: the model on the current tfjs backend;
   * `webgpuEngine` of `train_webgpu.ts`: the project's WebGPU engine). Logs, checkpoints,
   * validation, the NaN/Inf guard and resume are this loop's, whichever engine runs.
   */
  engine?: TrainEngineFactory;
}

/** One update's statistics, as an engine hands them to {@link pretrain}'s loop. */
export interface UpdateStats {
  /** 0-based update index. */
  step: number;
  /** Training loss of the update's batch (after `lossHook`). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Names of what was not finite (gradients); empty when all was. */
  bad: string[];
}

/** What an engine factory gets: the model, the optimizer settings, and the checkpoint to resume. */
export interface EngineInit {
  /** The model config (GPT-1 or LSTM). */
  config: ModelConfig;
  /** Model seed (initialization, dropout masks). */
  seed: number;
  /** Windows per update. */
  batchSize: number;
  /** `OpenAIAdam` options of the run. */
  adam: Partial<AdamOptions>;
  /** The loaded `latest.safetensors` to continue from (the engine takes over its model). */
  from?: LoadedCheckpoint<LanguageModel>;
  /** `PretrainOptions.lossHook`. */
  lossHook?: (step: number, loss: number) => number;
}

/**
 * The part of pre-training that differs between engines: running updates, evaluating, and
 * saving the weights (and optimizer state) as the project's checkpoints.
 */
export interface TrainEngine {
  /** `tfjs` or `webgpu` (config.json's `engine`). */
  readonly name: string;
  /** The `backend` field of the log records. */
  readonly backend: string;
  /** What config.json records about the engine (`engineInfo`), if anything. */
  readonly info?: Record<string, unknown>;
  /** Updates that may be submitted before {@link collect} must run (1: every update). */
  readonly maxPending: number;
  /** Starts update `t` on `batch` ([B, T] windows) with the dropout masks of `dropoutSeed`. */
  submit(t: number, batch: WindowBatch, dropoutSeed: number): Promise<void>;
  /**
   * The statistics of the updates submitted since the last call, oldest first. An engine
   * stops applying updates at the first non-finite one (the loop then stops the run).
   */
  collect(): Promise<UpdateStats[]>;
  /** Mean next-token loss over validation windows, as {@link evaluateLm}. */
  evaluate(
    tokens: ArrayLike<number>,
    opts: { maxWindows?: number },
  ): Promise<{ loss: number; tokens: number }>;
  /** Writes a checkpoint (`full`: f32 weights + optimizer state; else weights in `dtype`). */
  save(
    path: string,
    o: { step: number; full: boolean; dtype: "F16" | "F32"; vocabHash?: string },
  ): Promise<void>;
  /** The trained model as a tfjs model (the caller disposes it); the engine is done after. */
  release(): Promise<LanguageModel>;
}

/** Builds the engine of a run (resumed from `init.from` when given). */
export type TrainEngineFactory = (init: EngineInit) => Promise<TrainEngine>;

/**
 * The default engine: the model on the current tfjs backend, `OpenAIAdam`, one update per
 * {@link TrainEngine.submit} (the loss and the gradients' finiteness are read back every step;
 * a non-finite step is not applied).
 */
export const tfjsEngine: TrainEngineFactory = (init) => {
  const model = init.from ? init.from.model : createLanguageModel(init.config, { seed: init.seed });
  const opt = new OpenAIAdam(model.params, init.adam);
  if (init.from) opt.loadStateDict(init.from.optimizerState!);
  const backend = tf.getBackend();
  let pending: UpdateStats[] = [];
  return Promise.resolve({
    name: "tfjs",
    backend,
    maxPending: 1,
    async submit(t, batch, dropoutSeed) {
      const ids = tf.tensor2d(batch.tokens, [batch.batchSize, batch.width], "int32"); // [B, T]
      const { value, grads: gradMap } = model.valueAndGrads(
        () => model.lmLossTensor(ids, { training: true, seed: dropoutSeed }),
      );
      ids.dispose();
      let loss = (await value.data())[0];
      value.dispose();
      if (init.lossHook) loss = init.lossHook(t, loss);
      const bad = Number.isFinite(loss) ? await nonFiniteGrads(gradMap) : [];
      if (!Number.isFinite(loss) || bad.length > 0) {
        tf.dispose([...gradMap.values()]);
        pending.push({ step: t, loss, gradNorm: NaN, bad });
        return;
      }
      const normT = opt.step(gradMap);
      tf.dispose([...gradMap.values()]);
      const gradNorm = (await normT.data())[0];
      normT.dispose();
      pending.push({ step: t, loss, gradNorm, bad });
    },
    collect() {
      const out = pending;
      pending = [];
      return Promise.resolve(out);
    },
    evaluate: (tokens, o) => evaluateLm(model, tokens, o),
    async save(path, o) {
      await saveCheckpoint(path, {
        model,
        optimizer: o.full ? opt : undefined,
        step: o.step,
        vocabHash: o.vocabHash,
        dtype: o.dtype,
      });
    },
    release() {
      opt.dispose();
      return Promise.resolve(model);
    },
  });
};

/** What {@link pretrain} returns. */
export interface PretrainResult<M extends LanguageModel = Gpt1Model> {
  /** The trained model (caller disposes). */
  model: M;
  /** Updates done. */
  step: number;
  /** Training loss of every update run in this call. */
  losses: number[];
  /** Last validation loss, when there was validation data. */
  validLoss?: number;
  /** Checkpoint files written, by step. */
  checkpoints: string[];
}

/**
 * True when `step` (1-based updates done) is a log-spaced checkpoint at least 2^from: a power of
 * two, and with `perOctave` 2 also 3·2^(k-1) (16, 24, 32, 48, 64, ...).
 */
export function isLogCheckpoint(step: number, from = 4, perOctave: 1 | 2 = 1): boolean {
  if (step < 2 ** from) return false;
  if ((step & (step - 1)) === 0) return true;
  if (perOctave !== 2 || step % 3 !== 0) return false;
  const q = step / 3;
  return (q & (q - 1)) === 0;
}

/**
 * Mean next-token cross-entropy of `model` over non-overlapping windows of `tokens` (eval mode).
 * Returns `{ loss, tokens }` (nats per predicted token, number of predicted tokens).
 */
export async function evaluateLm(
  model: LanguageModel,
  tokens: ArrayLike<number>,
  opts: { batchSize?: number; maxWindows?: number; context?: number } = {},
): Promise<{ loss: number; tokens: number }> {
  const T = opts.context ?? model.config.nCtx;
  let sum = 0, count = 0;
  for (
    const b of evalWindows(tokens, {
      context: T - 1,
      batchSize: opts.batchSize ?? 8,
      maxWindows: opts.maxWindows,
    })
  ) {
    const loss = tf.tidy(() => {
      const ids = tf.tensor2d(b.tokens, [b.batchSize, b.width], "int32"); // [B, T]
      return model.lmLossTensor(ids, { training: false });
    });
    const v = (await loss.data())[0];
    loss.dispose();
    const n = b.batchSize * (b.width - 1);
    sum += v * n;
    count += n;
  }
  return { loss: sum / count, tokens: count };
}

async function appendLog(path: string, rec: LogRecord): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(rec) + "\n", { append: true });
}

/**
 * Names of the gradients holding a NaN or Inf, read back in one asynchronous transfer (one
 * flag per gradient; `dataSync` is unavailable on webgpu).
 */
export async function nonFiniteGrads(grads: Map<string, tf.Tensor>): Promise<string[]> {
  const names = [...grads.keys()];
  const flags = tf.tidy(() => tf.stack(names.map((n) => tf.all(tf.isFinite(grads.get(n)!)))));
  const ok = await flags.data();
  flags.dispose();
  return names.filter((_, i) => !ok[i]).map((n) => `grad ${n}`);
}

/**
 * Pre-trains a language model, GPT-1 or the LSTM baseline as `config` says (see the module doc
 * for the run folder). Resumable: with `resume`, continues from `latest.safetensors` and yields
 * exactly the losses an uninterrupted run would have (batches and dropout masks are pure
 * functions of (seed, step)).
 */
export async function pretrain<C extends ModelConfig = Gpt1Config>(
  opts: PretrainOptions<C>,
): Promise<PretrainResult<ModelFor<C>>> {
  const o = {
    lr: PRETRAIN_DEFAULTS.lr,
    warmupSteps: Math.max(1, Math.round(opts.steps * PRETRAIN_DEFAULTS.warmup)),
    seed: PRETRAIN_DEFAULTS.seed,
    evalEvery: 100,
    evalWindows: 64,
    logEvery: 10,
    ckptEvery: 100,
    logCkptFrom: 4,
    ckptPerOctave: 1 as 1 | 2,
    ckptDtype: "F16" as "F16" | "F32",
    resume: false,
    progress: silentProgress,
    ...opts,
  };
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    throw new ConfigError(`steps must be a positive integer, got ${o.steps}`);
  }
  if (o.warmupSteps > o.steps) {
    throw new ConfigError(`warmupSteps ${o.warmupSteps} exceeds steps ${o.steps}`);
  }
  const T = o.config.nCtx;
  await Deno.mkdir(o.outDir, { recursive: true });
  const logPath = join(o.outDir, "log.jsonl");
  const latestPath = join(o.outDir, "latest.safetensors");
  const sampler = new WindowSampler(o.train, {
    context: T - 1, // windows of T tokens: inputs t = 0..T-2 predict t+1
    batchSize: o.batchSize,
    seed: o.seed,
    name: "training tokens",
  });

  let start = 0;
  const adamOpts = {
    lr: o.lr,
    schedule: "warmup_cosine" as const,
    warmup: o.warmupSteps / o.steps,
    tTotal: o.steps,
  };
  const lrAt = (t: number) => o.lr * SCHEDULES.warmup_cosine(t / o.steps, adamOpts.warmup);
  let from: LoadedCheckpoint<LanguageModel> | undefined;
  if (o.resume && (await exists(latestPath))) {
    const ck = await loadAnyCheckpoint(latestPath);
    if (ck.kind !== modelKind(o.config)) {
      ck.model.dispose();
      throw new ConfigError(
        `latest checkpoint is a ${ck.kind} model, the config a ${modelKind(o.config)} one`,
        {
          file: latestPath,
          fix: "resume with the model kind the run was started with, or use a new --out folder",
        },
      );
    }
    if (!ck.optimizerState) {
      ck.model.dispose();
      throw new ConfigError("latest checkpoint has no optimizer state", { file: latestPath });
    }
    from = ck;
    start = ck.step;
  } else if (o.resume) console.error(`no ${latestPath}; starting from scratch`);
  const engine = await (o.engine ?? tfjsEngine)({
    config: o.config,
    seed: o.seed,
    batchSize: o.batchSize,
    adam: adamOpts,
    from,
    lossHook: o.lossHook,
  });
  if (from) {
    await truncateLog(logPath, start);
    console.error(`resuming ${o.outDir} at step ${start} (engine ${engine.name})`);
  } else await Deno.writeTextFile(logPath, "");
  const backend = engine.backend;
  await writeJsonAtomic(join(o.outDir, "config.json"), {
    model: o.config,
    train: {
      steps: o.steps,
      batchSize: o.batchSize,
      lr: o.lr,
      warmupSteps: o.warmupSteps,
      schedule: "warmup_cosine",
      l2: ADAM_DEFAULTS.l2,
      maxGradNorm: ADAM_DEFAULTS.maxGradNorm,
      seed: o.seed,
      evalEvery: o.evalEvery,
      evalWindows: o.evalWindows,
    },
    data: { trainTokens: o.train.length, validTokens: o.valid?.length ?? 0 },
    engine: engine.name,
    ...(engine.info ? { engineInfo: engine.info } : {}),
    backend,
    blas: blasInfo(), // the wasm products' library and thread count (or why there is none)
    kernels: nativeKernelsLine(), // the fused kernels of the wasm backend: native (path) or JS
    vocabHash: o.vocabHash,
    ...o.runInfo,
  });

  const checkpoints: string[] = [];
  // latest.safetensors: f32 weights + optimizer state (for --resume). ckpt-<step>: weights only,
  // in `ckptDtype` (f16 by default: half the size, for the zero-shot curves and for committing).
  const save = async (path: string, step: number, full: boolean) => {
    await engine.save(path, {
      step,
      full,
      vocabHash: o.vocabHash,
      dtype: full ? "F32" : o.ckptDtype,
    });
    checkpoints.push(path);
  };
  const tokensPerStep = o.batchSize * (T - 1);
  const t0 = performance.now();
  let tLast = t0, stepsSinceLog = 0;
  const losses: number[] = [];
  let validLoss: number | undefined;
  const end = o.stopAfter !== undefined ? Math.min(o.steps, start + o.stopAfter) : o.steps;

  const hasValid = o.valid !== undefined && o.valid.length >= T;
  if (o.valid !== undefined && !hasValid) {
    console.error(
      `warning: ${o.valid.length} validation tokens is less than one window; no validation ` +
        "(the split is by document: give the corpus more documents)",
    );
  }
  const validate = async (step: number) => {
    if (!o.valid || !hasValid) return;
    const r = await engine.evaluate(o.valid, { maxWindows: o.evalWindows });
    validLoss = r.loss;
    const rec: LogRecord = {
      kind: "valid",
      step,
      loss: r.loss,
      perplexity: Math.exp(r.loss),
      tokens: step * tokensPerStep,
      backend,
      wallSec: (performance.now() - t0) / 1000,
    };
    await appendLog(logPath, rec);
    o.onLog?.(rec);
  };
  // one update's statistics: the NaN/Inf guard, the train record, the progress line
  const account = async ({ step: t, loss, gradNorm, bad: badGrads }: UpdateStats) => {
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm) || badGrads.length > 0) {
      const bad = [...(Number.isFinite(loss) ? [] : [`loss (${loss})`]), ...badGrads];
      if (bad.length === 0) bad.push(`gradient norm (${gradNorm})`);
      o.progress.finish(`stopped at step ${t}: non-finite ${bad.join(", ")}`);
      await engine.release().then((m) => m.dispose());
      throw new DivergenceError(t, bad, latestPath);
    }
    losses.push(loss);
    const done = t + 1;
    stepsSinceLog++;
    if (done % o.logEvery === 0 || done === o.steps) {
      const now = performance.now();
      const rec: LogRecord = {
        kind: "train",
        step: done,
        loss,
        lr: lrAt(t),
        gradNorm,
        tokensPerSec: (stepsSinceLog * tokensPerStep) / ((now - tLast) / 1000),
        tokens: done * tokensPerStep,
        backend,
        wallSec: (now - t0) / 1000,
      };
      tLast = now;
      stepsSinceLog = 0;
      await appendLog(logPath, rec);
      o.onLog?.(rec);
    }
    o.progress.update({
      done,
      total: o.steps,
      fields: {
        loss,
        "tok/s": Math.round((done - start) * tokensPerStep / ((performance.now() - t0) / 1000)),
      },
    });
  };

  let pending = 0;
  for (let t = start; t < end; t++) {
    await engine.submit(t, sampler.batchAt(t), mixSeed(o.seed, t, 1));
    pending++;
    const done = t + 1;
    const evalNow = done % o.evalEvery === 0 && done !== o.steps;
    const logCkpt = isLogCheckpoint(done, o.logCkptFrom, o.ckptPerOctave) || done === o.steps;
    const latest = done % o.ckptEvery === 0 || done === end;
    // an engine that queues updates is read back at every log, evaluation and checkpoint step
    const sync = pending >= engine.maxPending || done % o.logEvery === 0 || evalNow ||
      logCkpt || latest;
    if (!sync) continue;
    for (const st of await engine.collect()) await account(st);
    pending = 0;
    if (evalNow) await validate(done);
    if (logCkpt) await save(join(o.outDir, checkpointName(done)), done, false);
    if (latest) await save(latestPath, done, true);
  }
  if (end === o.steps && start < end) await validate(o.steps);
  o.progress.finish(
    `done: ${end} steps, loss ${losses.at(-1)?.toFixed(4)}` +
      (validLoss !== undefined ? `, valid ${validLoss.toFixed(4)}` : ""),
  );
  const model = await engine.release() as ModelFor<C>;
  return { model, step: end, losses, validLoss, checkpoints };
}
