/**
 * Zero-shot measures **added to the paper's** (issue 14, section 6; not in the paper): they
 * remove the label-word bias of a small language model, which makes the paper's raw
 * heuristics sit at chance (a small LM answers "positive" for every sentence). The paper's four
 * heuristics stay as they are (zeroshot_heuristics.ts); these are reported beside them, in
 * their own file (`<run>/zeroshot-additions.json`), each row labelled an addition.
 *
 * - **sst2-calibrated** (accuracy): the sentiment heuristic's label-word probabilities with
 *   contextual calibration (Zhao et al. 2021, "Calibrate Before Use"): the probabilities of
 *   "negative" / "positive" renormalised over the two words, divided by their mean over three
 *   content-free inputs ("N/A", "", "[MASK]") put through the same prompt, argmax.
 * - **sst2-auroc** (AUROC × 100): of `log p(positive) − log p(negative)` against the labels.
 *   Threshold-free: it shows whether the ranking carries signal whatever the prior. (For two
 *   classes calibration only shifts that log-odds by a constant, so this AUROC is also the
 *   calibrated one.)
 * - **cola-auroc** (AUROC × 100): of the mean token log-probability (the acceptability
 *   heuristic's score) against acceptable / unacceptable, instead of the MCC at one threshold.
 * - **storycloze-pmi** (accuracy): each ending scored by pointwise mutual information,
 *   `log p(ending | story) − log p(ending)` (sums over the ending's tokens; the unconditional
 *   term is the ending after the newline context prefix alone), as domain-conditional PMI
 *   (Holtzman et al. 2021) does; the paper's heuristic uses the mean log-probability.
 *
 * Same data samples as the paper's heuristics (ZEROSHOT_CAPS: evenly spaced SST-2 dev, CoLA
 * dev, Story Cloze test), same context prefix, same batched scorer.
 *
 * @example
 * ```ts
 * import { zeroShotAdditionCurves } from "./zeroshot_additions.ts";
 * const { rows } = await zeroShotAdditionCurves("results/small", { dataRoot: "../shared/datasets" });
 * ```
 * @module
 */
import { join } from "node:path";
import { checkSameVocab, loadAnyCheckpoint } from "./checkpoint.ts";
import { ConfigError } from "./errors.ts";
import { exists, writeJsonAtomic } from "./fsutil.ts";
import type { LanguageModel } from "./language_model.ts";
import { accuracy, argmaxRows, auroc } from "./metrics.ts";
import { type Progress, silentProgress } from "./progress.ts";
import { runCheckpoints } from "./runs.ts";
import { contextPrefix, evenSample, sequenceLogProbs, type ZeroShotTokenizer } from "./scoring.ts";
import { loadTask, type MultipleChoiceExample, type TextExample } from "./tasks/mod.ts";
import { loadVocab } from "./vocab.ts";
import { type HeuristicOptions, meanLogProbs, zeroShotSentiment } from "./zeroshot_heuristics.ts";
import { ZEROSHOT_CAPS, ZEROSHOT_FOLDERS } from "./zeroshot.ts";

/** The added measures. */
export type AdditionMeasure = "sst2-calibrated" | "sst2-auroc" | "cola-auroc" | "storycloze-pmi";

/** Measure order in files and charts. */
export const ADDITION_MEASURES: readonly AdditionMeasure[] = [
  "sst2-calibrated",
  "sst2-auroc",
  "cola-auroc",
  "storycloze-pmi",
];

/** The content-free inputs of contextual calibration (Zhao et al. 2021). */
export const CONTENT_FREE_INPUTS: readonly string[] = ["N/A", "", "[MASK]"];

/** One measure on one checkpoint (a row of zeroshot-additions.json). */
export interface AdditionRow {
  /** Pre-training updates of the checkpoint. */
  step: number;
  /** The measure. */
  measure: AdditionMeasure;
  /** Always true: these are not the paper's heuristics. */
  addition: true;
  /** `acc` or `auroc`, in points (AUROC × 100). */
  metric: "acc" | "auroc";
  /** Value in points. */
  value: number;
  /** Chance in points (50 for every measure here). */
  chance: number;
  /** Examples scored. */
  n: number;
  /** Share (points) of the most frequent prediction, for the accuracy measures. */
  predictedShare?: number;
  /** sst2-calibrated: the content-free probability of "positive" (0–1), the prior removed. */
  contentFreePositive?: number;
}

/** Log-softmax of a row (pure). */
function logSoftmax(xs: readonly number[]): number[] {
  const m = Math.max(...xs);
  const lse = m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
  return xs.map((x) => x - lse);
}

/**
 * Contextual calibration (pure): per example the label-word log-probabilities `scores[i]`
 * (e.g. `[log p(negative), log p(positive)]`), renormalised over the labels, minus the log of
 * the mean renormalised probabilities of the content-free inputs `contentFree`; the
 * prediction is the argmax (the first on a tie).
 *
 * @example
 * ```ts
 * // the model prefers "positive" 3:1 whatever the input; calibration removes that prior
 * calibrate([[Math.log(0.3), Math.log(0.7)]], [[Math.log(0.25), Math.log(0.75)]]).preds; // [0]
 * ```
 */
