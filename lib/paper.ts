/**
 * The GPT-1 paper's numbers as typed data (Radford et al. 2018, "Improving Language
 * Understanding by Generative Pre-Training"): Tables 2–5 and both panels of Figure 2, as
 * transcribed and digitized in `../shared/notes/paper.md` §3. Scores are in the paper's
 * **points (0-100)**; correlations (mc, pc) are × 100, like the paper prints them and like
 * `metrics.ts`'s `taskMetric` returns them. Figure 2 right is the paper's normalised score
 * (0 = random guess, 1 = the state of the art of the time).
 *
 * @example
 * ```ts
 * import { PAPER_SCORES, TABLE4 } from "./paper.ts";
 * PAPER_SCORES.cola; // { value: 45.4, metric: "mcc", table: "table4" }
 * TABLE4.rows.find((r) => r.ours)?.scores.glue; // 72.8
 * ```
 * @module
 */

/** Metric abbreviations as the paper prints them, mapped to `metrics.ts` names. */
export type PaperMetric = "acc" | "f1" | "mcc" | "pearson" | "score";

/** A column of a results table. */
export interface PaperColumn {
  /** Key used in `PaperRow.scores` (a task registry name where there is one). */
  key: string;
  /** Header as printed. */
  label: string;
  /** What the column measures. */
  metric: PaperMetric;
}

/** A row of a results table. */
export interface PaperRow {
  /** Method name as printed (with its reference number). */
  method: string;
  /** Ensemble size when the paper marks one ("5x"). */
  ensemble?: number;
  /** True for the paper's own model. */
  ours?: boolean;
  /** Scores by column key; a column absent here is "-" or blank in the paper. */
  scores: Readonly<Record<string, number>>;
}

/** One results table. */
export interface PaperTable {
  /** "table2" .. "table5". */
  id: string;
  /** Caption (shortened). */
  title: string;
  /** Page in the PDF. */
  page: number;
  /** Columns in printed order. */
  columns: readonly PaperColumn[];
  /** Rows in printed order. */
  rows: readonly PaperRow[];
}

/** Table 2: natural language inference (accuracy). */
export const TABLE2: PaperTable = {
  id: "table2",
  title: "Experimental results on natural language inference tasks",
  page: 6,
  columns: [
    { key: "mnli-m", label: "MNLI-m", metric: "acc" },
    { key: "mnli-mm", label: "MNLI-mm", metric: "acc" },
    { key: "snli", label: "SNLI", metric: "acc" },
    { key: "scitail", label: "SciTail", metric: "acc" },
    { key: "qnli", label: "QNLI", metric: "acc" },
    { key: "rte", label: "RTE", metric: "acc" },
  ],
  rows: [
    { method: "ESIM + ELMo [44]", ensemble: 5, scores: { snli: 89.3 } },
    { method: "CAFE [58]", ensemble: 5, scores: { "mnli-m": 80.2, "mnli-mm": 79.0, snli: 89.3 } },
    {
      method: "Stochastic Answer Network [35]",
      ensemble: 3,
      scores: { "mnli-m": 80.6, "mnli-mm": 80.1 },
    },
    {
      method: "CAFE [58]",
      scores: { "mnli-m": 78.7, "mnli-mm": 77.9, snli: 88.5, scitail: 83.3 },
    },
    { method: "GenSen [64]", scores: { "mnli-m": 71.4, "mnli-mm": 71.3, qnli: 82.3, rte: 59.2 } },
    {
      method: "Multi-task BiLSTM + Attn [64]",
      scores: { "mnli-m": 72.2, "mnli-mm": 72.1, qnli: 82.1, rte: 61.7 },
    },
    {
      method: "Finetuned Transformer LM (ours)",
      ours: true,
      scores: {
        "mnli-m": 82.1,
        "mnli-mm": 81.4,
        snli: 89.9,
        scitail: 88.3,
        qnli: 88.1,
        rte: 56.0,
      },
    },
  ],
};

