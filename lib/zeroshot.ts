/**
 * Zero-shot heuristics (paper §5 "Zero-shot Behaviors", Figure 2 right): how well a
 * pre-trained language model does on four tasks with no fine-tuning and no special tokens, and
 * how that grows over pre-training.
 *
 * - **sentiment** (SST-2 dev): append the word "very" and compare `log P("positive")` with
 *   `log P("negative")` at that point. The words are looked up through the tokenizer; the
 *   released vocabulary has each as one token (`very</w>` 963, `positive</w>` 6353,
 *   `negative</w>` 9503). A word that a small trained vocabulary splits into several pieces is
 *   scored as the log-probability of the whole continuation (the sum over its pieces).
 * - **acceptability** (CoLA dev): the mean token log-probability of the sentence, thresholded;
 *   the threshold maximizes the Matthews correlation on (an evenly spaced sample of) CoLA train.
 * - **question answering / multiple choice** (Story Cloze test, RACE test when present): the
 *   candidate with the highest mean token log-probability given the document (and question).
 * - **Winograd** (WSC273, `../shared/datasets/WSC`, in place of the paper's DPRD): substitute
 *   each candidate for the pronoun, score the mean log-probability of the tokens after the
 *   substitution (the "partial" score of Trinh & Le 2018), pick the higher.
 *
 * Every text goes through `tokenizer.encode` exactly as in pre-training. Each scored sequence is
 * preceded by the newline piece `\n</w>` when the vocabulary has it: pre-training streams join
 * documents (and paragraphs) with it, so it is the model's "start of text", and it lets the
 * first word of a CoLA sentence be scored. It is an ordinary vocabulary token, not one of the
 * fine-tuning special tokens.
 *
 * All model work goes through one batched scorer, {@link sequenceLogProbs}: sequences sorted by
 * length, right-padded (safe with a causal model), truncated from the left to the context
 * keeping the scored tail, and the LM head applied only at the scored positions.
 *
 * Relative performance (Figure 2's y axis) is `(raw - chance) / (reference - chance)`: 0 is
 * chance, 1 is the reference score. The paper normalised by the then state-of-the-art single
 * model and did not print those numbers; we normalise by the paper's own fine-tuned GPT-1
 * score where there is one, see {@link ZEROSHOT_TASKS} (each row of `zeroshot.json` repeats
 * its `reference` and `referenceSource`).
 *
 * @example
 * ```ts
 * import { zeroShotCurves } from "./zeroshot.ts";
 * const { rows } = await zeroShotCurves("results/small", { dataRoot: "../shared/datasets" });
 * // results/small/zeroshot.json: one row per (checkpoint, task)
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { loadAnyCheckpoint } from "./checkpoint.ts";
import { CheckpointError, ConfigError } from "./errors.ts";
import { exists, writeJsonAtomic } from "./fsutil.ts";
import { ZEROSHOT_DEFAULTS } from "./config.ts";
import { loadVocab } from "./vocab.ts";
import { accuracy, matthewsCorr } from "./metrics.ts";
import type { LanguageModel } from "./language_model.ts";
import type { ZeroShotTask } from "./paper.ts";
import { type Progress, silentProgress } from "./progress.ts";
import {
  getTask,
  loadTask,
  loadWsc,
  type MultipleChoiceExample,
  type Split,
  type TextExample,
  type WscExample,
  wscSubstitute,
} from "./tasks/mod.ts";
import { listCheckpoints } from "./runs.ts";

/** What the heuristics need from a tokenizer (the GPT-1 tokenizer has all of it). */
export interface ZeroShotTokenizer {
  /** Text → token ids, exactly as in pre-training. */
  encode(text: string): number[];
  /** The id of a piece (the unknown id when absent). */
  tokenToId(piece: string): number;
  /** The piece of an id. */
  idToToken(id: number): string;
}

// ---------------------------------------------------------------------------------------------
// the batched scorer

/** One model window of a scored sequence: tokens `[start, end)`, positions `[from, end)` scored. */
export interface ScoringWindow {
  /** First token fed to the model. */
  start: number;
  /** One past the last token fed. */
  end: number;
  /** First position whose token is scored in this window (`start < from <= end`). */
  from: number;
}

/**
 * The windows that score positions `[scoreFrom, length)` of a sequence with a model of context
 * `nCtx` (pure). A sequence that fits is one window; a longer one is cut from the left, keeping
 * the scored tail; when even the scored tail does not fit (more than `nCtx - 1` tokens), it is
 * covered by overlapping windows with stride `nCtx / 2`, each token scored once with at least
 * `nCtx / 2` tokens of context (or all there are).
 *
 * @example
 * ```ts
 * scoringWindows(10, 1, 32); // [{ start: 0, end: 10, from: 1 }]
 * scoringWindows(40, 30, 32); // [{ start: 8, end: 40, from: 30 }]
 * ```
 */
