/**
 * Internal to the stages (`stages.ts`): the stage stamp, a small JSON file in a stage's folder
 * holding a hash of the stage's settings and of the stage it builds on, whether it finished,
 * and its seconds. {@link claim} decides what a stage does with its folder (done, resume, new;
 * never a folder of results it did not write); {@link finishStamp} records the outcome.
 *
 * @example
 * ```ts
 * import { claim, stageKey } from "./_stamps.ts";
 * const state = await claim("out/table5", "table5", stageKey("table5", { lr: 1 }), {}, false);
 * ```
 * @module
 */
import { join } from "node:path";
import { ConfigError, DataError } from "./errors.ts";
import { writeJsonAtomic } from "./fsutil.ts";
import { sha256Hex } from "./corpus.ts";

/** File name of a stage stamp (the zero-shot stage uses `zeroshot-stage.json`). */
export const STAMP_FILE = "reproduce-stage.json";
/** File name of the zero-shot stage's stamp (it shares the pre-training folder). */
export const ZS_STAMP = "zeroshot-stage.json";

/** A stage stamp: what `reproduce-stage.json` holds. */
export interface Stamp {
  stage: string;
  key: string;
  finished: boolean;
  settings: unknown;
  seconds?: number;
  note?: string;
}

/** A short hash of a stage's settings and of the stamp key of the stage it builds on. */
export function stageKey(stage: string, settings: unknown, upstream = ""): string {
  return sha256Hex(JSON.stringify({ stage, settings, upstream })).slice(0, 16);
}

/** The stamp of `dir` (`file`: another stamp name), or null when there is none. */
export async function readStamp(dir: string, file = STAMP_FILE): Promise<Stamp | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, file))) as Stamp;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DataError(`unreadable stage stamp: ${(e as Error).message}`, {
      file: join(dir, file),
      fix: "delete the folder to recompute the stage",
    });
  }
}

/** True when `dir` is missing or empty. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/**
 * Decides what a stage does with its folder: `done` (finished with these settings), `resume`
 * (started with these settings), `new` (nothing yet; a folder from other settings is deleted).
 * A non-empty folder without a stamp is refused: it holds results reproduce did not write.
 */
export async function claim(
  dir: string,
  stage: string,
  key: string,
  settings: unknown,
  fresh: boolean,
): Promise<"done" | "resume" | "new"> {
  const s = await readStamp(dir);
  if (s && s.key === key && !fresh) return s.finished ? "done" : "resume";
  if (!s && !(await isEmptyDir(dir))) {
    throw new ConfigError("the folder holds results that reproduce did not write", {
      file: dir,
      fix: "choose another output folder (--out), or delete this one",
    });
  }
  if (s) await Deno.remove(dir, { recursive: true });
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, STAMP_FILE), { stage, key, finished: false, settings });
  return "new";
}

/** Adds this call's seconds to the stamp; marks it finished unless `finished` is false. */
export async function finishStamp(
  dir: string,
  extra: { seconds: number; note: string },
  file?: string,
  finished = true,
): Promise<number> {
  const s = await readStamp(dir, file);
  if (!s) return extra.seconds;
  const seconds = (s.seconds ?? 0) + extra.seconds;
  await writeJsonAtomic(join(dir, file ?? STAMP_FILE), {
    ...s,
    finished,
    note: extra.note,
    seconds,
  });
  return seconds;
}