/** Table 3: question answering and commonsense reasoning (accuracy). */
export const TABLE3: PaperTable = {
  id: "table3",
  title: "Results on question answering and commonsense reasoning",
  page: 6,
  columns: [
    { key: "storycloze", label: "Story Cloze", metric: "acc" },
    { key: "race-m", label: "RACE-m", metric: "acc" },
    { key: "race-h", label: "RACE-h", metric: "acc" },
    { key: "race", label: "RACE", metric: "acc" },
  ],
  rows: [
    { method: "val-LS-skip [55]", scores: { storycloze: 76.5 } },
    { method: "Hidden Coherence Model [7]", scores: { storycloze: 77.6 } },
    {
      method: "Dynamic Fusion Net [67]",
      ensemble: 9,
      scores: { "race-m": 55.6, "race-h": 49.4, race: 51.2 },
    },
    {
      method: "BiAttention MRU [59]",
      ensemble: 9,
      scores: { "race-m": 60.2, "race-h": 50.3, race: 53.3 },
    },
    {
      method: "Finetuned Transformer LM (ours)",
      ours: true,
      scores: { storycloze: 86.5, "race-m": 62.9, "race-h": 57.4, race: 59.0 },
    },
  ],
};

/** Table 4: semantic similarity and classification (GLUE test server). */
export const TABLE4: PaperTable = {
  id: "table4",
  title: "Semantic similarity and classification results (GLUE)",
  page: 7,
  columns: [
    { key: "cola", label: "CoLA (mc)", metric: "mcc" },
    { key: "sst2", label: "SST2 (acc)", metric: "acc" },
    { key: "mrpc", label: "MRPC (F1)", metric: "f1" },
    { key: "stsb", label: "STSB (pc)", metric: "pearson" },
    { key: "qqp", label: "QQP (F1)", metric: "f1" },
    { key: "glue", label: "GLUE", metric: "score" },
  ],
  rows: [
    { method: "Sparse byte mLSTM [16]", scores: { sst2: 93.2 } },
    { method: "TF-KLD [23]", scores: { mrpc: 86.0 } },
    { method: "ECNU (mixed ensemble) [60]", scores: { stsb: 81.0 } },
    {
      method: "Single-task BiLSTM + ELMo + Attn [64]",
      scores: { cola: 35.0, sst2: 90.2, mrpc: 80.2, stsb: 55.5, qqp: 66.1, glue: 64.8 },
    },
    {
      method: "Multi-task BiLSTM + ELMo + Attn [64]",
      scores: { cola: 18.9, sst2: 91.6, mrpc: 83.5, stsb: 72.8, qqp: 63.3, glue: 68.9 },
    },
    {
      method: "Finetuned Transformer LM (ours)",
      ours: true,
      scores: { cola: 45.4, sst2: 91.3, mrpc: 82.3, stsb: 82.0, qqp: 70.3, glue: 72.8 },
    },
  ],
};

/**
 * Table 5: ablations. `avg` is the unweighted mean of the 8 task columns (recomputed:
 * 74.65 / 59.93 / 75.03 / 69.16; the LSTM row prints 69.1). `mnli` ≈ mean of MNLI-m and -mm.
 */
export const TABLE5: PaperTable = {
  id: "table5",
  title: "Analysis of various model ablations on different tasks",
  page: 8,
  columns: [
    { key: "avg", label: "Avg. Score", metric: "score" },
    { key: "cola", label: "CoLA (mc)", metric: "mcc" },
    { key: "sst2", label: "SST2 (acc)", metric: "acc" },
    { key: "mrpc", label: "MRPC (F1)", metric: "f1" },
    { key: "stsb", label: "STSB (pc)", metric: "pearson" },
    { key: "qqp", label: "QQP (F1)", metric: "f1" },
    { key: "mnli", label: "MNLI (acc)", metric: "acc" },
    { key: "qnli", label: "QNLI (acc)", metric: "acc" },
    { key: "rte", label: "RTE (acc)", metric: "acc" },
  ],
  rows: [
    {
      method: "Transformer w/ aux LM (full)",
      ours: true,
      scores: {
        avg: 74.7,
        cola: 45.4,
        sst2: 91.3,
        mrpc: 82.3,
        stsb: 82.0,
        qqp: 70.3,
        mnli: 81.8,
        qnli: 88.1,
        rte: 56.0,
      },
    },
    {
      method: "Transformer w/o pre-training",
      scores: {
        avg: 59.9,
        cola: 18.9,
        sst2: 84.0,
        mrpc: 79.4,
        stsb: 30.9,
        qqp: 65.5,
        mnli: 75.7,
        qnli: 71.2,
        rte: 53.8,
      },
    },
    {
      method: "Transformer w/o aux LM",
      scores: {
        avg: 75.0,
        cola: 47.9,
        sst2: 92.0,
        mrpc: 84.9,
        stsb: 83.2,
        qqp: 69.8,
        mnli: 81.1,
        qnli: 86.9,
        rte: 54.4,
      },
    },
    {
      method: "LSTM w/ aux LM",
      scores: {
        avg: 69.1,
        cola: 30.3,
        sst2: 90.5,
        mrpc: 83.2,
        stsb: 71.8,
        qqp: 68.1,
        mnli: 73.7,
        qnli: 81.1,
        rte: 54.6,
      },
    },
  ],
};