export function scoringWindows(length: number, scoreFrom: number, nCtx: number): ScoringWindow[] {
  if (!Number.isInteger(nCtx) || nCtx < 2) {
    throw new ConfigError(`scoring needs a context of at least 2 tokens, got ${nCtx}`);
  }
  if (!Number.isInteger(scoreFrom) || scoreFrom < 1) {
    throw new ConfigError(
      `scoreFrom must be an integer >= 1 (the first token has no context), got ${scoreFrom}`,
    );
  }
  if (length <= scoreFrom) return [];
  if (length <= nCtx) return [{ start: 0, end: length, from: scoreFrom }];
  if (length - scoreFrom <= nCtx - 1) {
    return [{ start: length - nCtx, end: length, from: scoreFrom }];
  }
  const stride = Math.floor(nCtx / 2);
  const start = Math.max(0, scoreFrom - (nCtx - stride));
  const out: ScoringWindow[] = [{ start, end: start + nCtx, from: scoreFrom }];
  for (let from = start + nCtx; from < length;) {
    const end = Math.min(length, from + stride);
    out.push({ start: end - nCtx, end, from });
    from = end;
  }
  return out;
}

/** Options of {@link sequenceLogProbs}. */
export interface ScoreOptions {
  /** Windows per forward pass (default 16). */
  batchSize?: number;
  /** Per sequence, the first position whose token is scored (default 1 everywhere). */
  scoreFrom?: number[];
}

function checkIds(model: LanguageModel, seqs: number[][]): void {
  const V = model.config.vocabSize + model.config.nSpecial;
  for (const [i, s] of seqs.entries()) {
    if (!Array.isArray(s) || s.length === 0) throw new ConfigError(`sequence ${i} is empty`);
    for (const t of s) {
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new ConfigError(`sequence ${i} has token id ${t}, not in [0, ${V - 1}]`, {
          fix: "encode with the tokenizer the model was trained with",
        });
      }
    }
  }
}

function batchSizeOf(b: number | undefined): number {
  const n = b ?? ZEROSHOT_DEFAULTS.batchSize;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`batchSize must be >= 1, got ${n}`);
  return n;
}

/**
 * Log-probabilities `log P(x_t | x_<t)` of the tokens of each sequence from position
 * `scoreFrom[i]` (default 1) on, in eval mode: `result[i][j]` is that of token
 * `scoreFrom[i] + j`. Batched: windows (see {@link scoringWindows}) are sorted by length and
 * right-padded to the longest in a batch; the LM head runs only at scored positions; the
 * distribution is over the vocabulary without the special tokens. No tensor outlives the call.
 *
 * @example
 * ```ts
 * const [lp] = await sequenceLogProbs(model, [[5, 6, 7, 8]], { scoreFrom: [2] });
 * // lp = [log P(7 | 5 6), log P(8 | 5 6 7)]
 * ```
 */
export async function sequenceLogProbs(
  model: LanguageModel,
  seqs: number[][],
  opts: ScoreOptions = {},
): Promise<Float32Array[]> {
  checkIds(model, seqs);
  const bs = batchSizeOf(opts.batchSize);
  const from = opts.scoreFrom ?? seqs.map(() => 1);
  if (from.length !== seqs.length) {
    throw new ConfigError(`${seqs.length} sequences but ${from.length} scoreFrom values`);
  }
  const { nCtx, vocabSize: V, nSpecial, nEmbd: C } = model.config;
  const out = seqs.map((s, i) => new Float32Array(Math.max(0, s.length - from[i])));
  const wins: (ScoringWindow & { seq: number })[] = [];
  seqs.forEach((s, i) => {
    for (const w of scoringWindows(s.length, from[i], nCtx)) wins.push({ ...w, seq: i });
  });
  wins.sort((a, b) => (b.end - b.start) - (a.end - a.start) || a.seq - b.seq);
  for (let i0 = 0; i0 < wins.length; i0 += bs) {
    const batch = wins.slice(i0, i0 + bs);
    const B = batch.length, T = batch[0].end - batch[0].start;
    const ids = new Int32Array(B * T); // [B, T], right-padded with id 0
    const rows: number[] = [], flat: number[] = [];
    batch.forEach((w, b) => {
      const s = seqs[w.seq];
      for (let t = w.start; t < w.end; t++) ids[b * T + t - w.start] = s[t];
      for (let t = w.from; t < w.end; t++) {
        flat.push(rows.length * V + s[t]); // target logit in the flattened [N, V] logits
        rows.push(b * T + (t - 1 - w.start)); // the hidden state that predicts token t
      }
    });
    const N = rows.length;
    const lp = tf.tidy(() => {
      const h = model.hidden(tf.tensor2d(ids, [B, T], "int32")); // [B, T, C]
      const hs = tf.gather(tf.reshape(h, [B * T, C]), tf.tensor1d(rows, "int32")); // [N, C]
      let z = model.lmHead(hs) as tf.Tensor2D; // [N, V + nSpecial]
      if (nSpecial > 0) z = tf.slice(z, [0, 0], [N, V]); // [N, V]
      const lse = tf.logSumExp(z, 1); // [N]
      const zt = tf.gather(tf.reshape(z, [N * V]), tf.tensor1d(flat, "int32")); // [N]
      return tf.sub(zt, lse); // [N]
    });
    const v = await lp.data();
    lp.dispose();
    let k = 0;
    for (const w of batch) {
      const o = out[w.seq], base = from[w.seq];
      for (let t = w.from; t < w.end; t++) o[t - base] = v[k++];
    }
  }
  return out;
}

