/**
 * Shared pieces of the benchmark loaders: example types, the load result, split names,
 * the malformed-row policy and the "file not found" error.
 *
 * Every example carries `source: "file:line"` (for JSON files, `file#index`) so a prediction
 * can be traced back to the row it came from. Labels are class indices into the task's label
 * list (`TaskSpec.labels` in `tasks/mod.ts`), a real score for STS-B, and `undefined` for the
 * unlabeled GLUE test files.
 * @module
 */
import { join } from "node:path";
import { DataError } from "../errors.ts";
import { existsSync } from "../fsutil.ts";

/** Split names. `validation` and `dev` are the same split everywhere. */
export type Split = "train" | "dev" | "test" | "validation";

/** Fields every example has. */
export interface ExampleBase {
  /** Stable id: the file's own id/index column when there is one, else the 0-based row index. */
  id: string;
  /** Where the example came from: `file:line` (1-based line), or `file#index` for JSON files. */
  source: string;
}

/** One text with a class label (CoLA, SST-2). */
export interface TextExample extends ExampleBase {
  /** The text to classify. */
  text: string;
  /** Class index, or undefined in unlabeled test files. */
  label?: number;
}

/** A premise/hypothesis pair (MNLI, SNLI, QNLI, RTE, SciTail). */
export interface EntailmentExample extends ExampleBase {
  /** First text (GLUE's `text_a`). For QNLI this is the question. */
  premise: string;
  /** Second text (GLUE's `text_b`). */
  hypothesis: string;
  /** Class index, or undefined in unlabeled test files. */
  label?: number;
}

/** A sentence pair without an order (MRPC, QQP: class label; STS-B: real score in [0, 5]). */
export interface SimilarityExample extends ExampleBase {
  /** First sentence. */
  a: string;
  /** Second sentence. */
  b: string;
  /** Class index (MRPC, QQP), similarity score (STS-B), or undefined in test files. */
  label?: number;
}

/** A context, an optional question and K candidate answers (RACE: 4, Story Cloze: 2). */
export interface MultipleChoiceExample extends ExampleBase {
  /** The document (RACE article) or the story (Story Cloze: the 4 sentences joined by spaces). */
  context: string;
  /** The question (RACE); absent for Story Cloze. */
  question?: string;
  /** The candidate answers, in file order. */
  answers: string[];
  /** Index of the right answer. */
  label?: number;
  /** Sub-collection, when the benchmark has one (RACE: `middle` | `high`). */
  group?: string;
}

/** Any benchmark example. */
export type Example =
  | TextExample
  | EntailmentExample
  | SimilarityExample
  | MultipleChoiceExample;

/** What every loader returns. */
export interface LoadResult<E> {
  /** The examples, in file order. */
  examples: E[];
  /** Rows dropped: malformed rows under `onBadRow: "skip"`, and rows without a gold label (SNLI `-`). */
  skipped: number;
  /** One `file:line: reason` per dropped row (the first 50; then a count of the rest). */
  problems: string[];
  /** The file read (for RACE: the split folder). */
  file: string;
}

/** Options shared by all loaders. */
export interface LoadOptions {
  /**
   * What to do with a malformed row (wrong column count, unknown label, empty text):
   * `"throw"` (default) raises a {@link DataError} naming `file:line`; `"skip"` drops the row,
   * counts it in `skipped` and records it in `problems`.
   */
  onBadRow?: "throw" | "skip";
  /** Stop after this many examples (for smoke runs). */
  limit?: number;
}

/** Maps `validation` to `dev`; checks the name. */
export function normalizeSplit(split: string, allowed: readonly string[], task: string): string {
  const s = split === "validation" ? "dev" : split;
  if (!allowed.includes(s)) {
    throw new DataError(`${task} has no split '${split}'`, {
      fix: `use one of ${allowed.join(", ")}`,
    });
  }
  return s;
}

/**
 * Collects malformed rows: throws at the first one (policy "throw") or counts and lists them
 * (policy "skip").
 */
export class BadRows {
  /** Number of rows dropped. */
  skipped = 0;
  /** `file:line: reason` lines (capped, see {@link LoadResult.problems}). */
  readonly problems: string[] = [];
  #over = 0;

  /** `fix` is shown in the error when the policy is "throw". */
  constructor(readonly policy: "throw" | "skip" = "throw", readonly fix?: string) {}

  /** Reports a malformed row: throws, or counts it. */
  bad(file: string, line: number | string, reason: string): void {
    if (this.policy === "throw") {
      throw new DataError(reason, {
        file: typeof line === "number" ? file : `${file}#${line}`,
        line: typeof line === "number" ? line : undefined,
        fix: this.fix ??
          'repair or delete that row, or load with { onBadRow: "skip" } to drop malformed rows',
      });
    }
    this.drop(file, line, reason);
  }

  /** Drops a row that is well-formed but unusable (e.g. SNLI's `-` label), whatever the policy. */
  drop(file: string, line: number | string, reason: string): void {
    this.skipped++;
    if (this.problems.length < 50) {
      this.problems.push(`${file}${typeof line === "number" ? ":" : "#"}${line}: ${reason}`);
    } else this.#over++;
  }

  /** The problems list with a final "... and N more" line when it was capped. */
  list(): string[] {
    return this.#over > 0 ? [...this.problems, `... and ${this.#over} more`] : [...this.problems];
  }

  /** A loader's result: `examples` read from `file`, with what was dropped. */
  result<E>(examples: E[], file: string): LoadResult<E> {
    return { examples, skipped: this.skipped, problems: this.list(), file };
  }
}

/**
 * The first of `names` (paths relative to `dir`) that exists in `dir`; otherwise a
 * {@link DataError} that says where the file goes and where to get it.
 *
 * @param task task name for the message, e.g. "SST-2"
 * @param names relative paths tried in order (the first one is the name the error suggests)
 * @param obtain where the file comes from (a URL and/or a command)
 */
export function findFile(
  task: string,
  split: string,
  dir: string,
  names: string[],
  obtain: string,
): string {
  for (const n of names) {
    const p = join(dir, n);
    if (existsSync(p)) return p;
  }
  const first = join(dir, names[0]);
  throw new DataError(
    `${task} ${split} not found (looked in ${dir} for ${names.join(", ")})`,
    {
      file: first,
      fix: `put it at ${first}; get it from ${obtain} (see datasets/README.md)`,
    },
  );
}

/** Pushes `e` unless `limit` is reached; returns true when the caller should stop reading. */
export function pushLimited<E>(out: E[], e: E, limit?: number): boolean {
  out.push(e);
  return limit !== undefined && out.length >= limit;
}

/** Collapses runs of whitespace (including NBSP) to one space and trims. */
export function collapseSpace(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
