/**
 * Fine-tuning: the paper's step two. The pre-trained model plus one linear head, fed through
 * the input transformations of Figure 1; loss `L3 = L2 + λ·L1` (classifier CE + auxiliary LM
 * loss on the task inputs, λ = 0.5); Adam (opt.py) with lr 6.25e-5, batch 32, 3 epochs, linear
 * warmup over 0.2% of training then linear decay; classifier dropout 0.1; the model with the best
 * validation score is kept, as the original does.
 *
 * Splits (a choice the paper leaves to us, written down here and in the README):
 * - model selection uses a validation set that is never reported: Story Cloze's official
 *   374-story cut of the validation file; otherwise a seeded 10% (at most 1,000 examples) held
 *   out of the training data;
 * - the reported score is on the task's labeled evaluation split: GLUE dev (the paper's GLUE
 *   numbers are test-server numbers), Story Cloze test, SNLI test;
 * - SNLI's 550k training pairs are not in `../shared/datasets`: SNLI then trains on its dev file.
 *
 * STS-B is regression: one output on the summed similarity feature, mean squared error against
 * the 0–5 score (the original code hints at 6-bin soft labels instead; not used here).
 *
 * @example
 * ```ts
 * const r = await finetune({ task: "SST-2", dataRoot: "../shared/datasets", init: "results/small/ckpt-001200.safetensors",
 *   tokenizer, outDir: "results/ft-sst2", maxTrain: 2000 });
 * console.log(r.eval.value);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { blasInfo } from "./blas.ts";
import { nativeKernelsLine } from "./_native_kernels.ts";
import { FINETUNE_DEFAULTS, makeConfig } from "./config.ts";
import {
  createLanguageModel,
  type LanguageModel,
  makeModelConfig,
  type ModelConfig,
  numLayers,
} from "./language_model.ts";
import { OpenAIAdam } from "./optim.ts";
import { loadAnyCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { readTestIds, submissionFormat, writeSubmission } from "./glue_submission.ts";
import { mixSeed, Rng } from "./random.ts";
import { type Example, getTask, type Split, type TaskSpec } from "./tasks/mod.ts";
import { type Specials, specialsFor } from "./transforms.ts";
import { taskMetric, type TaskScore } from "./tasks/metric.ts";
import { ConfigError, DataError } from "./errors.ts";
import { portablePath, writeFileAtomic, writeJsonAtomic } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import {
  disposeBatch,
  type EncodedExample,
  encodeExamples,
  headSize,
  lengthGroupedOrder,
  microBatches,
  paddedSize,
  predict,
  taskBatch,
  type TaskEncoder,
  taskForward,
  taskLoss,
  taskTargets,
} from "./_task_batches.ts";
import { loadEvalFile, resolveTaskDir, taskSplits, validHoldOut } from "./_task_data.ts";

// batches and task data live in _task_batches.ts and _task_data.ts; this path keeps working
export {
  disposeBatch,
  type EncodedExample,
  encodeExamples,
  headSize,
  LENGTH_POOL_BATCHES,
  lengthGroupedOrder,
  microBatches,
  predict,
  type TaskBatch,
  taskBatch,
  type TaskEncoder,
  taskForward,
} from "./_task_batches.ts";
export { loadEvalFile, resolveTaskDir, taskSplits, validHoldOut };

/** Options of {@link finetune}. */
export interface FinetuneOptions {
  /** Task name (`SST-2`, `cola`, `StoryCloze`, ...; see `TASKS`). */
  task: string;
  /** Folder holding the benchmark folders (e.g. `../shared/datasets`). */
  dataRoot: string;
  /** Pre-trained checkpoint, or `none` (the paper's "w/o pre-training" row). */
  init: string;
  /** The tokenizer the checkpoint was trained with. */
  tokenizer: TaskEncoder;
  /**
   * Model config when `init` is `none` (default: the GPT-1 `small` preset with the tokenizer's
   * vocabulary; an LSTM config fine-tunes the LSTM baseline from scratch).
   */
  config?: ModelConfig;
  /** Output folder. */
  outDir?: string;
  /** Auxiliary LM weight λ (paper 0.5; 0 disables). */
  auxLm?: number;
  /** Blocks transferred (-1 nothing, 0 embeddings only, L all; default all). */
  transferLayers?: number;
  /** Epochs (paper 3). */
  epochs?: number;
  /** Batch size (paper 32). */
  batchSize?: number;
  /** Peak learning rate (paper 6.25e-5). */
  lr?: number;
  /** Warmup as a fraction of training (paper 0.002). */
  warmup?: number;
  /** Use at most this many training examples (seeded sample). */
  maxTrain?: number;
  /** Use at most this many evaluation examples (seeded sample). */
  maxEval?: number;
  /** Evaluate on this labeled file instead of the task's evaluation split. */
  evalFile?: string;
  /** Seed (paper code: 42). */
  seed?: number;
  /**
   * Tokens per micro-batch (gradients are accumulated to the full batch); default
   * {@link defaultMicroTokens} of the model.
   */
  microTokens?: number;
  /**
   * Batch examples of similar length together (see {@link lengthGroupedOrder}): less padding,
   * the same examples per epoch, a different (still seeded) batch composition than the
   * paper's random batches. Default false.
   */
  groupByLength?: boolean;
  /** Progress display. */
  progress?: Progress;
  /**
   * Save the kept (best-validation) model as `outDir/model.safetensors` (atomic; with its
   * classifier), so that `deno task gpt1 predict --run outDir` can predict later. Default false.
   */
  saveModel?: boolean;
  /**
   * Write GLUE's submission file for the task's unlabeled test split into this folder (e.g.
   * `SST-2.tsv`; see glue_submission.ts) with the kept model. GLUE tasks only.
   */
  predictTest?: string;
}

