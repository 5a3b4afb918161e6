/**
 * Fine-tuning batches (internal to finetune.ts, which re-exports all of it): examples encoded
 * with the task's input transform, padded into tensors, the forward pass of any input type
 * (task logits and the auxiliary LM loss), the task's targets and loss, length-grouped epoch
 * orders, micro-batches within a token budget, and predictions.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LanguageModel } from "./language_model.ts";
import { Rng } from "./random.ts";
import { buildInputs, type Example, type TaskSpec } from "./tasks/mod.ts";
import { padBatch, type Specials, specialsFor } from "./transforms.ts";

/** Anything with `encode(text) → ids` and a vocabulary size (the GPT-1 tokenizer). */
export interface TaskEncoder {
  /** Text → token ids. */
  encode(text: string): number[];
  /** Vocabulary size without the special tokens. */
  vocabSize: number;
}

/** One example turned into token sequences (1 for classification, 2 orderings, K candidates). */
export interface EncodedExample {
  /** The sequences, each ending in `_classify_`. */
  seqs: number[][];
  /** Class index, or the score for regression. */
  label: number;
  /** `file:line` of the example. */
  source: string;
}

/**
 * Turns examples into token sequences with the task's transform. Unlabeled examples are dropped,
 * or kept with label NaN when `keepUnlabeled` (test files, for predictions).
 */
export function encodeExamples(
  task: TaskSpec,
  examples: Example[],
  tok: TaskEncoder,
  nCtx: number,
  opts: { keepUnlabeled?: boolean } = {},
): EncodedExample[] {
  const sp = specialsFor(tok.vocabSize);
  const cache = new Map<string, number[]>();
  const enc = (t: string) => {
    let ids = cache.get(t);
    if (!ids) cache.set(t, ids = tok.encode(t));
    return ids;
  };
  const out: EncodedExample[] = [];
  for (const ex of examples) {
    const label = (ex as { label?: number }).label;
    if (label === undefined && !opts.keepUnlabeled) continue;
    out.push({
      seqs: buildInputs(task, ex, enc, sp, nCtx),
      label: label ?? NaN,
      source: ex.source,
    });
  }
  return out;
}

/** Output size of the head: classes, or 1 for multiple choice (per candidate) and regression. */
export function headSize(task: TaskSpec): number {
  if (task.inputType === "multiple_choice" || task.inputType === "regression-similarity") return 1;
  return task.labels!.length;
}

/** A batch as tensors: `ids`/`mask` `[B*K, T]`, `clfPos` `[B*K]` (example-major). */
export interface TaskBatch {
  /** Token ids, right-padded with 0. */
  ids: tf.Tensor2D;
  /** 1 on real tokens. */
  mask: tf.Tensor2D;
  /** Index of the `_classify_` token of each sequence. */
  clfPos: tf.Tensor1D;
  /** Examples. */
  B: number;
  /** Sequences per example. */
  K: number;
}

/**
 * Pads a batch of encoded examples into tensors (caller disposes with {@link disposeBatch}).
 * Made outside the gradient closure: tensors created inside it are freed before the backward pass.
 */
export function taskBatch(batch: EncodedExample[], sp: Specials): TaskBatch {
  const K = batch[0].seqs.length; // sequences per example
  const p = padBatch(batch.flatMap((e) => e.seqs), sp.classify);
  const T = p.ids[0].length, B = batch.length;
  return {
    ids: tf.tensor2d(p.ids, [B * K, T], "int32"),
    mask: tf.tensor2d(p.mask, [B * K, T], "float32"),
    clfPos: tf.tensor1d(p.clfPos, "int32"),
    B,
    K,
  };
}

/** Frees the tensors of a {@link TaskBatch}. */
export function disposeBatch(b: TaskBatch): void {
  tf.dispose([b.ids, b.mask, b.clfPos]);
}

/**
 * Forward pass of a batch for any input type: returns the task logits (`[B, nOut]`, `[B, K]`
 * for multiple choice, `[B, 1]` for regression) and the auxiliary LM loss on the inputs.
 */
