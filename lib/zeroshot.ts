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
 * All model work goes through one batched scorer, `sequenceLogProbs` (`scoring.ts`); the
 * heuristics themselves are in `zeroshot_heuristics.ts`, the curves over a run's checkpoints
 * here.
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
import { join } from "node:path";
import { checkSameVocab, loadAnyCheckpoint } from "./checkpoint.ts";
import { ConfigError } from "./errors.ts";
import { exists, writeJsonAtomic } from "./fsutil.ts";
import { loadVocab } from "./vocab.ts";
import type { LanguageModel } from "./language_model.ts";
import { type Progress, silentProgress } from "./progress.ts";
import {
  getTask,
  loadTask,
  loadWsc,
  type MultipleChoiceExample,
  type Split,
  type TextExample,
  type WscExample,
} from "./tasks/mod.ts";
import {
  readZeroShot,
  runCheckpoints,
  type ZeroShotFile,
  type ZeroShotRow,
  type ZeroShotTaskInfo,
  type ZeroShotTaskName,
} from "./runs.ts";
import { evenSample, relativeScore, type ZeroShotTokenizer } from "./scoring.ts";
import {
  type HeuristicOptions,
  type HeuristicResult,
  zeroShotAcceptability,
  zeroShotMultipleChoice,
  zeroShotSentiment,
  zeroShotWinograd,
} from "./zeroshot_heuristics.ts";

// ---------------------------------------------------------------------------------------------
// curves over the checkpoints of a run

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
  const ckpts = await runCheckpoints(runDir, opts.steps);
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
      checkSameVocab(ck, tok, c.path);
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
