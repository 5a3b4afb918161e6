/**
 * The four zero-shot heuristics of the paper (§5, Figure 2 right), each scoring a pre-trained
 * language model on one task with no fine-tuning and no special tokens (see `zeroshot.ts` for
 * what each does and how the curves over pre-training are made).
 *
 * @example
 * ```ts
 * import { zeroShotSentiment } from "./zeroshot_heuristics.ts";
 * const r = await zeroShotSentiment(model, tokenizer, examples); // r.raw: accuracy in points
 * ```
 * @module
 */
import { accuracy, argmaxRows, matthewsCorr } from "./metrics.ts";
import type { LanguageModel } from "./language_model.ts";
import {
  type MultipleChoiceExample,
  type TextExample,
  type WscExample,
  wscSubstitute,
} from "./tasks/mod.ts";
import { ConfigError } from "./errors.ts";
import {
  bestThreshold,
  contextPrefix,
  meanOf,
  nextTokenLogProbs,
  sequenceLogProbs,
  type ZeroShotTokenizer,
} from "./scoring.ts";

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
  return accuracyResult(argmaxRows(scores), labels, scores);
}
