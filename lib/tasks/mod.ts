/**
 * The benchmark registry: task name → loader, input type, label set, metric(s) and the paper's
 * score. One entry per column of the paper's Tables 2–4 (RACE also split into RACE-m / RACE-h).
 * WSC (zero-shot only) has its own loader, {@link loadWsc}.
 *
 * | name | folder | input type | labels | metric (paper) |
 * | --- | --- | --- | --- | --- |
 * | cola | CoLA | classification | 0 unacceptable, 1 acceptable | mcc (45.4) |
 * | sst2 | SST-2 | classification | 0 negative, 1 positive | acc (91.3) |
 * | mrpc | MRPC | similarity | 0, 1 paraphrase | F1 (82.3), + acc |
 * | qqp | QQP | similarity | 0, 1 duplicate | F1 (70.3), + acc |
 * | stsb | STS-B | regression-similarity | score in [0, 5] | Pearson (82.0), + Spearman |
 * | mnli-m, mnli-mm | MNLI | entailment | entailment, neutral, contradiction | acc (82.1, 81.4) |
 * | qnli | QNLI | entailment | entailment, not_entailment | acc (88.1) |
 * | rte | RTE | entailment | entailment, not_entailment | acc (56.0) |
 * | snli | SNLI | entailment | entailment, neutral, contradiction | acc (89.9) |
 * | scitail | SciTail | entailment | entails, neutral | acc (88.3) |
 * | race, race-m, race-h | RACE | multiple_choice (4) | A–D | acc (59.0, 62.9, 57.4) |
 * | storycloze | StoryCloze | multiple_choice (2) | ending 1, ending 2 | acc (86.5) |
 *
 * @example
 * ```ts
 * import { getTask, loadTask } from "./tasks/mod.ts";
 * getTask("SST-2").metric; // "acc"
 * const { examples } = await loadTask("rte", "../shared/datasets", "dev");
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import type { MetricName } from "../metrics.ts";
import { PAPER_SCORES, type PaperScore } from "../paper.ts";
import {
  classificationInput,
  entailmentInput,
  multipleChoiceInputs,
  type MultipleChoiceLimits,
  similarityInputs,
  type Specials,
  storyClozeLimits,
} from "../transforms.ts";
import type {
  EntailmentExample,
  Example,
  LoadOptions,
  LoadResult,
  MultipleChoiceExample,
  SimilarityExample,
  Split,
  TextExample,
} from "./common.ts";
import { type GlueTask, loadGlue } from "./glue.ts";
import { loadRace } from "./race.ts";
import { loadSciTail } from "./scitail.ts";
import { loadSnli } from "./snli.ts";
import { loadStoryCloze } from "./storycloze.ts";

export type {
  EntailmentExample,
  Example,
  ExampleBase,
  LoadOptions,
  LoadResult,
  MultipleChoiceExample,
  SimilarityExample,
  Split,
  TextExample,
} from "./common.ts";
export {
  GLUE_LAYOUTS,
  type GlueExampleMap,
  type GlueLayout,
  type GlueTask,
  loadGlue,
} from "./glue.ts";
export { loadSnli, SNLI_LABELS } from "./snli.ts";
export { loadSciTail, SCITAIL_LABELS } from "./scitail.ts";
export { loadRace, RACE_LABELS, type RaceLevel, type RaceOptions } from "./race.ts";
export {
  loadStoryCloze,
  readStoryClozeCsv,
  STORY_CLOZE_FILES,
  STORY_CLOZE_N_VALID,
  STORY_CLOZE_SEED,
} from "./storycloze.ts";
export { joinPieces, loadWsc, type WscExample, type WscSubset, wscSubstitute } from "./wsc.ts";
export { NumpyRandomState, trainTestSplit } from "./split.ts";

/** The four input types of the paper's Figure 1, with STS-B's regression variant. */
export type InputType =
  | "classification"
  | "entailment"
  | "similarity"
  | "multiple_choice"
  | "regression-similarity";

/** Registry names of the paper's benchmarks. */
export type TaskName =
  | GlueTask
  | "snli"
  | "scitail"
  | "race"
  | "race-m"
  | "race-h"
  | "storycloze";

