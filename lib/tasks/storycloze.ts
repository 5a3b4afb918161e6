/**
 * Story Cloze Test loader (Mostafazadeh et al. 2016, spring 2016 release), split as in the
 * original GPT-1 code (`datasets.py` of openai/finetune-transformer-lm):
 * - `train` (1,497) and `dev`/`validation` (374) both come from the 1,871-story validation file,
 *   cut with `train_test_split(test_size=374, random_state=3535999445)`, reproduced exactly
 *   (see `split.ts`), in the same order as the original;
 * - `test` is the 1,871-story test file, in file order.
 *
 * Files (standard CSV quoting), header
 * `InputStoryid,InputSentence1..4,RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding`.
 * Example: `context` = the 4 sentences joined by one space (`' '.join(line[1:5])`),
 * `answers` = the 2 endings, `label` = `AnswerRightEnding - 1`, `id` = `InputStoryid`.
 *
 * @example
 * ```ts
 * import { loadStoryCloze } from "./storycloze.ts";
 * const { examples } = await loadStoryCloze("../shared/datasets/StoryCloze", "train");
 * examples.length; // 1497
 * ```
 * @module
 */
import { DataError } from "../errors.ts";
import { parseCsv } from "./csv.ts";
import {
  BadRows,
  findFile,
  type LoadOptions,
  type LoadResult,
  type MultipleChoiceExample,
  normalizeSplit,
  type Split,
} from "./common.ts";
import { trainTestSplit } from "./split.ts";

/** The data-split seed of the original code (`datasets.py`: `seed = 3535999445`). */
export const STORY_CLOZE_SEED = 3535999445;
/** Validation stories held out of the validation file (`n_valid = 374`). */
export const STORY_CLOZE_N_VALID = 374;

const HEADER = [
  "InputStoryid",
  "InputSentence1",
  "InputSentence2",
  "InputSentence3",
  "InputSentence4",
  "RandomFifthSentenceQuiz1",
  "RandomFifthSentenceQuiz2",
  "AnswerRightEnding",
];

const OBTAIN = "https://cs.rochester.edu/nlp/rocstories/ (request form; spring 2016 release)";

/** File names tried for the validation (`val`) and test files, in order. */
export const STORY_CLOZE_FILES: Record<"val" | "test", string[]> = {
  val: [
    "cloze_test_val__spring2016.csv",
    "cloze_test_val__spring2016 - cloze_test_ALL_val.csv",
  ],
  test: [
    "cloze_test_test__spring2016.csv",
    "cloze_test_test__spring2016 - cloze_test_ALL_test.csv",
  ],
};

/** Parses one Story Cloze CSV file into examples, in file order. */
export async function readStoryClozeCsv(
  file: string,
  opts: LoadOptions = {},
): Promise<LoadResult<MultipleChoiceExample>> {
  const recs = parseCsv(await Deno.readTextFile(file), file);
  const bad = new BadRows(opts.onBadRow);
  if (recs.length === 0) throw new DataError("file is empty", { file, fix: "download it again" });
  const head = recs[0].cells.map((c) => c.trim());
  if (head.join(",") !== HEADER.join(",")) {
    throw new DataError(`unexpected header '${head.join(",")}'`, {
      file,
      line: recs[0].line,
      fix: `use the spring 2016 release, whose header is ${HEADER.join(",")}`,
    });
  }
  const examples: MultipleChoiceExample[] = [];
  for (const { line, cells } of recs.slice(1)) {
    if (cells.length !== HEADER.length) {
      bad.bad(file, line, `expected ${HEADER.length} comma-separated fields, got ${cells.length}`);
      continue;
    }
    const texts = cells.slice(1, 7).map((c) => c.trim());
    const empty = texts.findIndex((t) => t === "");
    if (empty >= 0) {
      bad.bad(file, line, `empty field ${HEADER[empty + 1]}`);
      continue;
    }
    const ans = cells[7].trim();
    if (ans !== "1" && ans !== "2") {
      bad.bad(file, line, `AnswerRightEnding is '${ans}', expected 1 or 2`);
      continue;
    }
    examples.push({
      id: cells[0].trim(),
      context: texts.slice(0, 4).join(" "),
      answers: [texts[4], texts[5]],
      label: Number(ans) - 1,
      source: `${file}:${line}`,
    });
  }
  return bad.result(examples, file);
}

/**
 * Loads a Story Cloze split from the folder holding the two spring-2016 CSV files:
 * `train` (1,497) | `dev`/`validation` (374) from the validation file, `test` (1,871).
 * The train/dev cut is defined on the validation file's row order; with `onBadRow: "skip"`
 * it is applied to the rows that parsed, so it is exact only for a clean file.
 */
export async function loadStoryCloze(
  dir: string,
  split: Split,
  opts: LoadOptions = {},
): Promise<LoadResult<MultipleChoiceExample>> {
  const s = normalizeSplit(split, ["train", "dev", "test"], "StoryCloze");
  const which = s === "test" ? "test" : "val";
  const file = findFile(
    "StoryCloze",
    which === "test" ? "test" : "validation (used for train and dev)",
    dir,
    STORY_CLOZE_FILES[which],
    OBTAIN,
  );
  const all = await readStoryClozeCsv(file, opts);
  let examples = all.examples;
  if (which === "val") {
    if (examples.length <= STORY_CLOZE_N_VALID) {
      throw new DataError(
        `${examples.length} stories; the train/dev cut needs more than ${STORY_CLOZE_N_VALID}`,
        { file, fix: "use the full 1,871-story validation file" },
      );
    }
    const { train, test } = trainTestSplit(examples.length, STORY_CLOZE_N_VALID, STORY_CLOZE_SEED);
    examples = (s === "train" ? train : test).map((i) => examples[i]);
  }
  if (opts.limit !== undefined) examples = examples.slice(0, opts.limit);
  return { ...all, examples };
}