/**
 * For each sequence, the log-probabilities of the tokens `ids` as its next token (after its
 * last token), in eval mode: `result[i][k] = log P(ids[k] | seqs[i])`. Long sequences keep their
 * last `nCtx` tokens. Batched and sorted by length like {@link sequenceLogProbs}.
 *
 * @example
 * ```ts
 * const [[lpPos, lpNeg]] = await nextTokenLogProbs(model, [prompt], [6353, 9503]);
 * ```
 */
export async function nextTokenLogProbs(
  model: LanguageModel,
  seqs: number[][],
  ids: number[],
  opts: { batchSize?: number } = {},
): Promise<Float32Array[]> {
  checkIds(model, seqs);
  checkIds(model, [ids]);
  const bs = batchSizeOf(opts.batchSize);
  const { nCtx, vocabSize: V, nSpecial, nEmbd: C } = model.config;
  const out: Float32Array[] = new Array(seqs.length);
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[b].length - seqs[a].length || a - b);
  for (let i0 = 0; i0 < order.length; i0 += bs) {
    const batch = order.slice(i0, i0 + bs);
    const B = batch.length, T = Math.min(nCtx, seqs[batch[0]].length);
    const tok = new Int32Array(B * T); // [B, T]
    const rows = batch.map((si, b) => {
      const s = seqs[si], n = Math.min(nCtx, s.length);
      for (let t = 0; t < n; t++) tok[b * T + t] = s[s.length - n + t];
      return b * T + n - 1;
    });
    const lp = tf.tidy(() => {
      const h = model.hidden(tf.tensor2d(tok, [B, T], "int32")); // [B, T, C]
      const hs = tf.gather(tf.reshape(h, [B * T, C]), tf.tensor1d(rows, "int32")); // [B, C]
      let z = model.lmHead(hs) as tf.Tensor2D; // [B, V + nSpecial]
      if (nSpecial > 0) z = tf.slice(z, [0, 0], [B, V]);
      return tf.gather(tf.logSoftmax(z), tf.tensor1d(ids, "int32"), 1); // [B, K]
    });
    const v = (await lp.data()) as Float32Array;
    lp.dispose();
    batch.forEach((si, b) => out[si] = v.slice(b * ids.length, (b + 1) * ids.length));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pure helpers

/** Mean of `xs`; `-Infinity` when empty (a candidate with nothing to score never wins). */
export function meanOf(xs: ArrayLike<number>): number {
  if (xs.length === 0) return -Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/**
 * The threshold θ that maximizes the Matthews correlation of `score > θ ⇒ 1` against binary
 * `labels` (pure, O(n log n)). θ is a midpoint between adjacent distinct scores (or below / above
 * all of them); the first best cut from below wins ties.
 *
 * @example
 * ```ts
 * bestThreshold([-3, -2, -1, 0], [0, 0, 1, 1]); // { threshold: -1.5, mcc: 1 }
 * ```
 */
export function bestThreshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { threshold: number; mcc: number } {
  const n = scores.length;
  if (n === 0 || n !== labels.length) {
    throw new ConfigError(
      `bestThreshold needs equally many scores and labels, got ${n} and ${labels.length}`,
    );
  }
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let P = 0;
  for (let i = 0; i < n; i++) P += labels[i] === 1 ? 1 : 0;
  const Nn = n - P;
  const mccOf = (tp: number, fp: number) => {
    const fn = P - tp, tn = Nn - fp;
    const den = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    return den === 0 ? 0 : (tp * tn - fp * fn) / den;
  };
  // cut k: the k lowest scores predicted 0, the rest 1
  let tp = P, fp = Nn;
  let best = { k: 0, mcc: mccOf(tp, fp) };
  for (let k = 1; k <= n; k++) {
    if (labels[idx[k - 1]] === 1) tp--;
    else fp--;
    if (k < n && scores[idx[k]] === scores[idx[k - 1]]) continue; // no cut between equal scores
    const m = mccOf(tp, fp);
    if (m > best.mcc) best = { k, mcc: m };
  }
  const lo = best.k === 0 ? -Infinity : scores[idx[best.k - 1]];
  const hi = best.k === n ? Infinity : scores[idx[best.k]];
  const threshold = !Number.isFinite(lo) ? hi - 1 : !Number.isFinite(hi) ? lo + 1 : (lo + hi) / 2;
  return { threshold, mcc: best.mcc };
}

/** `(raw - chance) / (reference - chance)`: 0 = chance, 1 = the reference score. */
export function relativeScore(raw: number, chance: number, reference: number): number {
  return (raw - chance) / (reference - chance);
}

/**
 * `n` items spread evenly over `xs` (indices `⌊i·len/n⌋`), in order; all of `xs` when
 * `n >= xs.length`. Deterministic, and unlike the first `n` it covers files sorted by source
 * (CoLA train is grouped by the paper each sentence comes from).
 */
export function evenSample<T>(xs: readonly T[], n: number): T[] {
  if (n >= xs.length) return xs.slice();
  return Array.from({ length: Math.max(0, n) }, (_, i) => xs[Math.floor((i * xs.length) / n)]);
}

/** The context every scored text starts from: `[id of "\n</w>"]` when the vocabulary has it, else `[]`. */
export function contextPrefix(tok: ZeroShotTokenizer): number[] {
  const id = tok.tokenToId("\n</w>");
  return tok.idToToken(id) === "\n</w>" ? [id] : [];
}

// ---------------------------------------------------------------------------------------------
// the four heuristics

/** Options shared by the heuristics. */
export interface HeuristicOptions {
  /** Windows per forward pass (default 16). */
  batchSize?: number;
  /** Ids put before every text (default {@link contextPrefix}). */
  prefix?: number[];
}

/** The outcome of one heuristic on one model. */
export interface HeuristicResult {
  /** Metric: accuracy or Matthews correlation. */
  metric: "acc" | "mcc";
  /** Its value in points (0-100; correlation × 100). */
  raw: number;
  /** Examples scored. */
  n: number;
  /** Predicted class / candidate per example. */
  preds: number[];
  /** Gold labels. */
  labels: number[];
  /** Per example, the score of each class / candidate (acceptability: the one mean log-prob). */
  scores: number[][];
  /** Acceptability only: the threshold chosen on the train sample, and its train MCC (points). */
  threshold?: { value: number; trainMcc: number; nTrain: number };
}

function labelsOf<E extends { label?: number; source: string }>(xs: E[], what: string): number[] {
  return xs.map((e) => {
    if (typeof e.label !== "number") {
      throw new ConfigError(`${what} example ${e.source} has no label`, {
        fix: "use a labeled split (SST-2 / CoLA dev, Story Cloze test)",
      });
    }
    return e.label;
  });
}

/** An accuracy result: `preds` against `labels`, with each example's `scores`. */
function accuracyResult(preds: number[], labels: number[], scores: number[][]): HeuristicResult {
  return {
    metric: "acc",
    raw: 100 * accuracy(preds, labels),
    n: preds.length,
    preds,
    labels,
    scores,
  };
}

function argmax(xs: number[]): number {
  let b = 0;
  for (let k = 1; k < xs.length; k++) if (xs[k] > xs[b]) b = k;
  return b;
}

/**
 * Sentiment (SST-2): `prefix + encode(text) + encode("very")`, then `log P(word | that)` for the
 * words "negative" and "positive"; predicts 1 (positive) when "positive" is more probable.
 * Single-token words (the released vocabulary) are read from one next-token distribution;
 * multi-piece words are scored as whole continuations (sum of their pieces' log-probs).
 * `scores[i] = [log P(negative), log P(positive)]`.
 */
export async function zeroShotSentiment(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: TextExample[],
  opts: HeuristicOptions = {},
): Promise<HeuristicResult> {
  const labels = labelsOf(examples, "SST-2");
  const pre = opts.prefix ?? contextPrefix(tok);
  const very = tok.encode("very"), neg = tok.encode("negative"), pos = tok.encode("positive");
  const prompts = examples.map((e) => [...pre, ...tok.encode(e.text), ...very]);
  let scores: number[][];
  if (neg.length === 1 && pos.length === 1) {
    const lp = await nextTokenLogProbs(model, prompts, [neg[0], pos[0]], opts);
    scores = lp.map((r) => [r[0], r[1]]);
  } else {
    const seqs = prompts.flatMap((p) => [[...p, ...neg], [...p, ...pos]]);
    const scoreFrom = prompts.flatMap((p) => [p.length, p.length]);
    const lp = await sequenceLogProbs(model, seqs, { batchSize: opts.batchSize, scoreFrom });
    const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);
    scores = prompts.map((_, i) => [sum(lp[2 * i]), sum(lp[2 * i + 1])]);
  }
  return accuracyResult(scores.map((s) => (s[1] > s[0] ? 1 : 0)), labels, scores);
}

/** Mean token log-probability of each text (every token after the prefix; see the module doc). */
export async function meanLogProbs(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  texts: string[],
  opts: HeuristicOptions = {},
): Promise<number[]> {
  const pre = opts.prefix ?? contextPrefix(tok);
  const seqs = texts.map((t) => [...pre, ...tok.encode(t)]);
  const scoreFrom = seqs.map(() => Math.max(1, pre.length));
  const lp = await sequenceLogProbs(model, seqs, { batchSize: opts.batchSize, scoreFrom });
  return lp.map(meanOf);
}

/**
 * Acceptability (CoLA): mean token log-probability of each sentence; the threshold that
 * maximizes MCC on `train` is applied to `dev`; reports the dev MCC (points).
 * `scores[i] = [mean log-prob]` of dev example i.
 */
export async function zeroShotAcceptability(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  train: TextExample[],
  dev: TextExample[],
  opts: HeuristicOptions = {},
): Promise<HeuristicResult> {
  const yTrain = labelsOf(train, "CoLA train"), labels = labelsOf(dev, "CoLA dev");
  const all = await meanLogProbs(model, tok, [...train, ...dev].map((e) => e.text), opts);
  const sTrain = all.slice(0, train.length), sDev = all.slice(train.length);
  const th = bestThreshold(sTrain, yTrain);
  const preds = sDev.map((s) => (s > th.threshold ? 1 : 0));
  return {
    metric: "mcc",
    raw: 100 * matthewsCorr(preds, labels),
    n: preds.length,
    preds,
    labels,
    scores: sDev.map((s) => [s]),
    threshold: { value: th.threshold, trainMcc: 100 * th.mcc, nTrain: train.length },
  };
}

/**
 * Multiple choice (Story Cloze, RACE): for each candidate, the mean log-probability of its
 * tokens after `prefix + encode(context) + encode(question)`; predicts the best candidate.
 * Too long inputs lose the start of the document (the answer is always kept).
 */
export async function zeroShotMultipleChoice(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: MultipleChoiceExample[],
  opts: HeuristicOptions = {},
): Promise<HeuristicResult> {
  const labels = labelsOf(examples, "multiple-choice");
  const pre = opts.prefix ?? contextPrefix(tok);
  const candidates = examples.map((e) => {
    const ctx = [...pre, ...tok.encode(e.context), ...(e.question ? tok.encode(e.question) : [])];
    return e.answers.map((a): Candidate => [ctx, tok.encode(a)]);
  });
  return await pickHighestMean(model, candidates, labels, opts);
}

/**
 * Winograd (WSC): for each of the two candidates, {@link wscSubstitute} gives the sentence with
 * the candidate in place of the pronoun, cut into `prefix` (up to the candidate) and `rest`;
 * the score is the mean log-probability of `encode(rest)` given `encode(prefix)` ("partial
 * scoring"). Predicts the candidate with the higher score (the first on a tie).
 */
export async function zeroShotWinograd(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: WscExample[],
  opts: HeuristicOptions = {},
): Promise<HeuristicResult> {
  const labels = labelsOf(examples, "WSC");
  const pre = opts.prefix ?? contextPrefix(tok);
  const candidates = examples.map((e) =>
    ([0, 1] as const).map((k): Candidate => {
      const { prefix, rest } = wscSubstitute(e, k);
      return [[...pre, ...tok.encode(prefix)], tok.encode(rest)];
    })
  );
  return await pickHighestMean(model, candidates, labels, opts);
}

/** A candidate continuation: the context tokens, then the tokens scored. */
type Candidate = [context: number[], continuation: number[]];

/**
 * Scores each example's candidates by the mean log-probability of the continuation's tokens
 * given the context, and predicts the highest (the first on a tie): the shared end of the
 * multiple-choice and Winograd heuristics.
 */
async function pickHighestMean(
  model: LanguageModel,
  candidates: Candidate[][],
  labels: number[],
  opts: HeuristicOptions,
): Promise<HeuristicResult> {
  const flat = candidates.flat();
  const lp = await sequenceLogProbs(model, flat.map(([c, x]) => [...c, ...x]), {
    batchSize: opts.batchSize,
    scoreFrom: flat.map(([c]) => Math.max(1, c.length)),
  });
  let k = 0;
  const scores = candidates.map((c) => c.map(() => meanOf(lp[k++])));
  return accuracyResult(scores.map(argmax), labels, scores);
}

// ---------------------------------------------------------------------------------------------
// curves over the checkpoints of a run

/** The tasks of {@link zeroShotCurves}. */
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

/**
 * Chance and reference per task. The references are **our choice** (the paper normalised by
 * the then state-of-the-art single model without printing those values): the paper's own
 * fine-tuned GPT-1 scores (SST-2 91.3 acc and CoLA 45.4 MCC, Table 4; Story Cloze 86.5 and RACE
 * 59.0 acc, Table 3). The paper has no fine-tuned Winograd number, so WSC uses 62.6, the single
 * word-level LM with partial scoring of Trinh & Le 2018 on WSC273, i.e. the same kind of
 * zero-shot LM heuristic done with a much larger LM.
 */
export const ZEROSHOT_TASKS: Readonly<Record<ZeroShotTaskName, Readonly<ZeroShotTaskInfo>>> = {
  sst2: {
    heuristic: "sentiment",
    dataset: "SST-2",
    split: "dev",
    metric: "acc",
    chance: 50,
    reference: 91.3,
    referenceSource: "GPT-1 fine-tuned, paper Table 4 (SST-2 acc)",
  },
  cola: {
    heuristic: "acceptability",
    dataset: "CoLA",
    split: "dev",
    metric: "mcc",
    chance: 0,
    reference: 45.4,
    referenceSource: "GPT-1 fine-tuned, paper Table 4 (CoLA mc)",
  },
  storycloze: {
    heuristic: "qa",
    dataset: "Story Cloze",
    split: "test",
    metric: "acc",
    chance: 50,
    reference: 86.5,
    referenceSource: "GPT-1 fine-tuned, paper Table 3 (Story Cloze acc)",
  },
  race: {
    heuristic: "qa",
    dataset: "RACE",
    split: "test",
    metric: "acc",
    chance: 25,
    reference: 59.0,
    referenceSource: "GPT-1 fine-tuned, paper Table 3 (RACE acc)",
  },
  wsc: {
    heuristic: "winograd",
    dataset: "WSC273",
    split: "wsc273",
    metric: "acc",
    chance: 50,
    reference: 62.6,
    referenceSource: "Trinh & Le 2018 (arXiv:1806.02847), single word-level LM, partial scoring, " +
      "WSC273 (the paper reports no fine-tuned Winograd score; it used DPRD)",
  },
};

/** Default examples per task (`colaTrain`: the CoLA train sample that sets the threshold). */
export const ZEROSHOT_CAPS: Readonly<Record<ZeroShotTaskName | "colaTrain", number>> = {
  sst2: 400,
  cola: 500,
  colaTrain: 2000,
  storycloze: 400,
  race: 400,
  wsc: 273,
};

const TASK_ORDER: readonly ZeroShotTaskName[] = ["sst2", "cola", "storycloze", "race", "wsc"];

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

/** Options of {@link zeroShotCurves}. */
export interface ZeroShotCurvesOptions {
  /** Folder with one folder per benchmark (`../shared/datasets`). */
  dataRoot: string;
  /** Tokenizer of the run (default: `loadVocab(<runDir>/vocab)`). */
  tokenizer?: ZeroShotTokenizer & { hash?: string };
  /** Tasks (default: every task whose data folder exists under `dataRoot`). */
  tasks?: ZeroShotTaskName[];
  /** Examples per task, evenly spaced over the split (defaults {@link ZEROSHOT_CAPS}). */
  maxExamples?: Partial<Record<ZeroShotTaskName | "colaTrain", number>>;
  /** Windows per forward pass (default 16). */
  batchSize?: number;
  /** Only these checkpoint steps (default all). */
  steps?: number[];
  /** Recompute points already in `zeroshot.json` (default false: they are skipped). */
  force?: boolean;
  /** Progress display (one unit = one task on one checkpoint). */
  progress?: Progress;
}

/** The data folder of each zero-shot task under the datasets folder (the one map of them). */
export const ZEROSHOT_FOLDERS: Readonly<Record<ZeroShotTaskName, string>> = {
  sst2: "SST-2",
  cola: "CoLA",
  storycloze: "StoryCloze",
  race: "RACE",
  wsc: "WSC",
};

interface TaskData {
  sst2?: TextExample[];
  cola?: { train: TextExample[]; dev: TextExample[] };
  storycloze?: MultipleChoiceExample[];
  race?: MultipleChoiceExample[];
  wsc?: WscExample[];
}

async function loadZeroShotData(
  root: string,
  tasks: ZeroShotTaskName[],
  caps: Record<ZeroShotTaskName | "colaTrain", number>,
): Promise<TaskData> {
  const d: TaskData = {};
  const split = (t: ZeroShotTaskName) => ZEROSHOT_TASKS[t].split as Split;
  for (const t of tasks) {
    if (t === "sst2") {
      d.sst2 = evenSample(
        (await loadTask("sst2", root, "dev")).examples as TextExample[],
        caps.sst2,
      );
    } else if (t === "cola") {
      const train = (await loadTask("cola", root, "train")).examples as TextExample[];
      const dev = (await loadTask("cola", root, "dev")).examples as TextExample[];
      d.cola = { train: evenSample(train, caps.colaTrain), dev: evenSample(dev, caps.cola) };
    } else if (t === "storycloze" || t === "race") {
      const ex = (await loadTask(t, root, split(t))).examples as MultipleChoiceExample[];
      d[t] = evenSample(ex, caps[t]);
    } else {
      d.wsc = evenSample(
        (await loadWsc(join(root, ZEROSHOT_FOLDERS.wsc), "wsc273")).examples,
        caps.wsc,
      );
    }
  }
  return d;
}

async function runTask(
  t: ZeroShotTaskName,
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  d: TaskData,
  o: HeuristicOptions,
): Promise<HeuristicResult> {
  switch (t) {
    case "sst2":
      return await zeroShotSentiment(model, tok, d.sst2!, o);
    case "cola":
      return await zeroShotAcceptability(model, tok, d.cola!.train, d.cola!.dev, o);
    case "storycloze":
    case "race":
      return await zeroShotMultipleChoice(model, tok, d[t]!, o);
    case "wsc":
      return await zeroShotWinograd(model, tok, d.wsc!, o);
  }
}

async function resolveTasks(
  dataRoot: string,
  tasks?: ZeroShotTaskName[],
): Promise<ZeroShotTaskName[]> {
  if (tasks) {
    for (const t of tasks) {
      if (!(t in ZEROSHOT_TASKS)) {
        throw new ConfigError(`unknown zero-shot task '${t}'`, {
          fix: `use ${TASK_ORDER.join(", ")}`,
        });
      }
    }
    return tasks;
  }
  const found: ZeroShotTaskName[] = [];
  for (const t of TASK_ORDER) if (await exists(join(dataRoot, ZEROSHOT_FOLDERS[t]))) found.push(t);
  if (found.length === 0) {
    throw new ConfigError(
      `no benchmark folders (${Object.values(ZEROSHOT_FOLDERS).join(", ")}) found`,
      {
        file: dataRoot,
        fix: "pass dataRoot = the datasets folder (../shared/datasets)",
      },
    );
  }
  return found;
}

/** The share (0–1) of the most frequent value; 0 for none. */
export function topShare(xs: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return xs.length ? Math.max(...counts.values()) / xs.length : 0;
}

async function evaluateRow(
  t: ZeroShotTaskName,
  step: number,
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  data: TaskData,
  batchSize?: number,
): Promise<ZeroShotRow> {
  const t0 = performance.now();
  const r = await runTask(t, model, tok, data, { batchSize });
  const info = ZEROSHOT_TASKS[t];
  const row: ZeroShotRow = {
    step,
    task: t,
    ...info,
    raw: r.raw,
    relative: relativeScore(r.raw, info.chance, info.reference),
    n: r.n,
    seconds: (performance.now() - t0) / 1000,
  };
  if (r.metric === "acc") row.majority = 100 * topShare(r.labels);
  row.predictedShare = 100 * topShare(r.preds);
  if (r.threshold) {
    row.threshold = r.threshold.value;
    row.nTrain = r.threshold.nTrain;
  }
  return row;
}

/** Options of {@link zeroShotEvaluate}. */
export type ZeroShotEvaluateOptions =
  & Pick<ZeroShotCurvesOptions, "dataRoot" | "tasks" | "maxExamples" | "batchSize" | "progress">
  & {
    /** The `step` written into the rows (default 0). */
    step?: number;
  };

/**
 * Every heuristic on one model (e.g. the released GPT-1 from `loadReleasedModel`): the rows
 * {@link zeroShotCurves} would write for it, nothing written to disk.
 *
 * @example
 * ```ts
 * const rows = await zeroShotEvaluate(model, await loadVocab("gpt1"), { dataRoot: "../shared/datasets" });
 * ```
 */
export async function zeroShotEvaluate(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  opts: ZeroShotEvaluateOptions,
): Promise<ZeroShotRow[]> {
  const tasks = await resolveTasks(opts.dataRoot, opts.tasks);
  const data = await loadZeroShotData(opts.dataRoot, tasks, {
    ...ZEROSHOT_CAPS,
    ...opts.maxExamples,
  });
  const progress = opts.progress ?? silentProgress;
  const rows: ZeroShotRow[] = [];
  for (const t of tasks) {
    rows.push(await evaluateRow(t, opts.step ?? 0, model, tok, data, opts.batchSize));
    progress.update({ done: rows.length, total: tasks.length, fields: { task: t } });
  }
  progress.finish();
  return rows;
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

/**
 * Evaluates every heuristic on every saved `ckpt-<step>.safetensors` of a pre-training run and
 * writes `<runDir>/zeroshot.json` ({@link ZeroShotFile}): one {@link ZeroShotRow} per
 * (checkpoint, task), with the raw score and the relative performance (0 = chance, 1 = the
 * reference in {@link ZEROSHOT_TASKS}) against update count. The file is rewritten atomically
 * after each checkpoint, and points already in it are skipped, so a killed run resumes.
 * Each checkpoint is loaded, evaluated and disposed in turn; the data are loaded and capped
 * once ({@link ZEROSHOT_CAPS}, evenly spaced samples). Uses the current tfjs backend (select
 * one first).
 *
 * @example
 * ```ts
 * await selectBackend();
 * const { rows } = await zeroShotCurves("results/small", {
 *   dataRoot: "../shared/datasets",
 *   progress: terminalProgress("zeroshot"),
 * });
 * rows.filter((r) => r.task === "sst2").map((r) => [r.step, r.relative]);
 * ```
 */
export async function zeroShotCurves(
  runDir: string,
  opts: ZeroShotCurvesOptions,
): Promise<{ path: string; rows: ZeroShotRow[] }> {
  const path = join(runDir, "zeroshot.json");
  const progress = opts.progress ?? silentProgress;
  const caps = { ...ZEROSHOT_CAPS, ...opts.maxExamples };
  const tasks = await resolveTasks(opts.dataRoot, opts.tasks);
  let ckpts = await listCheckpoints(runDir);
  if (opts.steps) ckpts = ckpts.filter((c) => opts.steps!.includes(c.step));
  if (ckpts.length === 0) {
    throw new CheckpointError("no ckpt-<step>.safetensors files in the run folder", {
      file: runDir,
      fix: "pre-train first (deno task gpt1 pretrain --out <run>)",
    });
  }
  const rows = opts.force ? [] : await readZeroShot(runDir);
  const done = new Set(rows.map((r) => `${r.step}:${r.task}`));
  const todo = ckpts.map((c) => ({
    ...c,
    tasks: tasks.filter((t) => !done.has(`${c.step}:${t}`)),
  }));
  const total = todo.reduce((s, c) => s + c.tasks.length, 0);
  if (total === 0) {
    progress.finish("zero-shot: every point is already in zeroshot.json");
    return { path, rows };
  }
  const tok = opts.tokenizer ?? await loadVocab(join(runDir, "vocab"));
  const needed = [...new Set(todo.flatMap((c) => c.tasks))];
  const data = await loadZeroShotData(opts.dataRoot, needed, caps);
  let count = 0;
  for (const c of todo) {
    if (c.tasks.length === 0) continue;
    const ck = await loadAnyCheckpoint(c.path);
    try {
      if (ck.vocabHash && tok.hash && ck.vocabHash !== tok.hash) {
        throw new CheckpointError("the checkpoint was trained with another vocabulary", {
          file: c.path,
          fix: "pass the run's tokenizer (loadVocab(<run>/vocab))",
        });
      }
      for (const t of c.tasks) {
        const row = await evaluateRow(t, c.step, ck.model, tok, data, opts.batchSize);
        rows.push(row);
        progress.update({
          done: ++count,
          total,
          fields: { step: c.step, task: t, [row.metric]: row.raw.toFixed(1) },
        });
      }
    } finally {
      ck.model.dispose();
    }
    rows.sort((a, b) => a.step - b.step || TASK_ORDER.indexOf(a.task) - TASK_ORDER.indexOf(b.task));
    await writeJsonAtomic(
      path,
      {
        format: "gpt1-lab/zeroshot-1",
        normalisation: "relative = (raw - chance) / (reference - chance); raw in points; " +
          "references per row (referenceSource)",
        rows,
      } satisfies ZeroShotFile,
    );
  }
  progress.finish(`zero-shot: ${count} points → ${path}`);
  return { path, rows };
}

/** The task key of a registry or display name accepted by {@link zeroShotCurves} (`"SST-2"` → `sst2`). */
export function zeroShotTaskName(name: string): ZeroShotTaskName {
  const k = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (k === "wsc" || k === "wsc273" || k === "winograd") return "wsc";
  const n = getTask(name).name;
  if ((TASK_ORDER as readonly string[]).includes(n)) return n as ZeroShotTaskName;
  throw new ConfigError(`task '${name}' has no zero-shot heuristic`, {
    fix: `use ${TASK_ORDER.join(", ")}`,
  });
}
