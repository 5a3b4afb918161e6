/**
 * SNLI loader. Reads, in this order of preference, from the task folder:
 * - `snli_1.0_<split>.jsonl` (the official release; one JSON object per line with
 *   `sentence1`, `sentence2`, `gold_label`, `pairID`), or `<split>.jsonl`;
 * - `<split>.tsv` with header `sentence1  sentence2  gold_label` (the copy in
 *   `../shared/datasets/SNLI`, built from SentEval), or the official `snli_1.0_<split>.txt`
 *   (tab-separated, same column names among others).
 *
 * Rows whose gold label is `-` (no annotator majority) are dropped and counted in `skipped`,
 * as every SNLI paper does. Labels: 0 entailment, 1 neutral, 2 contradiction.
 *
 * @example
 * ```ts
 * import { loadSnli } from "./snli.ts";
 * const { examples } = await loadSnli("../shared/datasets/SNLI", "dev");
 * examples.length; // 9842
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
  type Split,
} from "./common.ts";
import { columnIndex, readLines } from "./tsv.ts";

/** SNLI label strings in class-index order. */
export const SNLI_LABELS = ["entailment", "neutral", "contradiction"] as const;

const OBTAIN = "https://nlp.stanford.edu/projects/snli/ (snli_1.0.zip)";

/** The (premise, hypothesis, gold label) triple of one row, with the row's id. */
export interface NliRow {
  /** The file's pair id, else the 0-based row index. */
  id: string;
  /** First text, as read (checked by {@link collectNli}). */
  premise: unknown;
  /** Second text, as read. */
  hypothesis: unknown;
  /** Gold label string, as read. */
  label: unknown;
}

/** One line of an NLI file: the row it holds, or why it is malformed. */
export type NliLine = { line: number; row: NliRow } | { line: number; malformed: string };

/**
 * Checks one row and appends the example, or reports why it cannot.
 * @returns true when the caller should stop reading (limit reached)
 */
function addNliRow(
  out: EntailmentExample[],
  bad: BadRows,
  labels: readonly string[],
  row: NliRow,
  file: string,
  line: number | string,
  opts: LoadOptions,
  unlabeled: readonly string[] = ["-"],
): boolean {
  const { premise, hypothesis, label: raw } = row;
  if (typeof premise !== "string" || typeof hypothesis !== "string") {
    bad.bad(file, line, "premise or hypothesis is missing or not a string");
    return false;
  }
  if (premise.trim() === "" || hypothesis.trim() === "") {
    bad.bad(file, line, "empty premise or hypothesis");
    return false;
  }
  if (typeof raw === "string" && unlabeled.includes(raw.trim())) {
    bad.drop(file, line, `no gold label ('${raw.trim()}')`);
    return false;
  }
  const label = typeof raw === "string" ? labels.indexOf(raw.trim()) : -1;
  if (label < 0) {
    bad.bad(file, line, `unknown label ${JSON.stringify(raw)} (expected ${labels.join(" | ")})`);
    return false;
  }
  const source = typeof line === "number" ? `${file}:${line}` : `${file}#${line}`;
  return pushLimited(
    out,
    { id: row.id, premise: premise.trim(), hypothesis: hypothesis.trim(), label, source },
    opts.limit,
  );
}

/**
 * The examples of an NLI file's `lines`, read until the end or `opts.limit`: each row checked
 * (strings, not empty, a known label; a label in `unlabeled` drops the row), each malformed line
 * reported under `opts.onBadRow`. Shared by the SNLI and SciTail readers, which only parse.
 */
export async function collectNli(
  file: string,
  lines: AsyncIterable<NliLine>,
  labels: readonly string[],
  opts: LoadOptions,
  unlabeled?: readonly string[],
): Promise<LoadResult<EntailmentExample>> {
  const bad = new BadRows(opts.onBadRow);
  const examples: EntailmentExample[] = [];
  for await (const l of lines) {
    if ("malformed" in l) bad.bad(file, l.line, l.malformed);
    else if (addNliRow(examples, bad, labels, l.row, file, l.line, opts, unlabeled)) break;
  }
  return bad.result(examples, file);
}

/**
 * Reads a JSON-lines file of NLI pairs (fields named as in SNLI: `sentence1`, `sentence2`,
 * `gold_label`, optional `pairID`). Shared with SciTail's `snli_format`.
 */
export function readNliJsonl(
  file: string,
  labels: readonly string[],
  opts: LoadOptions,
  relabel: Record<string, string> = {},
): Promise<LoadResult<EntailmentExample>> {
  return collectNli(file, nliJsonlLines(file, relabel), labels, opts);
}

async function* nliJsonlLines(
  file: string,
  relabel: Record<string, string>,
): AsyncGenerator<NliLine> {
  let row = 0;
  for await (const { line, text } of readLines(file)) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text);
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error();
    } catch {
      yield { line, malformed: "not a JSON object" };
      continue;
    }
    const id = typeof obj.pairID === "string" ? obj.pairID : String(row);
    row++;
    const g = typeof obj.gold_label === "string" ? (relabel[obj.gold_label] ?? obj.gold_label) : obj
      .gold_label;
    yield { line, row: { id, premise: obj.sentence1, hypothesis: obj.sentence2, label: g } };
  }
}

/**
 * Reads a tab-separated NLI file whose header names `sentence1`, `sentence2` and
 * `gold_label` (any other columns are ignored).
 */
export function readNliTsv(
  file: string,
  labels: readonly string[],
  opts: LoadOptions,
): Promise<LoadResult<EntailmentExample>> {
  return collectNli(file, nliTsvLines(file), labels, opts);
}

async function* nliTsvLines(file: string): AsyncGenerator<NliLine> {
  let idx: Record<string, number> = {};
  let nCols = 0;
  let row = 0;
  for await (const { line, text } of readLines(file)) {
    const cells = text.split("\t");
    if (line === 1) {
      idx = columnIndex(file, cells, ["sentence1", "sentence2", "gold_label"], ["pairID"]);
      nCols = cells.length;
      continue;
    }
    const id = idx.pairID >= 0 && cells[idx.pairID] ? cells[idx.pairID] : String(row);
    row++;
    if (cells.length !== nCols) {
      yield { line, malformed: `expected ${nCols} tab-separated cells, got ${cells.length}` };
      continue;
    }
    yield {
      line,
      row: {
        id,
        premise: cells[idx.sentence1],
        hypothesis: cells[idx.sentence2],
        label: cells[idx.gold_label],
      },
    };
  }
}

/** Loads an SNLI split (`train` | `dev` | `test`) from the SNLI folder. */
export async function loadSnli(
  dir: string,
  split: Split,
  opts: LoadOptions = {},
): Promise<LoadResult<EntailmentExample>> {
  const s = normalizeSplit(split, ["train", "dev", "test"], "SNLI");
  const file = findFile("SNLI", s, dir, [
    `snli_1.0_${s}.jsonl`,
    `${s}.jsonl`,
    `${s}.tsv`,
    `snli_1.0_${s}.txt`,
  ], OBTAIN);
  return file.endsWith(".jsonl")
    ? await readNliJsonl(file, SNLI_LABELS, opts)
    : await readNliTsv(file, SNLI_LABELS, opts);
}