/** Everything the rest of the project needs to know about one benchmark. */
export interface TaskSpec<E extends Example = Example> {
  /** Registry name, e.g. "sst2". */
  name: TaskName;
  /** Display name as in the paper, e.g. "SST-2". */
  title: string;
  /** Folder name under the datasets root (e.g. `../shared/datasets/SST-2`). */
  folder: string;
  /** How the example is turned into token sequences. */
  inputType: InputType;
  /** Label names in class-index order (the index is `example.label`); null for STS-B. */
  labels: readonly string[] | null;
  /** Candidates per example for multiple choice (2 or 4); 2 orderings for similarity; else 1. */
  nSequences: number;
  /** The paper's metric. */
  metric: MetricName;
  /** Other metrics GLUE reports for the task. */
  extraMetrics: readonly MetricName[];
  /** The paper's score (Tables 2–4), in points. */
  paper: PaperScore;
  /** Splits that have files (dev = validation). */
  splits: readonly Split[];
  /** The split the paper reports on (GLUE tasks: the test server; here we report dev). */
  evalSplit: Split;
  /** Loads a split from the task's folder. */
  load(dir: string, split: Split, opts?: LoadOptions): Promise<LoadResult<E>>;
}

const glue = <T extends GlueTask>(t: T) => (d: string, s: Split, o?: LoadOptions) =>
  loadGlue(t, d, s, o);

const SPLITS3: readonly Split[] = ["train", "dev", "test"];

function spec<E extends Example>(
  s: Omit<TaskSpec<E>, "paper" | "splits" | "evalSplit" | "extraMetrics"> & {
    extraMetrics?: MetricName[];
    evalSplit?: Split;
  },
): TaskSpec<E> {
  return {
    extraMetrics: [],
    splits: SPLITS3,
    evalSplit: "dev",
    paper: PAPER_SCORES[s.name],
    ...s,
  } as TaskSpec<E>;
}

const NLI3 = ["entailment", "neutral", "contradiction"] as const;
const NLI2 = ["entailment", "not_entailment"] as const;

/** The registry. */
export const TASKS: Readonly<Record<TaskName, TaskSpec>> = {
  cola: spec<TextExample>({
    name: "cola",
    title: "CoLA",
    folder: "CoLA",
    inputType: "classification",
    labels: ["unacceptable", "acceptable"],
    nSequences: 1,
    metric: "mcc",
    load: glue("cola"),
  }),
  sst2: spec<TextExample>({
    name: "sst2",
    title: "SST-2",
    folder: "SST-2",
    inputType: "classification",
    labels: ["negative", "positive"],
    nSequences: 1,
    metric: "acc",
    load: glue("sst2"),
  }),
  mrpc: spec<SimilarityExample>({
    name: "mrpc",
    title: "MRPC",
    folder: "MRPC",
    inputType: "similarity",
    labels: ["not_paraphrase", "paraphrase"],
    nSequences: 2,
    metric: "f1",
    extraMetrics: ["acc"],
    load: glue("mrpc"),
  }),
  qqp: spec<SimilarityExample>({
    name: "qqp",
    title: "QQP",
    folder: "QQP",
    inputType: "similarity",
    labels: ["not_duplicate", "duplicate"],
    nSequences: 2,
    metric: "f1",
    extraMetrics: ["acc"],
    load: glue("qqp"),
  }),
  stsb: spec<SimilarityExample>({
    name: "stsb",
    title: "STS-B",
    folder: "STS-B",
    inputType: "regression-similarity",
    labels: null,
    nSequences: 2,
    metric: "pearson",
    extraMetrics: ["spearman"],
    load: glue("stsb"),
  }),
  "mnli-m": spec<EntailmentExample>({
    name: "mnli-m",
    title: "MNLI-m",
    folder: "MNLI",
    inputType: "entailment",
    labels: NLI3,
    nSequences: 1,
    metric: "acc",
    load: glue("mnli-m"),
  }),
  "mnli-mm": spec<EntailmentExample>({
    name: "mnli-mm",
    title: "MNLI-mm",
    folder: "MNLI",
    inputType: "entailment",
    labels: NLI3,
    nSequences: 1,
    metric: "acc",
    load: glue("mnli-mm"),
  }),
  qnli: spec<EntailmentExample>({
    name: "qnli",
    title: "QNLI",
    folder: "QNLI",
    inputType: "entailment",
    labels: NLI2,
    nSequences: 1,
    metric: "acc",
    load: glue("qnli"),
  }),
  rte: spec<EntailmentExample>({
    name: "rte",
    title: "RTE",
    folder: "RTE",
    inputType: "entailment",
    labels: NLI2,
    nSequences: 1,
    metric: "acc",
    load: glue("rte"),
  }),
  snli: spec<EntailmentExample>({
    name: "snli",
    title: "SNLI",
    folder: "SNLI",
    inputType: "entailment",
    labels: NLI3,
    nSequences: 1,
    metric: "acc",
    evalSplit: "test",
    load: loadSnli,
  }),
  scitail: spec<EntailmentExample>({
    name: "scitail",
    title: "SciTail",
    folder: "SciTail",
    inputType: "entailment",
    labels: ["entails", "neutral"],
    nSequences: 1,
    metric: "acc",
    evalSplit: "test",
    load: loadSciTail,
  }),
  race: spec<MultipleChoiceExample>({
    name: "race",
    title: "RACE",
    folder: "RACE",
    inputType: "multiple_choice",
    labels: ["A", "B", "C", "D"],
    nSequences: 4,
    metric: "acc",
    evalSplit: "test",
    load: (d, s, o) => loadRace(d, s, o),
  }),
  "race-m": spec<MultipleChoiceExample>({
    name: "race-m",
    title: "RACE-m",
    folder: "RACE",
    inputType: "multiple_choice",
    labels: ["A", "B", "C", "D"],
    nSequences: 4,
    metric: "acc",
    evalSplit: "test",
    load: (d, s, o) => loadRace(d, s, { ...o, levels: ["middle"] }),
  }),
  "race-h": spec<MultipleChoiceExample>({
    name: "race-h",
    title: "RACE-h",
    folder: "RACE",
    inputType: "multiple_choice",
    labels: ["A", "B", "C", "D"],
    nSequences: 4,
    metric: "acc",
    evalSplit: "test",
    load: (d, s, o) => loadRace(d, s, { ...o, levels: ["high"] }),
  }),
  storycloze: spec<MultipleChoiceExample>({
    name: "storycloze",
    title: "Story Cloze",
    folder: "StoryCloze",
    inputType: "multiple_choice",
    labels: ["ending1", "ending2"],
    nSequences: 2,
    metric: "acc",
    evalSplit: "test",
    load: loadStoryCloze,
  }),
};