/** What {@link finetune} returns (also written to `outDir/metrics.json`). */
export interface FinetuneResult {
  /** Task registry name. */
  task: string;
  /** Score on the reported evaluation split (paper points). */
  eval: TaskScore & { split: string };
  /** Score of the kept model on the validation set used for selection. */
  valid: TaskScore;
  /** Score of the kept model on (a sample of) the training data. */
  train: TaskScore;
  /** Epoch whose model was kept (1-based). */
  bestEpoch: number;
  /** Validation score after each epoch. */
  validByEpoch: number[];
  /** Mean training loss per epoch. */
  lossByEpoch: number[];
  /** Names of the weights transferred from the checkpoint. */
  transferred: string[];
  /** Predictions on the evaluation split. */
  predictions: number[];
  /** The GLUE submission file written with `predictTest`, if any. */
  testFile?: string;
}

function sample<T>(xs: T[], n: number | undefined, seed: number): T[] {
  if (n === undefined || xs.length <= n) return xs;
  const idx = new Rng(seed).shuffle(xs.map((_, i) => i)).slice(0, n).sort((a, b) => a - b);
  return idx.map((i) => xs[i]);
}

async function score(
  model: LanguageModel,
  task: TaskSpec,
  data: EncodedExample[],
  sp: Specials,
): Promise<{ score: TaskScore; preds: number[] }> {
  const preds = await predict(model, task, data, sp);
  return { score: taskMetric(task.name, preds, data.map((d) => d.label)), preds };
}

/**
 * Builds the fine-tuning model: the checkpoint's config (GPT-1 or LSTM, as its `model_kind`
 * says) with the 3 special tokens, its embeddings and first `transferLayers` layers transferred
 * (or nothing with `init: "none"`), and a fresh head.
 */
export async function buildFinetuneModel(
  init: string,
  opts: { config?: ModelConfig; transferLayers?: number; seed: number; nOut: number },
): Promise<{ model: LanguageModel; transferred: string[] }> {
  let config: ModelConfig, weights: Map<string, Float32Array> | null = null;
  if (init === "none") {
    if (!opts.config) throw new ConfigError("init none needs a model config");
    config = opts.config;
  } else {
    const ck = await loadAnyCheckpoint(init);
    config = ck.config;
    weights = await ck.model.readWeights();
    ck.model.dispose();
  }
  const model = createLanguageModel(makeModelConfig({ ...config, nSpecial: 3 }), {
    seed: opts.seed,
  });
  const transferred = weights
    ? model.transferFrom(weights, opts.transferLayers ?? numLayers(config))
    : [];
  model.addClassifier(opts.nOut);
  return { model, transferred };
}

/**
 * Tokens per fine-tuning micro-batch for a model: 2,048 up to width 512 (`small`: a whole
 * batch of SST-2 in one pass), 1,024 from width 768 (the 117M model overflows the 4 GB wasm heap
 * in the backward at 8 × 256 tokens, measured; 8 × 128 fits). The update is the same either
 * way; only the memory and the number of passes change.
 */
export function defaultMicroTokens(config: { nEmbd: number }): number {
  return config.nEmbd >= 768 ? 1024 : 2048;
}

