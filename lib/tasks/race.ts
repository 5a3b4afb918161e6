/**
 * RACE loader (Lai et al. 2017). The release is a folder `RACE/{train,dev,test}/{middle,high}/`
 * of files `<n>.txt`, each one JSON object:
 * `{ "article": str, "questions": [str], "options": [[4 str]], "answers": ["A".."D"], "id": str }`.
 * Each question becomes one example: `context` = article, `question`, `answers` = its 4 options,
 * `label` = index of the right letter, `group` = `middle` | `high` (RACE-m / RACE-h), and
 * `source` = `file#questionIndex`. Files are read in natural order (2.txt before 10.txt).
 *
 * @example
 * ```ts
 * import { loadRace } from "./race.ts";
 * const { examples } = await loadRace("datasets/RACE", "dev", { levels: ["middle"] });
 * ```
 * @module
 */
import { join } from "node:path";
import { DataError } from "../errors.ts";
import {
  BadRows,
  findFile,
  type LoadOptions,
  type LoadResult,
  type MultipleChoiceExample,
  normalizeSplit,
  pushLimited,
  type Split,
} from "./common.ts";

/** Answer letters in class-index order. */
export const RACE_LABELS = ["A", "B", "C", "D"] as const;

/** The two RACE sub-collections. */
export type RaceLevel = "middle" | "high";

/** RACE options: which sub-collections to load (default both, middle first). */
export interface RaceOptions extends LoadOptions {
  /** `["middle"]` for RACE-m, `["high"]` for RACE-h; default both. */
  levels?: RaceLevel[];
}

const OBTAIN = "https://www.cs.cmu.edu/~glai1/data/race/ (RACE.tar.gz, request form)";

const natural = new Intl.Collator("en", { numeric: true }).compare;

/** Loads a RACE split (`train` | `dev` | `test`) from the RACE folder. */
export async function loadRace(
  dir: string,
  split: Split,
  opts: RaceOptions = {},
): Promise<LoadResult<MultipleChoiceExample>> {
  const s = normalizeSplit(split, ["train", "dev", "test"], "RACE");
  const levels = opts.levels ?? ["middle", "high"];
  const bad = new BadRows(opts.onBadRow);
  const examples: MultipleChoiceExample[] = [];
  const splitDir = join(dir, s);
  outer: for (const level of levels) {
    const folder = findFile(`RACE-${level[0]}`, `${s} folder`, splitDir, [level], OBTAIN);
    const names: string[] = [];
    for await (const e of Deno.readDir(folder)) {
      if (e.isFile && !e.name.startsWith(".")) names.push(e.name);
    }
    if (names.length === 0) {
      throw new DataError("folder has no question files", {
        file: folder,
        fix: `unpack RACE.tar.gz so that ${folder} holds its .txt files`,
      });
    }
    names.sort(natural);
    for (const name of names) {
      const file = join(folder, name);
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(await Deno.readTextFile(file));
        if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error();
      } catch {
        bad.bad(file, 1, "not a JSON object");
        continue;
      }
      const { article, questions, options, answers } = obj;
      if (
        typeof article !== "string" || !Array.isArray(questions) || !Array.isArray(options) ||
        !Array.isArray(answers)
      ) {
        bad.bad(file, 1, "needs string 'article' and arrays 'questions', 'options', 'answers'");
        continue;
      }
      if (questions.length !== options.length || questions.length !== answers.length) {
        bad.bad(
          file,
          1,
          `${questions.length} questions, ${options.length} option lists, ${answers.length} answers`,
        );
        continue;
      }
      const baseId = typeof obj.id === "string" ? obj.id : `${level}${name}`;
      for (let q = 0; q < questions.length; q++) {
        const opt = options[q];
        const question = questions[q];
        const label = RACE_LABELS.indexOf(answers[q]);
        if (
          !Array.isArray(opt) || opt.length !== 4 || !opt.every((o) => typeof o === "string")
        ) {
          bad.bad(file, `${q}`, "options must be 4 strings");
          continue;
        }
        if (typeof question !== "string") {
          bad.bad(file, `${q}`, "question is not a string");
          continue;
        }
        if (label < 0) {
          bad.bad(file, `${q}`, `answer ${JSON.stringify(answers[q])} is not one of A B C D`);
          continue;
        }
        const ex: MultipleChoiceExample = {
          id: `${baseId}#${q}`,
          context: article,
          question,
          answers: opt as string[],
          label,
          group: level,
          source: `${file}#${q}`,
        };
        if (pushLimited(examples, ex, opts.limit)) break outer;
      }
    }
  }
  return bad.result(examples, splitDir);
}