/** All registry names, in the paper's table order. */
export const TASK_NAMES: readonly TaskName[] = Object.keys(TASKS) as TaskName[];

/** Lower-cases and drops everything but letters and digits: "SST-2" → "sst2", "MNLI-mm" → "mnlimm". */
function squash(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, "");
}

const ALIASES: Record<string, TaskName> = {
  mnli: "mnli-m",
  mnlimatched: "mnli-m",
  mnlimismatched: "mnli-mm",
  rocstories: "storycloze",
  storyclozetest: "storycloze",
  racem: "race-m",
  raceh: "race-h",
  racemiddle: "race-m",
  racehigh: "race-h",
};

/**
 * The spec of a task, by registry name or printed name (case and punctuation ignored:
 * "SST-2", "sst2", "STS-B", "MNLI-m", "ROCStories" all work). Unknown names throw a
 * {@link ConfigError} listing the known ones.
 */
export function getTask(name: string): TaskSpec {
  const k = squash(name);
  for (const n of TASK_NAMES) if (squash(n) === k) return TASKS[n];
  if (k in ALIASES) return TASKS[ALIASES[k]];
  throw new ConfigError(`unknown task '${name}'`, { fix: `use one of ${TASK_NAMES.join(", ")}` });
}

/**
 * Loads a split of a task from a datasets root that holds one folder per benchmark
 * (`<root>/<spec.folder>`, e.g. `../shared/datasets/SST-2`).
 */
export async function loadTask(
  name: string,
  root: string,
  split: Split,
  opts?: LoadOptions,
): Promise<LoadResult<Example>> {
  const t = getTask(name);
  return await t.load(join(root, t.folder), split, opts);
}

/** Turns a text into token ids (the tokenizer's `encode`). */
export type Encode = (text: string) => number[];

/**
 * The token sequences of one example, by the task's input type (see `transforms.ts`):
 * 1 sequence for classification / entailment, 2 for similarity (both orderings), K for
 * multiple choice. Story Cloze uses the original code's truncation ({@link storyClozeLimits});
 * other multiple-choice tasks (RACE) cut the document from the left unless `limits` says
 * otherwise.
 *
 * @example
 * ```ts
 * const seqs = buildInputs(getTask("rte"), ex, tokenizer.encode, specialsFor(40478), 512);
 * ```
 */
export function buildInputs(
  task: TaskSpec,
  ex: Example,
  encode: Encode,
  sp: Specials,
  nCtx: number,
  limits?: MultipleChoiceLimits,
): number[][] {
  switch (task.inputType) {
    case "classification":
      return [classificationInput(encode((ex as TextExample).text), sp, nCtx)];
    case "entailment": {
      const e = ex as EntailmentExample;
      return [entailmentInput(encode(e.premise), encode(e.hypothesis), sp, nCtx)];
    }
    case "similarity":
    case "regression-similarity": {
      const e = ex as SimilarityExample;
      return similarityInputs(encode(e.a), encode(e.b), sp, nCtx);
    }
    case "multiple_choice": {
      const e = ex as MultipleChoiceExample;
      const lim = limits ?? (task.name === "storycloze" ? storyClozeLimits(nCtx) : {});
      return multipleChoiceInputs(
        encode(e.context),
        e.question ? encode(e.question) : [],
        e.answers.map(encode),
        sp,
        nCtx,
        lim,
      );
    }
  }
}
