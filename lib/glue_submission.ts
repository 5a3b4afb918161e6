/**
 * GLUE test predictions in the form the GLUE server takes: one `<TASK>.tsv` per task, header
 * `index\tprediction`, one row per row of the task's unlabeled `test.tsv`, in file order.
 *
 * File names and label strings are GLUE's (as the GLUE server and the `jiant` submission
 * formatter name them): CoLA.tsv, SST-2.tsv, MRPC.tsv, STS-B.tsv, QQP.tsv, MNLI-m.tsv,
 * MNLI-mm.tsv, QNLI.tsv, RTE.tsv, WNLI.tsv, AX.tsv; labels `0`/`1` (CoLA, SST-2, MRPC, QQP,
 * WNLI), `entailment`/`not_entailment` (QNLI, RTE), `entailment`/`neutral`/`contradiction`
 * (MNLI, AX, the diagnostic set, predicted with the MNLI classifier), and for STS-B a score
 * clipped to [0, 5]. WNLI and AX have no task in this project's registry: their formats are
 * here so that a file for them can be checked, not written from a fine-tuned run.
 *
 * Everything but {@link readTestIds} and {@link writeSubmission} is pure. The test files have
 * no labels, and nothing here reads any.
 *
 * @example
 * ```ts
 * import { readTestIds, writeSubmission } from "./glue_submission.ts";
 * const ids = await readTestIds("sst2", "../shared/datasets/SST-2");
 * await writeSubmission("results/glue/full", "sst2", ids, preds, ids); // SST-2.tsv
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError, DataError } from "./errors.ts";
import { writeFileAtomic } from "./fsutil.ts";
import { GLUE_LAYOUTS, type GlueTask } from "./tasks/glue.ts";
import { readTsv } from "./tasks/tsv.ts";

/** Tasks GLUE scores: the registry's GLUE tasks plus WNLI and the diagnostic set AX. */
export type GlueSubmissionTask = GlueTask | "wnli" | "ax";

/** How one task's submission file is named and what its predictions look like. */
export interface SubmissionFormat {
  /** GLUE's file name inside the submission zip, e.g. `SST-2.tsv`. */
  file: string;
  /** Label strings in class-index order; null for STS-B's real-valued score. */
  labels: readonly string[] | null;
  /** Header name of the id column in the task's `test.tsv` (`index`; QQP's is `id`). */
  idColumn: string;
  /** The task's unlabeled test file name in GLUE's layout. */
  testFile: string;
}

const NLI3 = ["entailment", "neutral", "contradiction"] as const;

/** STS-B predictions are clipped to GLUE's score range. */
export const STSB_RANGE: readonly [number, number] = [0, 5];

/** The header line of every submission file. */
export const SUBMISSION_HEADER = "index\tprediction";

function fromLayout(task: GlueTask, file: string): SubmissionFormat {
  const L = GLUE_LAYOUTS[task];
  return { file, labels: L.labels, idColumn: L.id ?? "index", testFile: L.files.test };
}

/** GLUE's submission format per task. */
export const GLUE_SUBMISSION: Readonly<Record<GlueSubmissionTask, Readonly<SubmissionFormat>>> = {
  cola: fromLayout("cola", "CoLA.tsv"),
  sst2: fromLayout("sst2", "SST-2.tsv"),
  mrpc: fromLayout("mrpc", "MRPC.tsv"),
  stsb: fromLayout("stsb", "STS-B.tsv"),
  qqp: fromLayout("qqp", "QQP.tsv"),
  "mnli-m": fromLayout("mnli-m", "MNLI-m.tsv"),
  "mnli-mm": fromLayout("mnli-mm", "MNLI-mm.tsv"),
  qnli: fromLayout("qnli", "QNLI.tsv"),
  rte: fromLayout("rte", "RTE.tsv"),
  // WNLI's files label 0/1 (GLUE serves WNLI as a binary task, not with NLI label strings)
  wnli: { file: "WNLI.tsv", labels: ["0", "1"], idColumn: "index", testFile: "test.tsv" },
  // the diagnostic set: MNLI's labels, its own folder in GLUE's download (diagnostic/AX.tsv)
  ax: { file: "AX.tsv", labels: NLI3, idColumn: "index", testFile: "AX.tsv" },
};

/** The submission format of a task (registry names, e.g. `sst2`, `mnli-m`, `ax`). */
export function submissionFormat(task: string): Readonly<SubmissionFormat> {
  const f = (GLUE_SUBMISSION as Record<string, SubmissionFormat>)[task];
  if (!f) {
    throw new ConfigError(`${task} is not a GLUE task: there is no GLUE submission file for it`, {
      fix: `use one of ${Object.keys(GLUE_SUBMISSION).join(", ")}`,
    });
  }
  return f;
}

/**
 * One prediction as GLUE wants it: the label string of class index `pred`, or for STS-B the
 * score clipped to [0, 5] with 4 decimals. Throws a {@link ConfigError} for an index outside
 * the label set or a non-finite score.
 */