export function calibrate(
  scores: readonly (readonly number[])[],
  contentFree: readonly (readonly number[])[],
): { preds: number[]; calibrated: number[][]; prior: number[] } {
  if (contentFree.length === 0) throw new ConfigError("calibration needs content-free inputs");
  const K = contentFree[0].length;
  const prior = new Array<number>(K).fill(0);
  for (const row of contentFree) {
    logSoftmax(row).forEach((l, k) => prior[k] += Math.exp(l) / contentFree.length);
  }
  const calibrated = scores.map((row) => logSoftmax(row).map((l, k) => l - Math.log(prior[k])));
  const preds = argmaxRows(calibrated);
  return { preds, calibrated, prior };
}

function share(xs: readonly number[]): number {
  const c = new Map<number, number>();
  for (const x of xs) c.set(x, (c.get(x) ?? 0) + 1);
  return xs.length ? 100 * Math.max(...c.values()) / xs.length : 0;
}

/** A row of an added measure (chance is 50 for every one); `extra` goes after `n`. */
function additionRow(
  step: number,
  measure: AdditionMeasure,
  metric: AdditionRow["metric"],
  value: number,
  n: number,
  extra: Pick<AdditionRow, "predictedShare" | "contentFreePositive"> = {},
): AdditionRow {
  return { step, measure, addition: true, metric, value, chance: 50, n, ...extra };
}

/** sst2-calibrated and sst2-auroc on one model (`step` goes into the rows). */
export async function sentimentAdditions(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: TextExample[],
  step = 0,
  opts: HeuristicOptions = {},
): Promise<AdditionRow[]> {
  const r = await zeroShotSentiment(model, tok, examples, opts);
  const cf = await zeroShotSentiment(
    model,
    tok,
    CONTENT_FREE_INPUTS.map((text, i) => ({
      id: `cf${i}`,
      text,
      label: 0,
      source: "content-free",
    })),
    opts,
  );
  const cal = calibrate(r.scores, cf.scores);
  const auc = 100 * auroc(r.scores.map((s) => s[1] - s[0]), r.labels);
  return [
    additionRow(step, "sst2-calibrated", "acc", 100 * accuracy(cal.preds, r.labels), r.n, {
      predictedShare: share(cal.preds),
      contentFreePositive: cal.prior[1],
    }),
    additionRow(step, "sst2-auroc", "auroc", auc, r.n),
  ];
}

/** cola-auroc on one model: AUROC of the mean token log-probability against the labels. */
export async function acceptabilityAuroc(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  dev: TextExample[],
  step = 0,
  opts: HeuristicOptions = {},
): Promise<AdditionRow> {
  const labels = dev.map((e) => e.label!);
  const s = await meanLogProbs(model, tok, dev.map((e) => e.text), opts);
  return additionRow(step, "cola-auroc", "auroc", 100 * auroc(s, labels), dev.length);
}

/**
 * PMI scores of multiple-choice candidates (Story Cloze): per example and ending,
 * `Σ log p(ending | prefix + story) − Σ log p(ending | prefix)`. The first ending token is
 * scored in both terms, so the prefix must not be empty (a vocabulary without the newline
 * piece gets the ending's first token skipped in both).
 */
export async function pmiScores(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: MultipleChoiceExample[],
  opts: HeuristicOptions = {},
): Promise<number[][]> {
  const pre = opts.prefix ?? contextPrefix(tok);
  const seqs: number[][] = [], from: number[] = [];
  for (const e of examples) {
    const ctx = [...pre, ...tok.encode(e.context), ...(e.question ? tok.encode(e.question) : [])];
    for (const a of e.answers) {
      const x = tok.encode(a);
      // conditional, then unconditional; with an empty prefix both skip the first ending token
      const skip = pre.length === 0 ? 1 : 0;
      seqs.push([...ctx, ...x], [...pre, ...x]);
      from.push(Math.max(1, ctx.length + skip), Math.max(1, pre.length + skip));
    }
  }
  const lp = await sequenceLogProbs(model, seqs, { batchSize: opts.batchSize, scoreFrom: from });
  const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);
  let k = 0;
  return examples.map((e) =>
    e.answers.map(() => {
      const v = sum(lp[k]) - sum(lp[k + 1]);
      k += 2;
      return v;
    })
  );
}

/** storycloze-pmi on one model: accuracy of the PMI argmax. */
export async function storyClozePmi(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  examples: MultipleChoiceExample[],
  step = 0,
  opts: HeuristicOptions = {},
): Promise<AdditionRow> {
  const s = await pmiScores(model, tok, examples, opts);
  const preds = argmaxRows(s);
  const value = 100 * accuracy(preds, examples.map((e) => e.label!));
  return additionRow(step, "storycloze-pmi", "acc", value, examples.length, {
    predictedShare: share(preds),
  });
}

