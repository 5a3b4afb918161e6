/**
 * What the stages of `stages.ts` share (internal; the public names are re-exported there): the
 * stage context and outcome, context defaults, the final checkpoint of a pre-training stage,
 * stage names per model, the tasks with data, the check that pre-training finished, and the
 * outcomes of a reused or skipped stage.
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "./errors.ts";
import { exists } from "./fsutil.ts";
import { type Progress, silentProgress } from "./progress.ts";
import type { ModelKind } from "./language_model.ts";
import { readStamp } from "./_stamps.ts";
import { checkpointName, pretrainDir, type ResultLayout, type ZeroShotTaskName } from "./runs.ts";
import { ZEROSHOT_FOLDERS } from "./zeroshot.ts";
import { getTask } from "./tasks/mod.ts";
import { defaultCacheDir, type ReproduceSettings } from "./settings.ts";

/** What every stage needs besides its settings. */
export interface StageContext {
  /** The datasets folder (benchmarks, `pretrain_gutenberg/`). */
  dataRoot: string;
  /** Vocabulary and token caches (default `results/_cache`). */
  cacheDir?: string;
  /** A progress display per piece of work (default: none). */
  progress?: (label: string) => Progress;
  /** One line per event (default `console.log`). */
  log?: (line: string) => void;
  /** Recompute even when the stamp says the stage is done. */
  fresh?: boolean;
}

/** The outcome of one stage. */
export interface StageResult {
  /** `pretrain`, `table5`, `layers`, `zeroshot` (`-lstm` for the LSTM's), or `report`. */
  stage: string;
  /** `ran` (computed now), `reused` (finished earlier, same settings), `skipped` (no data). */
  status: "ran" | "reused" | "skipped";
  /** Wall-clock seconds the stage took to compute (a reused stage: when it ran). */
  seconds: number;
  /** One line about what happened. */
  note: string;
}

/** A stage context with its defaults filled in. */
export function ctxDefaults(ctx: StageContext) {
  return {
    cacheDir: ctx.cacheDir ?? defaultCacheDir(),
    progress: ctx.progress ?? (() => silentProgress),
    log: ctx.log ?? ((l: string) => console.log(l)),
    fresh: ctx.fresh ?? false,
  };
}

/** Seconds since `t0` (a `performance.now()`). */
export const elapsed = (t0: number) => (performance.now() - t0) / 1000;

/** The final checkpoint of a pre-training stage (`ckpt-<steps>.safetensors`). */
export function finalCheckpoint(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): string {
  return join(pretrainDir(layout, model), checkpointName(s.pretrain.steps));
}

/** A stage's name for a model (`-lstm` for the LSTM's). */
export const stageName = (stage: string, model: ModelKind) =>
  model === "lstm" ? `${stage}-lstm` : stage;
/** The outcome of a stage of the LSTM when the LSTM is off at this scale. */
export const lstmOff = (stage: string) => skipped(stage, "the LSTM baseline is off at this scale");

/**
 * The start of a stage that works in a pre-training folder of either model: its name
 * (`-lstm` for the LSTM), folder and context defaults; `off` when the LSTM is off at this scale.
 */
export function modelStage(
  stage: string,
  s: Readonly<ReproduceSettings>,
  layout: ResultLayout,
  ctx: StageContext,
  model: ModelKind = "gpt1",
) {
  const name = stageName(stage, model);
  const off = model === "lstm" && !s.lstm.enabled ? lstmOff(name) : null;
  return { c: ctxDefaults(ctx), model, name, dir: pretrainDir(layout, model), off };
}

/** The tasks of `tasks` whose benchmark folder is under `dataRoot`. */
export async function tasksWithData(dataRoot: string, tasks: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of tasks) if (await exists(join(dataRoot, getTask(t).folder))) out.push(t);
  return out;
}

/** The zero-shot tasks of `tasks` (default: all of them) whose data folder is under `dataRoot`. */
export async function zeroShotTasksWithData(
  dataRoot: string,
  tasks: readonly ZeroShotTaskName[] = Object.keys(ZEROSHOT_FOLDERS) as ZeroShotTaskName[],
): Promise<ZeroShotTaskName[]> {
  const out: ZeroShotTaskName[] = [];
  for (const t of tasks) if (await exists(join(dataRoot, ZEROSHOT_FOLDERS[t]))) out.push(t);
  return out;
}

/** The stamp key of the finished pre-training stage of `model`; ConfigError when it has not finished. */
export async function needFinished(
  layout: ResultLayout,
  s: Readonly<ReproduceSettings>,
  model: ModelKind = "gpt1",
): Promise<string> {
  const dir = pretrainDir(layout, model);
  const st = await readStamp(dir);
  if (!st?.finished || !(await exists(finalCheckpoint(layout, s, model)))) {
    throw new ConfigError(`${stageName("pre-training", model)} has not finished`, {
      file: dir,
      fix: `run the pre-training stage first (runPretrainStage${
        model === "lstm" ? ' with model: "lstm"' : ""
      })`,
    });
  }
  return st.key;
}

/** The outcome of a stage finished earlier (from its stamp). */
export async function reused(stage: string, dir: string, file?: string): Promise<StageResult> {
  const st = await readStamp(dir, file);
  return {
    stage,
    status: "reused",
    seconds: st?.seconds ?? 0,
    note: `finished earlier: ${st?.note ?? dir}`,
  };
}

/** The outcome of a stage with nothing to do. */
export function skipped(stage: string, note: string): StageResult {
  return { stage, status: "skipped", seconds: 0, note };
}
