/**
 * The released GPT-1 weights as a starting point (`<data>/gpt1`, as `deno task gpt1 fetch gpt1`
 * lays them out: `params_shapes.json`, `params_0..9.npy`, the 40,478-token vocabulary): find
 * them, run the zero-shot heuristics on them, fine-tune from them on a small budget. The
 * notebooks (05, 03) call these and print {@link ReleasedWeights.note} as their one-line skip
 * when the weights are absent.
 *
 * On a CPU this is slow: the released model has 117M parameters (12 layers, width 768, 512
 * positions, 40,478 + 3 tokens). {@link RELEASED_CPU_NOTE} says how slow, as measured here.
 *
 * @example
 * ```ts
 * import { findReleasedWeights, releasedZeroShot } from "./released.ts";
 * const rel = await findReleasedWeights("../shared/datasets");
 * if (!rel.present) console.log(rel.note);
 * else console.log(await releasedZeroShot({ dataRoot: "../shared/datasets", tasks: ["sst2"] }));
 * ```
 * @module
 */
import { join } from "node:path";
import { loadAnyCheckpoint } from "./checkpoint.ts";
import { FINETUNE_DEFAULTS } from "./config.ts";
import { Gpt1LabError } from "./errors.ts";
import { defaultMicroTokens, finetune, type FinetuneResult } from "./finetune.ts";
import { fetchCommand, resolveInit } from "./fetch/mod.ts";
import type { Progress } from "./progress.ts";
import { defaultDataRoot, defaultOutDir, type Scale } from "./settings.ts";
import { loadVocab } from "./vocab.ts";
import type { ZeroShotRow, ZeroShotTaskName } from "./runs.ts";
import { zeroShotEvaluate } from "./zeroshot.ts";

/** Where the released weights are, or why they are not there. */
export interface ReleasedWeights {
  /** True when `<data>/gpt1` holds the shapes file and the shards. */
  present: boolean;
  /** The folder looked at (`<data>/gpt1`). */
  dir: string;
  /** The vocabulary folder to use with them (`dir` when the vocabulary files sit beside them). */
  vocab?: string;
  /** One line: where they are, or the skip message with the command that fetches them. */
  note: string;
}

/**
 * Tokens per micro-batch when fine-tuning the released model (width 768):
 * `defaultMicroTokens` of finetune.ts, 1,024. At 2,048 the 117M model's backward pass overflows
 * the wasm heap (measured: "memory access out of bounds" at 8 × 256 tokens; 8 × 128 fits).
 */
export const RELEASED_MICRO_TOKENS: number = defaultMicroTokens({ nEmbd: 768 });

/**
 * How slow the released 117M model is to fine-tune on a CPU, as measured on the project's
 * machine (2 shared cores; random weights of the `gpt1` preset, so no download was needed):
 * wasm backend with OpenBLAS and the native kernels on one thread, the `finetune` path.
 */
export const RELEASED_CPU_NOTE =
  "On a CPU this is slow: one update of the 117M-parameter model takes about 9–12 s at batch " +
  "8 × 128 tokens and 16–21 s for a batch of 8 RTE examples (wasm backend, OpenBLAS and the " +
  "native kernels on one thread, micro-batches of 1,024 tokens), so the paper's 3 epochs on " +
  "RTE (about 210 updates at batch 32) take hours, and the large training sets (SST-2, SNLI) " +
  "days. A GPU helps: WebGPU or tfjs-node-gpu runs the same code.";

/** Looks for the released weights under a data root (default `$GPT1_DATA` / `../shared/datasets`). */
export async function findReleasedWeights(
  dataRoot: string = defaultDataRoot(),
): Promise<ReleasedWeights> {
  const dir = join(dataRoot, "gpt1");
  try {
    const r = await resolveInit("gpt1", dataRoot);
    return {
      present: true,
      dir: r.path,
      vocab: r.vocab,
      note: `released GPT-1 weights: ${r.path}`,
    };
  } catch (e) {
    if (!(e instanceof Gpt1LabError)) throw e;
    return {
      present: false,
      dir,
      note: `skipped: no released GPT-1 weights in ${dir} (${
        fetchCommand(dataRoot === defaultDataRoot() ? undefined : dataRoot).replace(
          " all",
          " gpt1",
        )
      } fetches them, about 480 MB)`,
    };
  }
}

