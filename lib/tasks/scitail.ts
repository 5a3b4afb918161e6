/**
 * SciTail loader (Khot, Sabharwal & Clark 2018), from the official `SciTailV1.1` release.
 * Looks in the task folder for, in order:
 * - `tsv_format/scitail_1.0_<split>.tsv` or `scitail_1.0_<split>.tsv` or `<split>.tsv`:
 *   no header, 3 tab-separated cells `premise  hypothesis  label`, labels `entails` / `neutral`
 *   (a first line `premise hypothesis label` is taken as a header and skipped);
 * - `snli_format/scitail_1.0_<split>.txt`: JSON lines as in SNLI (`gold_label` is
 *   `entailment` / `neutral`).
 *
 * Labels: 0 entails, 1 neutral.
 *
 * @example
 * ```ts
 * import { loadSciTail } from "./scitail.ts";
 * const { examples } = await loadSciTail("datasets/SciTail", "train");
 * ```
 * @module
 */
import {
  type EntailmentExample,
  findFile,
  type LoadOptions,
  type LoadResult,
  normalizeSplit,
  type Split,
} from "./common.ts";
import { collectNli, type NliLine, readNliJsonl } from "./snli.ts";
import { readTsv } from "./tsv.ts";

/** SciTail label strings in class-index order. */
export const SCITAIL_LABELS = ["entails", "neutral"] as const;

const OBTAIN = "https://allenai.org/data/scitail (SciTailV1.1.zip)";

/** Loads a SciTail split (`train` | `dev` | `test`) from the SciTail folder. */
export async function loadSciTail(
  dir: string,
  split: Split,
  opts: LoadOptions = {},
): Promise<LoadResult<EntailmentExample>> {
  const s = normalizeSplit(split, ["train", "dev", "test"], "SciTail");
  const file = findFile("SciTail", s, dir, [
    `tsv_format/scitail_1.0_${s}.tsv`,
    `scitail_1.0_${s}.tsv`,
    `${s}.tsv`,
    `snli_format/scitail_1.0_${s}.txt`,
  ], OBTAIN);
  return file.endsWith(".txt")
    ? await readNliJsonl(file, SCITAIL_LABELS, opts, { entailment: "entails" })
    : await collectNli(file, sciTailTsvLines(file), SCITAIL_LABELS, opts, []);
}

/** The rows of a SciTail TSV file (3 cells, no header; a `premise hypothesis label` one skipped). */
async function* sciTailTsvLines(file: string): AsyncGenerator<NliLine> {
  let row = 0;
  for await (const { line, cells } of readTsv(file)) {
    if (line === 1 && cells.join(" ").toLowerCase() === "premise hypothesis label") continue;
    const id = String(row++);
    if (cells.length !== 3) {
      yield { line, malformed: `expected 3 tab-separated cells, got ${cells.length}` };
      continue;
    }
    yield { line, row: { id, premise: cells[0], hypothesis: cells[1], label: cells[2] } };
  }
}
