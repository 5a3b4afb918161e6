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
import { ADAM_DEFAULTS, OpenAIAdam } from "./optim.ts";
import { loadAnyCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evalWindows, WindowSampler } from "./data.ts";
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
}

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

/** True when `step` (1-based updates done) is a power of two at least 2^from. */
export function isLogCheckpoint(step: number, from = 4): boolean {
  return step >= 2 ** from && (step & (step - 1)) === 0;
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
  const backend = tf.getBackend();
  const sampler = new WindowSampler(o.train, {
    context: T - 1, // windows of T tokens: inputs t = 0..T-2 predict t+1
    batchSize: o.batchSize,
    seed: o.seed,
    name: "training tokens",
  });

  let model: ModelFor<C>;
  let opt: OpenAIAdam;
  let start = 0;
  const adamOpts = {
    lr: o.lr,
    schedule: "warmup_cosine" as const,
    warmup: o.warmupSteps / o.steps,
    tTotal: o.steps,
  };
  if (o.resume && (await exists(latestPath))) {
    const ck = await loadAnyCheckpoint(latestPath);
    model = ck.model as ModelFor<C>;
    if (ck.kind !== modelKind(o.config)) {
      model.dispose();
      throw new ConfigError(
        `latest checkpoint is a ${ck.kind} model, the config a ${modelKind(o.config)} one`,
        {
          file: latestPath,
          fix: "resume with the model kind the run was started with, or use a new --out folder",
        },
      );
    }
    if (!ck.optimizerState) {
      throw new ConfigError("latest checkpoint has no optimizer state", { file: latestPath });
    }
    opt = new OpenAIAdam(model.params, adamOpts);
    opt.loadStateDict(ck.optimizerState);
    start = ck.step;
    await truncateLog(logPath, start);
    console.error(`resuming ${o.outDir} at step ${start}`);
  } else {
    if (o.resume) console.error(`no ${latestPath}; starting from scratch`);
    model = createLanguageModel(o.config, { seed: o.seed });
    opt = new OpenAIAdam(model.params, adamOpts);
    await Deno.writeTextFile(logPath, "");
  }
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
    backend,
    blas: blasInfo(), // the wasm products' library and thread count (or why there is none)
    vocabHash: o.vocabHash,
    ...o.runInfo,
  });

  const checkpoints: string[] = [];
  // latest.safetensors: f32 weights + optimizer state (for --resume). ckpt-<step>: weights only,
  // in `ckptDtype` (f16 by default: half the size, for the zero-shot curves and for committing).
  const save = async (path: string, step: number, full: boolean) => {
    await saveCheckpoint(path, {
      model,
      optimizer: full ? opt : undefined,
      step,
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
    const r = await evaluateLm(model, o.valid, { maxWindows: o.evalWindows });
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

  for (let t = start; t < end; t++) {
    const batch = sampler.batchAt(t);
    const lrNow = opt.lrAt(t);
    const ids = tf.tensor2d(batch.tokens, [batch.batchSize, batch.width], "int32"); // [B, T]
    const { value, grads: gradMap } = model.valueAndGrads(
      () => model.lmLossTensor(ids, { training: true, seed: mixSeed(o.seed, t, 1) }),
    );
    ids.dispose();
    let loss = (await value.data())[0];
    value.dispose();
    if (o.lossHook) loss = o.lossHook(t, loss);
    const badGrads = Number.isFinite(loss) ? await nonFiniteGrads(gradMap) : [];
    if (!Number.isFinite(loss) || badGrads.length > 0) {
      tf.dispose([...gradMap.values()]);
      const bad = [...(Number.isFinite(loss) ? [] : [`loss (${loss})`]), ...badGrads];
      o.progress.finish(`stopped at step ${t}: non-finite ${bad.join(", ")}`);
      throw new DivergenceError(t, bad, latestPath);
    }
    const normT = opt.step(gradMap);
    tf.dispose([...gradMap.values()]);
    const gradNorm = (await normT.data())[0];
    normT.dispose();
    losses.push(loss);
    const done = t + 1;
    stepsSinceLog++;
    if (done % o.logEvery === 0 || done === o.steps) {
      const now = performance.now();
      const rec: LogRecord = {
        kind: "train",
        step: done,
        loss,
        lr: lrNow,
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
    if (done % o.evalEvery === 0 && done !== o.steps) await validate(done);
    if (isLogCheckpoint(done, o.logCkptFrom) || done === o.steps) {
      await save(join(o.outDir, checkpointName(done)), done, false);
    }
    if (done % o.ckptEvery === 0 || done === end) await save(latestPath, done, true);
  }
  if (end === o.steps && start < end) await validate(o.steps);
  o.progress.finish(
    `done: ${end} steps, loss ${losses.at(-1)?.toFixed(4)}` +
      (validLoss !== undefined ? `, valid ${validLoss.toFixed(4)}` : ""),
  );
  opt.dispose();
  return { model, step: end, losses, validLoss, checkpoints };
}