/** The data of the added measures (the same evenly spaced samples as the paper's heuristics). */
export interface AdditionData {
  /** SST-2 dev sample. */
  sst2?: TextExample[];
  /** CoLA dev sample. */
  cola?: TextExample[];
  /** Story Cloze test sample. */
  storycloze?: MultipleChoiceExample[];
}

/** Loads the samples for the measures whose data folder exists under `dataRoot`. */
export async function loadAdditionData(
  dataRoot: string,
  caps: { sst2?: number; cola?: number; storycloze?: number } = {},
): Promise<AdditionData> {
  const d: AdditionData = {};
  const has = (t: "sst2" | "cola" | "storycloze") => exists(join(dataRoot, ZEROSHOT_FOLDERS[t]));
  if (await has("sst2")) {
    const ex = (await loadTask("sst2", dataRoot, "dev")).examples as TextExample[];
    d.sst2 = evenSample(ex, caps.sst2 ?? ZEROSHOT_CAPS.sst2);
  }
  if (await has("cola")) {
    const ex = (await loadTask("cola", dataRoot, "dev")).examples as TextExample[];
    d.cola = evenSample(ex, caps.cola ?? ZEROSHOT_CAPS.cola);
  }
  if (await has("storycloze")) {
    const ex = (await loadTask("storycloze", dataRoot, "test")).examples as MultipleChoiceExample[];
    d.storycloze = evenSample(ex, caps.storycloze ?? ZEROSHOT_CAPS.storycloze);
  }
  if (!d.sst2 && !d.cola && !d.storycloze) {
    throw new ConfigError("no SST-2, CoLA or StoryCloze folder", {
      file: dataRoot,
      fix: "pass the datasets folder (../shared/datasets)",
    });
  }
  return d;
}

/** Every added measure with data on one model. */
export async function zeroShotAdditions(
  model: LanguageModel,
  tok: ZeroShotTokenizer,
  data: AdditionData,
  step = 0,
  opts: HeuristicOptions = {},
): Promise<AdditionRow[]> {
  const rows: AdditionRow[] = [];
  if (data.sst2) rows.push(...await sentimentAdditions(model, tok, data.sst2, step, opts));
  if (data.cola) rows.push(await acceptabilityAuroc(model, tok, data.cola, step, opts));
  if (data.storycloze) rows.push(await storyClozePmi(model, tok, data.storycloze, step, opts));
  return rows;
}

/** The file {@link zeroShotAdditionCurves} writes in a run folder. */
export const ADDITIONS_FILE = "zeroshot-additions.json";

/**
 * The added measures on every `ckpt-<step>.safetensors` of a pre-training run (Transformer or
 * LSTM): `<runDir>/zeroshot-additions.json`, rewritten atomically after each checkpoint;
 * checkpoints already in it are skipped unless `force` (a killed run resumes).
 */
export async function zeroShotAdditionCurves(
  runDir: string,
  opts: {
    dataRoot: string;
    tokenizer?: ZeroShotTokenizer & { hash?: string };
    maxExamples?: { sst2?: number; cola?: number; storycloze?: number };
    batchSize?: number;
    steps?: number[];
    force?: boolean;
    progress?: Progress;
  },
): Promise<{ path: string; rows: AdditionRow[] }> {
  const path = join(runDir, ADDITIONS_FILE);
  const progress = opts.progress ?? silentProgress;
  const ckpts = await runCheckpoints(runDir, opts.steps);
  let rows: AdditionRow[] = [];
  if (!opts.force && (await exists(path))) {
    rows = JSON.parse(await Deno.readTextFile(path)).rows ?? [];
  }
  const done = new Set(rows.map((r) => r.step));
  const todo = ckpts.filter((c) => !done.has(c.step));
  const tok = opts.tokenizer ?? await loadVocab(join(runDir, "vocab"));
  const data = todo.length ? await loadAdditionData(opts.dataRoot, opts.maxExamples) : {};
  for (const [i, c] of todo.entries()) {
    const ck = await loadAnyCheckpoint(c.path);
    try {
      checkSameVocab(ck, tok, c.path);
      rows.push(...await zeroShotAdditions(ck.model, tok, data, c.step, opts));
    } finally {
      ck.model.dispose();
    }
    rows.sort((a, b) =>
      a.step - b.step || ADDITION_MEASURES.indexOf(a.measure) - ADDITION_MEASURES.indexOf(b.measure)
    );
    await writeJsonAtomic(path, {
      format: "gpt1-lab/zeroshot-additions-1",
      note: "additions beyond the paper (issue 14): contextual calibration, AUROC, PMI; the " +
        "paper's four heuristics are in zeroshot.json",
      rows,
    });
    progress.update({ done: i + 1, total: todo.length, fields: { step: c.step } });
  }
  progress.finish(`zero-shot additions: ${todo.length} checkpoints → ${path}`);
  return { path, rows };
}