/** Fine-tunes on one task; writes `config.json`, `metrics.json`, `predictions.jsonl`, `log.jsonl`. */
export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const o = {
    ...FINETUNE_DEFAULTS,
    progress: silentProgress,
    ...opts,
  };
  const task = getTask(o.task);
  const splits = taskSplits(task);
  const nOut = headSize(task);
  if (o.predictTest) submissionFormat(task.name); // not a GLUE task: fail before training
  const baseConfig = o.config ??
    makeConfig("small", { vocabSize: o.tokenizer.vocabSize });
  const { model, transferred } = await buildFinetuneModel(o.init, {
    config: baseConfig,
    transferLayers: o.transferLayers,
    seed: o.seed,
    nOut,
  });
  const nCtx = model.config.nCtx;
  if (model.config.vocabSize !== o.tokenizer.vocabSize) {
    model.dispose();
    throw new ConfigError(
      `checkpoint vocabulary ${model.config.vocabSize} != tokenizer ${o.tokenizer.vocabSize}`,
      { file: o.init, fix: "use the vocabulary the checkpoint was trained with" },
    );
  }
  const sp = specialsFor(o.tokenizer.vocabSize);
  const dir = await resolveTaskDir(o.dataRoot, task);
  const load = async (split: Split) => (await task.load(dir, split)).examples;
  let trainEx = await load(splits.train);
  let validEx: Example[];
  if (splits.valid) validEx = await load(splits.valid);
  else {
    // seeded hold-out of the training data for model selection
    const order = new Rng(mixSeed(o.seed, 7)).shuffle(trainEx.map((_, i) => i));
    const nValid = validHoldOut(trainEx.length);
    const held = new Set(order.slice(0, nValid));
    validEx = trainEx.filter((_, i) => held.has(i));
    trainEx = trainEx.filter((_, i) => !held.has(i));
  }
  const reportEx = o.evalFile
    ? await loadEvalFile(task, o.evalFile, splits.report)
    : await load(splits.report);
  const train = encodeExamples(
    task,
    sample(trainEx, o.maxTrain, mixSeed(o.seed, 1)),
    o.tokenizer,
    nCtx,
  );
  const valid = encodeExamples(
    task,
    sample(validEx, o.maxEval, mixSeed(o.seed, 2)),
    o.tokenizer,
    nCtx,
  );
  const report = encodeExamples(
    task,
    sample(reportEx, o.maxEval, mixSeed(o.seed, 3)),
    o.tokenizer,
    nCtx,
  );
  if (train.length === 0 || report.length === 0) {
    model.dispose();
    throw new DataError(`no labeled examples for ${task.title}`, { file: dir });
  }

  const B = Math.min(o.batchSize, train.length);
  const perEpoch = Math.floor(train.length / B); // full batches only, as the original
  const tTotal = perEpoch * o.epochs;
  const opt = new OpenAIAdam(model.params, {
    lr: o.lr,
    schedule: "warmup_linear",
    warmup: o.warmup,
    tTotal,
  });
  if (o.outDir) {
    await Deno.mkdir(o.outDir, { recursive: true });
    await writeJsonAtomic(join(o.outDir, "config.json"), {
      task: task.name,
      init: portablePath(o.init),
      model: model.config,
      auxLm: o.auxLm,
      transferLayers: o.transferLayers ?? (o.init === "none" ? -1 : numLayers(model.config)),
      epochs: o.epochs,
      batchSize: B,
      lr: o.lr,
      warmup: o.warmup,
      schedule: "warmup_linear",
      seed: o.seed,
      ...(o.groupByLength ? { groupByLength: true } : {}), // only when on: older configs stay equal
      splits,
      sizes: { train: train.length, valid: valid.length, eval: report.length },
      backend: tf.getBackend(),
      blas: blasInfo(), // the wasm products' library and thread count (or why there is none)
      kernels: nativeKernelsLine(), // the fused kernels of the wasm backend: native (path) or JS
    });
  }
  const log: string[] = [];
  const validByEpoch: number[] = [], lossByEpoch: number[] = [];
  let best = -Infinity, bestEpoch = 0, bestWeights: Map<string, Float32Array> | null = null;
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const shuffled = new Rng(mixSeed(o.seed, 100 + epoch)).shuffle(train.map((_, i) => i));
    const order = o.groupByLength
      ? lengthGroupedOrder(shuffled, train.map(paddedSize), B, mixSeed(o.seed, 200 + epoch))
      : shuffled;
    let lossSum = 0;
    for (let b = 0; b < perEpoch; b++) {
      const batch = order.slice(b * B, (b + 1) * B).map((i) => train[i]);
      // Micro-batches of at most ~MICRO_TOKENS tokens, gradients summed (each scaled by its
      // share of the batch): the same update as one batch of B, within the wasm heap's reach.
      let value = 0;
      let grads: Map<string, tf.Tensor> | null = null;
      for (
        const [j, mb] of microBatches(batch, o.microTokens ?? defaultMicroTokens(model.config))
          .entries()
      ) {
        const labels = mb.map((e) => e.label);
        const inputs = taskBatch(mb, sp);
        const y = taskTargets(task, labels, task.inputType === "multiple_choice" ? inputs.K : nOut);
        const share = mb.length / batch.length;
        const r = model.valueAndGrads(() => {
          const { logits, lm } = taskForward(model, task, inputs, {
            training: true,
            seed: mixSeed(o.seed, step, 3, j),
            lm: o.auxLm > 0,
          });
          const clf = taskLoss(task, logits, y);
          const l = lm ? tf.add(clf, tf.mul(lm, o.auxLm)) : clf;
          return tf.mul(l, share) as tf.Scalar;
        });
        disposeBatch(inputs);
        y.dispose();
        value += (await r.value.data())[0];
        r.value.dispose();
        if (!grads) grads = r.grads;
        else {
          for (const [name, g] of r.grads) {
            const sum = tf.add(grads.get(name)!, g);
            grads.get(name)!.dispose();
            g.dispose();
            grads.set(name, sum);
          }
        }
      }
      const norm = opt.step(grads!);
      tf.dispose([...grads!.values()]);
      const loss = value;
      norm.dispose();
      if (!Number.isFinite(loss)) {
        opt.dispose();
        model.dispose();
        throw new ConfigError(`non-finite fine-tuning loss at step ${step} (${task.title})`, {
          fix: "lower --lr",
        });
      }
      lossSum += loss;
      step++;
      o.progress.update({
        done: step,
        total: tTotal,
        fields: { task: task.title, epoch, loss },
      });
      log.push(JSON.stringify({ kind: "train", step, epoch, loss, lr: opt.lrAt(step - 1) }));
    }
    lossByEpoch.push(lossSum / Math.max(1, perEpoch));
    const v = valid.length
      ? (await score(model, task, valid, sp)).score.value
      : -lossByEpoch[epoch - 1];
    validByEpoch.push(v);
    log.push(JSON.stringify({ kind: "valid", step, epoch, value: v }));
    if (v > best) {
      best = v;
      bestEpoch = epoch;
      bestWeights = await model.readWeights();
    }
  }
  if (bestWeights) model.setWeights(bestWeights);
  const validScore = (await score(model, task, valid.length ? valid : train, sp)).score;
  const trainScore = (await score(model, task, sample(train, 1000, mixSeed(o.seed, 4)), sp)).score;
  const rep = await score(model, task, report, sp);
  const result: FinetuneResult = {
    task: task.name,
    eval: { ...rep.score, split: o.evalFile ?? splits.report },
    valid: validScore,
    train: trainScore,
    bestEpoch,
    validByEpoch,
    lossByEpoch,
    transferred,
    predictions: rep.preds,
  };
  if (o.saveModel && o.outDir) {
    await saveCheckpoint(join(o.outDir, "model.safetensors"), {
      model,
      step,
      extra: { task: task.name, bestEpoch, init: portablePath(o.init), finetuned: true },
    });
  }
  if (o.predictTest) {
    result.testFile = await predictTestSet(model, task, dir, o.tokenizer, o.predictTest);
  }
  o.progress.finish(
    `${task.title}: ${rep.score.metric} ${rep.score.value.toFixed(1)} on ${result.eval.split} ` +
      `(n=${rep.score.n}, best epoch ${bestEpoch})`,
  );
  if (o.outDir) {
    const rows = [
      { ...result.eval, checkpoint: portablePath(o.init) },
      { ...validScore, split: "valid", checkpoint: portablePath(o.init) },
      { ...trainScore, split: "train", checkpoint: portablePath(o.init) },
    ];
    await writeJsonAtomic(join(o.outDir, "metrics.json"), rows);
    // the prediction per example and where the example is (file:line); its label stays in the
    // dataset, which is never copied into run folders
    await writeFileAtomic(
      join(o.outDir, "predictions.jsonl"),
      report.map((e, i) => JSON.stringify({ source: portablePath(e.source), pred: rep.preds[i] }))
        .join("\n") + "\n",
    );
    await writeFileAtomic(join(o.outDir, "log.jsonl"), log.join("\n") + "\n");
  }
  opt.dispose();
  model.dispose();
  return result;
}

/**
 * Predicts the unlabeled test split of a GLUE task (`taskDir`'s test file, every row) with a
 * fine-tuned `model` and writes GLUE's submission file into `outDir`, checked against the test
 * file's ids (see glue_submission.ts); returns its path.
 */
export async function predictTestSet(
  model: LanguageModel,
  task: TaskSpec,
  taskDir: string,
  tokenizer: TaskEncoder,
  outDir: string,
): Promise<string> {
  const testIds = await readTestIds(task.name, taskDir); // before loading: not a GLUE task throws
  const ex = (await task.load(taskDir, "test")).examples;
  const enc = encodeExamples(task, ex, tokenizer, model.config.nCtx, { keepUnlabeled: true });
  const preds = await predict(model, task, enc, specialsFor(tokenizer.vocabSize));
  return await writeSubmission(outDir, task.name, ex.map((e) => e.id), preds, testIds);
}
