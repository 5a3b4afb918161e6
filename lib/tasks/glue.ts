/**
 * Loaders for the GLUE TSV files the paper fine-tunes on: CoLA, SST-2, MRPC, QQP, STS-B,
 * MNLI (matched / mismatched), QNLI and RTE, in the layout of GLUE's `download_glue_data.py`.
 *
 * Columns are found by header name (so MNLI's 12-column train, 16-column dev and 10-column test
 * files all work), except for CoLA train/dev, which have no header (4 columns:
 * `source  label  mark  sentence`). Every row must have as many cells as the header; test
 * files have no label column and load with `label: undefined`.
 *
 * @example
 * ```ts
 * import { loadGlue } from "./glue.ts";
 * const { examples } = await loadGlue("sst2", "../shared/datasets/SST-2", "dev");
 * examples[0]; // { id: "0", text: "it 's a charming ...", label: 1, source: ".../dev.tsv:2" }
 * ```
 * @module
 */
import {
  BadRows,
  type EntailmentExample,
  findFile,
  type LoadOptions,
  type LoadResult,
  normalizeSplit,
  pushLimited,
  type SimilarityExample,
  type Split,
  type TextExample,
} from "./common.ts";
import { columnIndex, readTsv } from "./tsv.ts";
import { DataError } from "../errors.ts";

/** The GLUE tasks of the paper, by registry name. */
export type GlueTask =
  | "cola"
  | "sst2"
  | "mrpc"
  | "qqp"
  | "stsb"
  | "mnli-m"
  | "mnli-mm"
  | "qnli"
  | "rte";

/** The example type each GLUE task loads. */
export interface GlueExampleMap {
  /** CoLA */
  cola: TextExample;
  /** SST-2 */
  sst2: TextExample;
  /** MRPC */
  mrpc: SimilarityExample;
  /** QQP */
  qqp: SimilarityExample;
  /** STS-B */
  stsb: SimilarityExample;
  /** MNLI matched */
  "mnli-m": EntailmentExample;
  /** MNLI mismatched */
  "mnli-mm": EntailmentExample;
  /** QNLI */
  qnli: EntailmentExample;
  /** RTE */
  rte: EntailmentExample;
}

/** How one task's files are laid out. */
export interface GlueLayout {
  /** Folder name in GLUE's download (and under ../shared/datasets). */
  folder: string;
  /** Display name. */
  title: string;
  /** Where to obtain the files. */
  obtain: string;
  /** File name per split. */
  files: Record<"train" | "dev" | "test", string>;
  /** Header names of the two text columns (second absent for single-sentence tasks). */
  text: [string] | [string, string];
  /** Header name of the label column. */
  label: string;
  /** Header name of the id column, if any. */
  id?: string;
  /** Label strings in class-index order; null for a real-valued score (STS-B). */
  labels: string[] | null;
  /** Input family: which example type to build. */
  kind: "text" | "entailment" | "similarity";
}

const GLUE_URL = "https://gluebenchmark.com/tasks (or GLUE's download_glue_data.py)";

const NLI3 = ["entailment", "neutral", "contradiction"];
const NLI2 = ["entailment", "not_entailment"];

const MNLI_BASE = {
  folder: "MNLI",
  title: "MNLI",
  obtain: GLUE_URL,
  text: ["sentence1", "sentence2"] as [string, string],
  label: "gold_label",
  id: "index",
  labels: NLI3,
  kind: "entailment" as const,
};

/** File layouts, as written by GLUE's download script. */
export const GLUE_LAYOUTS: Readonly<Record<GlueTask, Readonly<GlueLayout>>> = {
  cola: {
    folder: "CoLA",
    title: "CoLA",
    obtain: `${GLUE_URL}; train/dev are also raw/in_domain_train.tsv and ` +
      "in_domain_dev.tsv + out_of_domain_dev.tsv of https://nyu-mll.github.io/CoLA/",
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["sentence"],
    label: "label",
    id: "index",
    labels: ["0", "1"],
    kind: "text",
  },
  sst2: {
    folder: "SST-2",
    title: "SST-2",
    obtain: GLUE_URL,
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["sentence"],
    label: "label",
    id: "index",
    labels: ["0", "1"],
    kind: "text",
  },
  mrpc: {
    folder: "MRPC",
    title: "MRPC",
    obtain: `${GLUE_URL}; the corpus itself is https://www.microsoft.com/en-us/download/` +
      "details.aspx?id=52398",
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["#1 String", "#2 String"],
    label: "Quality",
    id: "index",
    labels: ["0", "1"],
    kind: "similarity",
  },
  qqp: {
    folder: "QQP",
    title: "QQP",
    obtain: GLUE_URL,
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["question1", "question2"],
    label: "is_duplicate",
    id: "id",
    labels: ["0", "1"],
    kind: "similarity",
  },
  stsb: {
    folder: "STS-B",
    title: "STS-B",
    obtain: `${GLUE_URL}; or http://ixa2.si.ehu.eus/stswiki/index.php/STSbenchmark`,
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["sentence1", "sentence2"],
    label: "score",
    id: "index",
    labels: null,
    kind: "similarity",
  },
  "mnli-m": {
    ...MNLI_BASE,
    title: "MNLI-m",
    files: { train: "train.tsv", dev: "dev_matched.tsv", test: "test_matched.tsv" },
  },
  "mnli-mm": {
    ...MNLI_BASE,
    title: "MNLI-mm",
    files: { train: "train.tsv", dev: "dev_mismatched.tsv", test: "test_mismatched.tsv" },
  },
  qnli: {
    folder: "QNLI",
    title: "QNLI",
    obtain: `${GLUE_URL} (QNLI v2, the re-release GLUE serves now; the paper used v1)`,
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["question", "sentence"],
    label: "label",
    id: "index",
    labels: NLI2,
    kind: "entailment",
  },
  rte: {
    folder: "RTE",
    title: "RTE",
    obtain: GLUE_URL,
    files: { train: "train.tsv", dev: "dev.tsv", test: "test.tsv" },
    text: ["sentence1", "sentence2"],
    label: "label",
    id: "index",
    labels: NLI2,
    kind: "entailment",
  },
};

