/**
 * GLUE test predictions from a finished fine-tuning run: loads the model `finetune` kept
 * (`<run>/model.safetensors`, written with `saveModel` / `--save-model`), predicts every row
 * of the task's unlabeled test file and writes GLUE's submission file (`SST-2.tsv`, ...;
 * format in glue_submission.ts). What `deno task gpt1 predict` runs.
 *
 * @example
 * ```ts
 * import { predictRun } from "./glue_predict.ts";
 * const path = await predictRun({ run: "results/ft-sst2", dataRoot: "../shared/datasets",
 *   tokenizer, outDir: "results/glue/full" }); // results/glue/full/SST-2.tsv
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { loadAnyCheckpoint } from "./checkpoint.ts";
import { ConfigError, DataError } from "./errors.ts";
import { exists } from "./fsutil.ts";
import { headSize, predictTestSet, resolveTaskDir, type TaskEncoder } from "./finetune.ts";
import { getTask } from "./tasks/mod.ts";

/** The file `finetune` writes its kept model to (with `saveModel`). */
export const FINETUNED_MODEL = "model.safetensors";

/** Where a fine-tuned model and its task are, from a run folder or a checkpoint file. */
export interface FinetunedModelRef {
  /** The fine-tuned checkpoint (with its classifier). */
  model: string;
  /** The task (registry name), from `--task`, the run's config.json or the checkpoint. */
  task: string | null;
  /** The pre-trained checkpoint the run started from (config.json's `init`), if known. */
  init: string | null;
}

/**
 * Finds the fine-tuned model of `run` (a run folder holding `model.safetensors` and
 * `config.json`, or a checkpoint file). Throws a {@link DataError} when the folder has no
 * saved model.
 */
export async function locateFinetuned(run: string): Promise<FinetunedModelRef> {
  const st = await Deno.stat(run).catch(() => null);
  if (!st) throw new DataError("no such run folder or checkpoint", { file: run });
  if (!st.isDirectory) return { model: run, task: null, init: null };
  const model = join(run, FINETUNED_MODEL);
  if (!(await exists(model))) {
    throw new DataError(`the run folder has no ${FINETUNED_MODEL}`, {
      file: run,
      fix: "fine-tune with --save-model (or --predict-test <dir> to predict at the end of it)",
    });
  }
  let task: string | null = null, init: string | null = null;
  const cfgPath = join(run, "config.json");
  if (await exists(cfgPath)) {
    const cfg = JSON.parse(await Deno.readTextFile(cfgPath));
    task = typeof cfg.task === "string" ? cfg.task : null;
    init = typeof cfg.init === "string" ? cfg.init : null;
  }
  return { model, task, init };
}

/**
 * The vocabulary folder of a fine-tuned run: `vocab/` beside the pre-trained checkpoint it
 * started from (as `pretrain` writes it), or null when that is unknown (`init: none`).
 */
export async function vocabOfRun(ref: FinetunedModelRef): Promise<string | null> {
  if (!ref.init || ref.init === "none") return null;
  const dir = join(dirname(ref.init), "vocab");
  return (await exists(dir)) ? dir : null;
}

/** Options of {@link predictRun}. */
export interface PredictRunOptions {
  /** A fine-tuning run folder (with model.safetensors) or a fine-tuned checkpoint. */
  run: string;
  /** The task; needed when `run` is a checkpoint file whose metadata does not name it. */
  task?: string;
  /** The datasets root or the task's folder. */
  dataRoot: string;
  /** The tokenizer the model was trained with. */
  tokenizer: TaskEncoder;
  /** Folder for the submission file. */
  outDir: string;
}

/** Writes GLUE's submission file for a fine-tuned run; returns its path. */
export async function predictRun(opts: PredictRunOptions): Promise<string> {
  const ref = await locateFinetuned(opts.run);
  const ck = await loadAnyCheckpoint(ref.model);
  try {
    const saved = (ck.extra as { task?: string } | undefined)?.task ?? null;
    const name = opts.task ?? ref.task ?? saved;
    if (!name) {
      throw new ConfigError("which task? the checkpoint does not say", {
        file: ref.model,
        fix: "pass --task",
      });
    }
    const task = getTask(name);
    if (saved && saved !== task.name) {
      throw new ConfigError(`the model was fine-tuned on ${saved}, not ${task.name}`, {
        file: ref.model,
      });
    }
    const clf = ck.model.params.get("clf.weight");
    if (!clf || clf.shape[1] !== headSize(task)) {
      throw new ConfigError(
        `not a fine-tuned ${task.title} model (classifier ${clf ? `[${clf.shape}]` : "missing"})`,
        { file: ref.model, fix: "pass the model.safetensors of a finetune run" },
      );
    }
    if (ck.config.vocabSize !== opts.tokenizer.vocabSize) {
      throw new ConfigError(
        `model vocabulary ${ck.config.vocabSize} != tokenizer ${opts.tokenizer.vocabSize}`,
        { file: ref.model, fix: "pass --vocab with the folder the model was trained with" },
      );
    }
    const dir = await resolveTaskDir(opts.dataRoot, task);
    return await predictTestSet(ck.model, task, dir, opts.tokenizer, opts.outDir);
  } finally {
    ck.model.dispose();
  }
}