/** How much work the released-weights sections do at each scale. */
export interface ReleasedBudget {
  /** Zero-shot examples per task. */
  zeroShotExamples: number;
  /** Fine-tuning: training examples, evaluation examples, batch size, epochs. */
  finetune: { maxTrain: number; maxEval: number; batchSize: number; epochs: number };
}

/**
 * The budget of the released-weights sections: `smoke` and `small` a few updates (minutes on a
 * CPU, see {@link RELEASED_CPU_NOTE}), `paper` the paper's batch and 3 epochs on 2,000 examples.
 */
export function releasedBudget(scale: Scale): ReleasedBudget {
  if (scale === "paper") {
    return {
      zeroShotExamples: 500,
      finetune: {
        maxTrain: 2000,
        maxEval: 500,
        batchSize: FINETUNE_DEFAULTS.batchSize,
        epochs: FINETUNE_DEFAULTS.epochs,
      },
    };
  }
  return {
    zeroShotExamples: scale === "small" ? 64 : 16,
    finetune: { maxTrain: 16, maxEval: 16, batchSize: 8, epochs: 1 },
  };
}

/** Options of {@link releasedZeroShot}. */
export interface ReleasedZeroShotOptions {
  /** Data root holding `gpt1/` and the benchmark folders (default {@link defaultDataRoot}). */
  dataRoot?: string;
  /** Tasks (default: every task with data). */
  tasks?: ZeroShotTaskName[];
  /** Examples per task (default 16). */
  maxExamples?: number;
  /** Windows per forward pass (default 8). */
  batchSize?: number;
  /** Progress (one unit per task). */
  progress?: Progress;
}

/**
 * The zero-shot heuristics on the released checkpoint (one row per task, step 0), or null when
 * the weights are absent. The model is disposed before returning.
 */
export async function releasedZeroShot(
  opts: ReleasedZeroShotOptions = {},
): Promise<ZeroShotRow[] | null> {
  const dataRoot = opts.dataRoot ?? defaultDataRoot();
  const rel = await findReleasedWeights(dataRoot);
  if (!rel.present) return null;
  const tok = await loadVocab(rel.vocab ?? "gpt1");
  const ck = await loadAnyCheckpoint(rel.dir);
  try {
    const n = opts.maxExamples ?? 16;
    return await zeroShotEvaluate(ck.model, tok, {
      dataRoot,
      tasks: opts.tasks,
      maxExamples: { sst2: n, cola: n, colaTrain: 2 * n, storycloze: n, race: n, wsc: n },
      batchSize: opts.batchSize ?? 8,
      step: 0,
      progress: opts.progress,
    });
  } finally {
    ck.model.dispose();
  }
}

/** Options of {@link releasedFinetune}. */
export interface ReleasedFinetuneOptions {
  /** Task registry name. */
  task: string;
  /** Data root holding `gpt1/` and the benchmark folders (default {@link defaultDataRoot}). */
  dataRoot?: string;
  /** Run folder (default `results/_scratch/reproduce-smoke/released-<task>`). */
  outDir?: string;
  /** Budget (default {@link releasedBudget}`("smoke").finetune`). */
  budget?: Partial<ReleasedBudget["finetune"]>;
  /** Progress (one unit per update). */
  progress?: Progress;
}

/**
 * Fine-tunes from the released weights (`finetune --init gpt1`) on a small budget, with the
 * paper's learning rate and λ; null when the weights are absent.
 */
export async function releasedFinetune(
  opts: ReleasedFinetuneOptions,
): Promise<FinetuneResult | null> {
  const dataRoot = opts.dataRoot ?? defaultDataRoot();
  const rel = await findReleasedWeights(dataRoot);
  if (!rel.present) return null;
  const b = { ...releasedBudget("smoke").finetune, ...opts.budget };
  return await finetune({
    task: opts.task,
    dataRoot,
    init: rel.dir,
    tokenizer: await loadVocab(rel.vocab ?? "gpt1"),
    outDir: opts.outDir ?? join(defaultOutDir("smoke"), `released-${opts.task}`),
    maxTrain: b.maxTrain,
    maxEval: b.maxEval,
    batchSize: b.batchSize,
    epochs: b.epochs, // micro-batches: finetune's default for the model, RELEASED_MICRO_TOKENS
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
}
