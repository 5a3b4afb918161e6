/**
 * Scoring text with a language model, batched: the log-probability of every scored token of
 * many sequences ({@link sequenceLogProbs}: sorted by length, right-padded (safe with a causal
 * model), cut into context-length windows that keep the scored tail, the LM head applied only
 * at the scored positions), next-token log-probabilities ({@link nextTokenLogProbs}), and the
 * small pure helpers of the zero-shot heuristics (means, the best threshold, relative scores,
 * even samples, the newline context prefix).
 *
 * @example
 * ```ts
 * import { sequenceLogProbs } from "./scoring.ts";
 * const lp = await sequenceLogProbs(model, [[1, 2, 3, 4]], { scoreFrom: [1] }); // [Float32Array(3)]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "./errors.ts";
import { ZEROSHOT_DEFAULTS } from "./config.ts";
import type { LanguageModel } from "./language_model.ts";

/** What the heuristics need from a tokenizer (the GPT-1 tokenizer has all of it). */
export interface ZeroShotTokenizer {
  /** Text → token ids, exactly as in pre-training. */
  encode(text: string): number[];
  /** The id of a piece (the unknown id when absent). */
  tokenToId(piece: string): number;
  /** The piece of an id. */
  idToToken(id: number): string;
}

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