export function formatPrediction(task: string, pred: number): string {
  const f = submissionFormat(task);
  if (f.labels === null) {
    if (!Number.isFinite(pred)) throw new ConfigError(`${task}: prediction ${pred} is not finite`);
    const s = Math.min(STSB_RANGE[1], Math.max(STSB_RANGE[0], pred));
    return String(Number(s.toFixed(4)));
  }
  if (!Number.isInteger(pred) || pred < 0 || pred >= f.labels.length) {
    throw new ConfigError(
      `${task}: prediction ${pred} is not a class index 0..${f.labels.length - 1}`,
    );
  }
  return f.labels[pred];
}

/** The text of a submission file: header, then `id\tlabel` per prediction (pure). */
export function submissionTsv(
  task: string,
  ids: readonly string[],
  preds: ArrayLike<number>,
): string {
  if (ids.length !== preds.length) {
    throw new ConfigError(`${task}: ${ids.length} ids but ${preds.length} predictions`);
  }
  const rows = [SUBMISSION_HEADER];
  for (let i = 0; i < ids.length; i++) rows.push(`${ids[i]}\t${formatPrediction(task, preds[i])}`);
  return rows.join("\n") + "\n";
}

/**
 * Checks a submission file's text against the test file's ids: the header, one row per test
 * row with the same index in the same order, every prediction in the task's label set (STS-B:
 * a number in [0, 5]). Throws a {@link DataError} naming `file:line` at the first problem;
 * returns the number of rows.
 */
export function validateSubmission(
  task: string,
  text: string,
  testIds: readonly string[],
  file: string = submissionFormat(task).file,
): number {
  const f = submissionFormat(task);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const fix = "write the file again with deno task gpt1 predict";
  if (lines[0] !== SUBMISSION_HEADER) {
    throw new DataError(`header is '${lines[0]}', GLUE expects 'index<TAB>prediction'`, {
      file,
      line: 1,
      fix,
    });
  }
  if (lines.length - 1 !== testIds.length) {
    throw new DataError(
      `${lines.length - 1} predictions for ${testIds.length} test rows`,
      { file, fix },
    );
  }
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split("\t");
    const line = i + 1;
    if (cells.length !== 2) {
      throw new DataError(`expected 2 tab-separated cells, got ${cells.length}`, {
        file,
        line,
        fix,
      });
    }
    if (cells[0] !== testIds[i - 1]) {
      throw new DataError(`index '${cells[0]}' where the test file has '${testIds[i - 1]}'`, {
        file,
        line,
        fix,
      });
    }
    const p = cells[1];
    if (f.labels === null) {
      const x = Number(p);
      if (p.trim() === "" || !(x >= STSB_RANGE[0] && x <= STSB_RANGE[1])) {
        throw new DataError(`prediction '${p}' is not a number in [0, 5]`, { file, line, fix });
      }
    } else if (!f.labels.includes(p)) {
      throw new DataError(`prediction '${p}' is not one of ${f.labels.join(" | ")}`, {
        file,
        line,
        fix,
      });
    }
  }
  return lines.length - 1;
}

/**
 * The id column of a task's unlabeled test file (`<taskDir>/test.tsv`, MNLI's
 * `test_matched.tsv` / `test_mismatched.tsv`), read straight from the file: one id per data
 * row, in file order, no row skipped. Throws a {@link DataError} when the file or its id
 * column is missing, or an id repeats.
 */
export async function readTestIds(task: string, taskDir: string): Promise<string[]> {
  const f = submissionFormat(task);
  const file = join(taskDir, f.testFile);
  const ids: string[] = [];
  const seen = new Set<string>();
  let col = -1;
  for await (const { line, cells } of readTsv(file)) {
    if (line === 1) {
      col = cells.map((c) => c.trim()).indexOf(f.idColumn);
      if (col < 0) {
        throw new DataError(`header has no '${f.idColumn}' column`, {
          file,
          line,
          fix: "use GLUE's unlabeled test file (see datasets/README.md)",
        });
      }
      continue;
    }
    const id = (cells[col] ?? "").trim();
    if (id === "" || seen.has(id)) {
      throw new DataError(id === "" ? "empty id" : `id '${id}' repeats`, { file, line });
    }
    seen.add(id);
    ids.push(id);
  }
  if (col < 0) throw new DataError("file is empty", { file, fix: "download the file again" });
  return ids;
}

/**
 * Writes `<outDir>/<TASK>.tsv` atomically after checking it against `testIds` (the test
 * file's ids, from {@link readTestIds}) with {@link validateSubmission}; returns its path.
 */
export async function writeSubmission(
  outDir: string,
  task: string,
  ids: readonly string[],
  preds: ArrayLike<number>,
  testIds: readonly string[],
): Promise<string> {
  const path = join(outDir, submissionFormat(task).file);
  const text = submissionTsv(task, ids, preds);
  validateSubmission(task, text, testIds, path);
  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(path, text);
  return path;
}