/** Tables 2–5 by id. */
export const PAPER_TABLES: Readonly<Record<string, PaperTable>> = {
  table2: TABLE2,
  table3: TABLE3,
  table4: TABLE4,
  table5: TABLE5,
};

/** The paper's score for one benchmark. */
export interface PaperScore {
  /** Points (0-100). */
  value: number;
  /** The metric it is measured in. */
  metric: PaperMetric;
  /** The table it comes from. */
  table: string;
}

function ours(t: PaperTable): Record<string, PaperScore> {
  const row = t.rows.find((r) => r.ours)!;
  const out: Record<string, PaperScore> = {};
  for (const c of t.columns) {
    if (c.key in row.scores) {
      out[c.key] = { value: row.scores[c.key], metric: c.metric, table: t.id };
    }
  }
  return out;
}

/**
 * GPT-1's score on each benchmark (the "ours" rows of Tables 2–4), keyed by task registry name
 * (plus `glue`, the GLUE leaderboard score 72.8).
 */
export const PAPER_SCORES: Readonly<Record<string, PaperScore>> = {
  ...ours(TABLE2),
  ...ours(TABLE3),
  ...ours(TABLE4),
};

/**
 * Figure 2 left: "Effect of transferring increasing number of layers from the pre-trained
 * language model on RACE and MultiNLI". x = number of layers transferred (0 = nothing,
 * 1 = embeddings only, k = embeddings + k−1 blocks on the reading x = n_transfer + 1 of the
 * original code; uncertain). Digitized by pixel tracing; read error about ±0.5 (RACE) and
 * ±0.3 (MNLI) points.
 */
export const FIGURE2_LAYERS = {
  x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  raceDev: [39.7, 41.9, 41.1, 46.7, 48.4, 50.2, 53.1, 53.8, 54.1, 55.1, 56.3, 58.4, 59.0, 60.0],
  raceTrain: [54.1, 52.2, 52.1, 58.4, 66.1, 71.7, 76.2, 78.9, 79.6, 84.6, 85.5, 91.6, 91.7, 91.8],
  mnliDev: [72.7, 75.2, 74.7, 77.6, 78.2, 78.2, 79.7, 80.2, 81.0, 81.3, 81.6, 82.0, 82.4, 82.4],
  mnliTrain: [79.7, 83.0, 83.9, 88.7, 89.8, 90.8, 93.3, 94.3, 94.5, 95.7, 96.2, 96.9, 97.3, 97.3],
  readError: { race: 0.5, mnli: 0.3 },
} as const;

/** A zero-shot heuristic of Figure 2 right. */
export type ZeroShotTask = "sentiment" | "winograd" | "acceptability" | "qa";

/** One curve of Figure 2 right. */
export interface ZeroShotCurve {
  /** Which pre-trained model. */
  model: "transformer" | "lstm";
  /** Which heuristic. */
  task: ZeroShotTask;
  /** The dataset the paper used for it. */
  dataset: string;
  /** Normalised score at each of {@link FIGURE2_ZEROSHOT}`.updates` (clipped points read as 0). */
  values: readonly number[];
  /** True where the curve sits at or below the axis floor ("≤0" in the digitization). */
  clipped: readonly boolean[];
}