/** STS-B scores lie in [0, 5]. */
const STSB_RANGE = [0, 5];

/**
 * Loads one split of a GLUE task from its folder (e.g. `../shared/datasets/SST-2`).
 * Malformed rows (wrong cell count, unknown label, empty text) throw a `DataError` naming
 * `file:line`, or are skipped and counted with `{ onBadRow: "skip" }`.
 */
export async function loadGlue<T extends GlueTask>(
  task: T,
  dir: string,
  split: Split,
  opts: LoadOptions = {},
): Promise<LoadResult<GlueExampleMap[T]>> {
  const L = GLUE_LAYOUTS[task];
  const s = normalizeSplit(split, ["train", "dev", "test"], L.title) as "train" | "dev" | "test";
  const file = findFile(L.title, s, dir, [L.files[s]], L.obtain);
  const bad = new BadRows(opts.onBadRow);
  const examples: GlueExampleMap[T][] = [];
  const headerless = task === "cola" && s !== "test";
  // column positions: CoLA train/dev are fixed, everything else comes from the header
  let nCols = headerless ? 4 : 0;
  let textIdx: number[] = headerless ? [3] : [];
  let labelIdx = headerless ? 1 : -1;
  let idIdx = -1;
  let row = 0;
  for await (const { line, cells } of readTsv(file)) {
    if (!headerless && line === 1) {
      const idx = columnIndex(file, cells, [...L.text], [L.label, ...(L.id ? [L.id] : [])]);
      nCols = cells.length;
      textIdx = L.text.map((t) => idx[t]);
      labelIdx = idx[L.label];
      idIdx = L.id ? idx[L.id] : -1;
      if (labelIdx < 0 && s !== "test") {
        throw new DataError(`header lacks the label column '${L.label}' (only test files may)`, {
          file,
          line: 1,
          fix: "use the original benchmark file (see datasets/README.md)",
        });
      }
      continue;
    }
    const id = idIdx >= 0 ? (cells[idIdx] ?? "").trim() : String(row);
    row++;
    if (cells.length !== nCols) {
      bad.bad(file, line, `expected ${nCols} tab-separated cells, got ${cells.length}`);
      continue;
    }
    const texts = textIdx.map((i) => cells[i].trim());
    const empty = texts.findIndex((t) => t === "");
    if (empty >= 0) {
      bad.bad(file, line, `empty text in column ${textIdx[empty] + 1}`);
      continue;
    }
    let label: number | undefined = undefined;
    if (labelIdx >= 0) {
      const raw = cells[labelIdx].trim();
      if (L.labels === null) {
        label = raw === "" ? NaN : Number(raw);
        if (!(label >= STSB_RANGE[0] && label <= STSB_RANGE[1])) {
          bad.bad(file, line, `score '${raw}' is not a number in [0, 5]`);
          continue;
        }
      } else {
        label = L.labels.indexOf(raw);
        if (label < 0) {
          bad.bad(file, line, `unknown label '${raw}' (expected ${L.labels.join(" | ")})`);
          continue;
        }
      }
    }
    const source = `${file}:${line}`;
    let ex: TextExample | EntailmentExample | SimilarityExample;
    if (L.kind === "text") ex = { id, text: texts[0], label, source };
    else if (L.kind === "entailment") {
      ex = { id, premise: texts[0], hypothesis: texts[1], label, source };
    } else ex = { id, a: texts[0], b: texts[1], label, source };
    if (pushLimited(examples, ex as GlueExampleMap[T], opts.limit)) break;
  }
  if (nCols === 0) {
    throw new DataError("file is empty", { file, fix: "download the file again" });
  }
  return bad.result(examples, file);
}
