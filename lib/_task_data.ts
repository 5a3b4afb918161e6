/**
 * Where a task's fine-tuning data comes from (internal to finetune.ts, which re-exports all of
 * it): the train / selection / reported splits, the held-out share for model selection, the
 * task's folder under a datasets root, and `--eval-file`.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { DataError } from "./errors.ts";
import type { Example, Split, TaskSpec } from "./tasks/mod.ts";

/**
 * Examples held out of `n` training examples for model selection when a task has no
 * validation split of its own: a seeded 10%, at least 1, at most 1,000.
 */
export function validHoldOut(n: number): number {
  return Math.min(1000, Math.max(1, Math.round(n * 0.1)));
}

/** Where a task's train / selection / reported data come from (see the module doc). */
export function taskSplits(task: TaskSpec): { train: Split; report: Split; valid: Split | null } {
  if (task.name === "storycloze") return { train: "train", valid: "dev", report: "test" };
  if (task.name === "snli") return { train: "dev", valid: null, report: "test" };
  return { train: "train", valid: null, report: task.evalSplit };
}

async function _statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

/**
 * The task's folder: `dataRoot/<folder>` when `dataRoot` is the datasets root, or `dataRoot`
 * itself when it is the task's own folder (e.g. `../shared/datasets/SST-2`). Throws a
 * {@link DataError} naming the path and the fix otherwise.
 */
export async function resolveTaskDir(dataRoot: string, task: TaskSpec): Promise<string> {
  const root = await _statOrNull(dataRoot);
  if (!root) {
    throw new DataError(`no such folder`, {
      file: dataRoot,
      fix:
        `pass --data <datasets root> or the task's folder (e.g. ../shared/datasets/${task.folder}); ` +
        "deno task gpt1 fetch all downloads the public benchmarks",
    });
  }
  if (!root.isDirectory) {
    throw new DataError(`--data must be a folder, not a file`, {
      file: dataRoot,
      fix: `pass the datasets root or ${task.folder}/ (for a single labeled file use --eval-file)`,
    });
  }
  const nested = join(dataRoot, task.folder);
  if ((await _statOrNull(nested))?.isDirectory) return nested;
  if (basename(resolve(dataRoot)) === task.folder) return dataRoot;
  for (const split of task.splits) {
    if (await task.load(dataRoot, split, { limit: 1 }).then(() => true, () => false)) {
      return dataRoot;
    }
  }
  throw new DataError(`no ${task.folder}/ folder and no ${task.folder} split files here`, {
    file: dataRoot,
    fix: `pass the datasets root holding ${task.folder}/, or the task's folder itself`,
  });
}

/**
 * Loads `--eval-file`: a folder (the report split, else dev) or one labeled split file of the
 * task (its name must be one the task's loader reads, e.g. dev.tsv). Throws a {@link DataError}.
 */
export async function loadEvalFile(
  task: TaskSpec,
  path: string,
  report: Split,
): Promise<Example[]> {
  const st = await _statOrNull(path);
  if (!st) {
    throw new DataError("no such file or folder", {
      file: path,
      fix: "pass a labeled split file (e.g. dev.tsv) or a folder holding one",
    });
  }
  if (st.isDirectory) {
    const r = await task.load(path, report).catch(() => task.load(path, "dev"));
    return r.examples;
  }
  const want = resolve(path);
  const dir = dirname(path);
  for (const split of [report, ...task.splits.filter((s) => s !== report)]) {
    const r = await task.load(dir, split).catch(() => null);
    if (r && resolve(r.file) === want) return r.examples;
  }
  throw new DataError(`not a ${task.folder} split file the loader reads`, {
    file: path,
    fix: `name it as in the benchmark's layout (splits: ${task.splits.join(", ")}) ` +
      "or pass its folder",
  });
}