const F = false, T = true;

/**
 * Figure 2 right: zero-shot "relative task performance" (0 = random, 1 = the state of the art)
 * against pre-training updates (log scale). Digitized; read error about ±0.02. Values below the
 * axis are read as 0 and flagged in `clipped`. The Transformer sentiment value at 1e4 was read
 * as 0.08–0.10 (a dip) and is stored as 0.09.
 */
export const FIGURE2_ZEROSHOT: {
  readonly updates: readonly number[];
  readonly curves: readonly ZeroShotCurve[];
  readonly readError: number;
} = {
  updates: [1e3, 2e3, 4e3, 8e3, 1e4, 2e4, 4e4, 8e4, 1e5, 1.6e5, 3.2e5, 6.4e5, 1e6],
  readError: 0.02,
  curves: [
    {
      model: "transformer",
      task: "sentiment",
      dataset: "SST-2",
      values: [0, 0, 0.03, 0.10, 0.09, 0.48, 0.59, 0.60, 0.62, 0.65, 0.68, 0.67, 0.68],
      clipped: [T, F, F, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "transformer",
      task: "winograd",
      dataset: "DPRD",
      values: [0.08, 0.06, 0.20, 0.28, 0.31, 0.39, 0.44, 0.44, 0.44, 0.44, 0.46, 0.53, 0.545],
      clipped: [F, F, F, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "transformer",
      task: "acceptability",
      dataset: "CoLA",
      values: [0.03, 0.12, 0.31, 0.38, 0.395, 0.40, 0.41, 0.44, 0.44, 0.43, 0.43, 0.44, 0.44],
      clipped: [F, F, F, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "transformer",
      task: "qa",
      dataset: "RACE",
      values: [0, 0, 0, 0.09, 0.10, 0.15, 0.16, 0.17, 0.18, 0.21, 0.23, 0.26, 0.25],
      clipped: [T, T, T, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "lstm",
      task: "sentiment",
      dataset: "SST-2",
      values: [0, 0, 0, 0, 0, 0.13, 0.26, 0.28, 0.33, 0.40, 0.32, 0.47, 0.49],
      clipped: [T, T, T, T, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "lstm",
      task: "winograd",
      dataset: "DPRD",
      values: [0.06, 0, 0.05, 0.17, 0.20, 0.22, 0.23, 0.33, 0.30, 0.26, 0.23, 0.26, 0.26],
      clipped: [F, T, F, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "lstm",
      task: "acceptability",
      dataset: "CoLA",
      values: [0, 0, 0.12, 0.29, 0.30, 0.31, 0.355, 0.36, 0.365, 0.37, 0.35, 0.355, 0.37],
      clipped: [T, T, F, F, F, F, F, F, F, F, F, F, F],
    },
    {
      model: "lstm",
      task: "qa",
      dataset: "RACE",
      values: [0, 0, 0, 0, 0, 0.01, 0.02, 0.03, 0.03, 0.03, 0.015, 0.02, 0.025],
      clipped: [T, T, T, T, T, F, F, F, F, F, F, F, F],
    },
  ],
};

/** Other numbers stated in the paper's text. */
export const PAPER_FACTS = {
  /** BooksCorpus token-level perplexity after pre-training (§4.1; split not stated). */
  pretrainPerplexity: 18.4,
  /** GLUE leaderboard score (Table 4). */
  glue: 72.8,
  /** Average drop without pre-training (Table 5: 74.7 − 59.9). */
  noPretrainDrop: 14.8,
  /** ROCStories: median test accuracy of 10 runs of the released code (its README). */
  storyClozeReleasedCodeMedian: 85.8,
} as const;

/** Table 5 variant keys → the paper's row names, in the paper's order. */
export const TABLE5_VARIANT_NAMES: Readonly<Record<string, string>> = {
  full: "Transformer w/ aux LM (full)",
  "no-pretrain": "Transformer w/o pre-training",
  "no-aux": "Transformer w/o aux LM",
  lstm: "LSTM w/ aux LM",
};