export function taskForward(
  model: LanguageModel,
  task: TaskSpec,
  batch: TaskBatch,
  opts: { training: boolean; seed?: number; lm?: boolean },
): { logits: tf.Tensor2D; lm: tf.Scalar | null } {
  const { B, K } = batch, C = model.config.nEmbd;
  const h = model.hidden(batch.ids, opts); // [B*K, T, C]
  // the LM head builds [B*K*T, V] tensors: only when the auxiliary loss needs it
  const lm = opts.lm === false ? null : model.lmLossFromHidden(h, batch.ids, batch.mask);
  const feats = model.pool(h, batch.clfPos); // [B*K, C]
  let logits: tf.Tensor2D;
  if (task.inputType === "multiple_choice") {
    // one scalar per candidate; the classifier dropout mask is shared across the K candidates
    const z = model.classifierHead(tf.reshape(feats, [B, K, C]), opts, [B, 1, C]);
    logits = tf.reshape(z, [B, K]);
  } else if (K === 2) {
    // similarity: the features of both orderings are summed, then the linear head
    logits = model.classifierHead(tf.sum(tf.reshape(feats, [B, 2, C]), 1), opts);
  } else {
    logits = model.classifierHead(feats, opts);
  }
  return { logits, lm };
}

/** Tokens an example takes in a padded batch of its own: sequences × the longest one. */
export function paddedSize(e: EncodedExample): number {
  return e.seqs.length * Math.max(...e.seqs.map((q) => q.length));
}

/** Examples per pool of {@link lengthGroupedOrder}, in batches. */
export const LENGTH_POOL_BATCHES = 50;

/**
 * A length-grouped epoch order: the shuffled `order` is cut into pools of
 * {@link LENGTH_POOL_BATCHES} batches, each pool is sorted by `sizes` (stable), cut into
 * batches of `B`, and the batches of the whole epoch are shuffled with `seed`. Every example
 * stays in the epoch exactly once; a batch holds examples of similar length, so padding to its
 * longest wastes little (as `group_by_length` in HF `Trainer` or fairseq's buckets). Pure.
 *
 * @example
 * ```ts
 * // sizes 5, 1, 4, 2 of examples 0..3; batches of 2: {1, 3} (sizes 1, 2) and {2, 0} (4, 5)
 * lengthGroupedOrder([3, 0, 2, 1], [5, 1, 4, 2], 2, 7); // [2, 0, 1, 3]
 * ```
 */
export function lengthGroupedOrder(
  order: readonly number[],
  sizes: readonly number[],
  B: number,
  seed: number,
): number[] {
  const pool = Math.max(1, B * LENGTH_POOL_BATCHES);
  const batches: number[][] = [];
  for (let s = 0; s < order.length; s += pool) {
    const p = order.slice(s, s + pool).sort((a, b) => sizes[a] - sizes[b]);
    for (let b = 0; b < p.length; b += B) batches.push(p.slice(b, b + B));
  }
  // the tail batch (shorter than B) stays last, so `floor(n / B)` full batches are trained on
  const full = batches.filter((b) => b.length === B), rest = batches.filter((b) => b.length < B);
  return [...new Rng(seed).shuffle(full), ...rest].flat();
}

/**
 * Splits a batch into consecutive micro-batches whose padded size (examples × sequences ×
 * longest sequence) stays within `maxTokens` (at least one example each).
 */
export function microBatches(batch: EncodedExample[], maxTokens: number): EncodedExample[][] {
  const out: EncodedExample[][] = [];
  let cur: EncodedExample[] = [], longest = 0;
  for (const e of batch) {
    const len = Math.max(...e.seqs.map((s) => s.length));
    const L = Math.max(longest, len);
    if (cur.length > 0 && (cur.length + 1) * e.seqs.length * L > maxTokens) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(e);
    longest = Math.max(longest, len);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Task targets as a tensor: one-hot `[B, nOut]` for classes/candidates, `[B, 1]` scores for regression. */
export function taskTargets(task: TaskSpec, labels: number[], nOut: number): tf.Tensor2D {
  if (task.inputType === "regression-similarity") return tf.tensor2d(labels, [labels.length, 1]);
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), nOut).toFloat() as tf.Tensor2D);
}

/** The task loss: mean squared error for regression, softmax cross-entropy otherwise. */
export function taskLoss(task: TaskSpec, logits: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  if (task.inputType === "regression-similarity") {
    return tf.mean(tf.square(tf.sub(logits, y))) as tf.Scalar;
  }
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

/** Predictions of `model` on encoded examples (eval mode): class index, candidate, or score. */
export async function predict(
  model: LanguageModel,
  task: TaskSpec,
  data: EncodedExample[],
  sp: Specials,
  batchSize = 32,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < data.length; i += batchSize) {
    const batch = taskBatch(data.slice(i, i + batchSize), sp);
    const z = tf.tidy(() => {
      const { logits } = taskForward(model, task, batch, { training: false, lm: false });
      return task.inputType === "regression-similarity" ? tf.reshape(logits, [-1]) : tf.argMax(
        logits,
        1,
      );
    });
    out.push(...(await z.data()));
    z.dispose();
    disposeBatch(batch);
  }
  return out;
}
